"""Exporting results: the rows the admin's CSV action and `manage.py export_results` write."""

from __future__ import annotations

import csv
import unicodedata
from collections.abc import Iterable, Iterator
from typing import IO, Any

from django.utils import timezone

from .models import Poll, Vote
from .selectors import poll_results, result_rows, tally_rows

EXPORT_FIELDS = ["poll", "question", "status", "choice", "votes", "percent", "total"]


def export_rows(*, polls: Iterable[Poll]) -> list[dict[str, Any]]:
    """One row per choice of each poll, in EXPORT_FIELDS; the same for admin and command."""
    now = timezone.now()
    rows: list[dict[str, Any]] = []
    for poll in polls:
        total, tallies = tally_rows(poll=poll)
        rows.extend(
            {
                "poll": poll.slug,
                "question": poll.question,
                "status": poll.state_at(now),
                "choice": row.label,
                "votes": row.votes,
                "percent": row.percent,
                "total": total,
            }
            for row in tallies
        )
    return rows


# A spreadsheet runs a cell that starts with one of these as a formula (OWASP's CSV
# injection): an organiser's label "=HYPERLINK(...)" must arrive as text. Spreadsheets
# with East Asian input take their full-width and small forms too (U+FF1D, U+FE66, U+FF0B,
# U+FF0D, U+FF20...): the first character is compared in its compatibility form (NFKC), which folds
# every one of them to the ASCII sign.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def cell(value: Any) -> Any:
    """A value as a CSV cell: text that a spreadsheet would run is quoted with a '."""
    if (
        isinstance(value, str)
        and value
        and (
            value.startswith(_FORMULA_STARTS)
            or unicodedata.normalize("NFKC", value[0]).startswith(_FORMULA_STARTS)
        )
    ):
        return "'" + value
    return value


def write_csv(rows: Iterable[dict[str, Any]], out: IO[str]) -> None:
    writer = csv.DictWriter(out, fieldnames=EXPORT_FIELDS)
    writer.writeheader()
    writer.writerows({key: cell(value) for key, value in row.items()} for row in rows)


def ballot_header(poll: Poll) -> list[str]:
    """The columns of a ballots CSV: a ranked poll's in pref-voting's and pyrcv's rank-column
    form (rank1, rank2, …; "skipped" for a rank left empty), a multiple-choice poll's one
    column per choice (1 when picked)."""
    labels = [c.label for c in poll.choices.all()]
    if poll.kind == Poll.Kind.RANKED:
        return ["ballot", *(f"rank{n}" for n in range(1, len(labels) + 1))]
    if poll.kind == Poll.Kind.MULTIPLE:
        return ["ballot", *labels]
    if poll.kind == Poll.Kind.SCALE:
        return ["ballot", "value"]
    return ["ballot", "choice"]


def ballot_rows(poll: Poll) -> Iterator[list[Any]]:
    """One row per stored ballot (numbered, never the voter), in ballot_header's columns."""
    labels = {c.pk: c.label for c in poll.choices.all()}
    order = list(labels)
    ballots = Vote.objects.filter(poll=poll).order_by("pk").values_list("ballot", flat=True)
    for number, ballot in enumerate(ballots.iterator(chunk_size=2000), start=1):
        if poll.kind == Poll.Kind.RANKED:
            ranked = [labels.get(c, "?") for c in ballot]
            yield [number, *ranked, *["skipped"] * (len(order) - len(ranked))]
        elif poll.kind == Poll.Kind.MULTIPLE:
            picked = set(ballot)
            yield [number, *(int(c in picked) for c in order)]
        elif poll.kind == Poll.Kind.SCALE:
            yield [number, ballot[0]]
        else:
            yield [number, labels.get(ballot[0], "?")]


def write_ballots_csv(poll: Poll, out: IO[str]) -> None:
    writer = csv.writer(out)
    writer.writerow([cell(name) for name in ballot_header(poll)])
    writer.writerows([cell(value) for value in row] for row in ballot_rows(poll))


def results_document(poll: Poll, *, ballots: bool = False) -> dict[str, Any]:
    """The JSON export: the results snapshot (each kind's own results), and the ballots."""
    snapshot = poll_results(poll=poll)
    document = {
        "poll": poll.slug,
        "question": poll.question,
        "kind": poll.kind,
        "status": snapshot["status"],
        "total": snapshot["total"],
        "exported_at": timezone.now().isoformat(),
        "choices": [
            {"choice": row.label, "votes": row.votes, "percent": row.percent}
            for row in result_rows(snapshot)
        ],
    }
    for key in ("rounds", "winner", "scale", "values", "mean", "median", "nps"):
        if key in snapshot:
            document[key] = snapshot[key]
    if ballots:
        header = ballot_header(poll)
        document["ballots"] = [dict(zip(header, row, strict=True)) for row in ballot_rows(poll)]
    return document
