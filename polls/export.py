"""Exporting results: the rows the admin's CSV action and `manage.py export_results` write."""

from __future__ import annotations

import csv
import unicodedata
from collections.abc import Iterable, Iterator
from typing import IO, Any

from django.utils import timezone

from .kinds import kind_for
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
    """The columns of a ballots CSV, as the poll's kind writes them (a ranked poll's in
    pref-voting's and pyrcv's rank-column form, a multiple-choice poll's one column per
    choice)."""
    return kind_for(poll).export_header([c.label for c in poll.choices.all()])


def ballot_rows(poll: Poll) -> Iterator[list[Any]]:
    """One row per stored ballot (numbered, never the voter), in ballot_header's columns."""
    kind = kind_for(poll)
    labels = {c.pk: c.label for c in poll.choices.all()}
    ballots = Vote.objects.filter(poll=poll).order_by("pk").values_list("ballot", flat=True)
    for number, ballot in enumerate(ballots.iterator(chunk_size=2000), start=1):
        yield [number, *kind.export_row(ballot, labels)]


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
    for key in kind_for(poll).result_keys:
        if key in snapshot:
            document[key] = snapshot[key]
    if ballots:
        header = ballot_header(poll)
        document["ballots"] = [dict(zip(header, row, strict=True)) for row in ballot_rows(poll)]
    return document


def rctab_document(poll: Poll) -> dict[str, Any] | None:
    """The poll's rounds as RCTab's summary JSON (polls.counting.rctab: what rcvis reads),
    or None for a kind without rounds."""
    kind = kind_for(poll)
    return kind.rctab_summary(poll, poll_results(poll=poll)) if kind.has_rctab else None
