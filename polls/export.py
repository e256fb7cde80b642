"""Exporting results: the rows the admin's CSV action and `manage.py export_results` write;
a text poll's entries and counts (a word cloud's, open answers': polls.text_entries)."""

from __future__ import annotations

import csv
import unicodedata
from collections.abc import Iterable, Iterator
from typing import IO, Any

from django.utils import timezone

from . import counting, text_entries
from .kinds import kind_for
from .models import Poll, Vote
from .selectors import poll_results, result_rows, tally_rows

EXPORT_FIELDS = ["poll", "question", "status", "choice", "votes", "percent", "total"]


def export_rows(*, polls: Iterable[Poll]) -> list[dict[str, Any]]:
    """One row per choice of each poll, in EXPORT_FIELDS; the same for admin and command."""
    now = timezone.now()
    rows: list[dict[str, Any]] = []
    for poll in polls:
        if kind_for(poll).stores_entries:  # a text poll: its terms, as its choices
            rows.extend(_term_rows(poll, now))
            continue
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


def _term_rows(poll: Poll, now: Any) -> list[dict[str, Any]]:
    """A text poll's rows: one per counted term, its share of the counted entries."""
    counted = text_entries.totals(poll.pk).entries
    terms = text_entries.export_terms(poll.pk)
    shares = counting.shares([term["count"] for term in terms], counted)
    return [
        {"poll": poll.slug, "question": poll.question, "status": poll.state_at(now),
         "choice": term["text"], "votes": term["count"], "percent": share, "total": counted}
        for term, share in zip(terms, shares, strict=True)
    ]  # fmt: skip


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
    if kind.stores_entries:  # a text ballot is its shown entries (numbered voters, never who)
        texts = text_entries.ballot_texts(poll.pk)
        voters = Vote.objects.filter(poll=poll).order_by("pk").values_list("voter_key", flat=True)
        for number, voter_key in enumerate(voters.iterator(chunk_size=2000), start=1):
            yield [number, *kind.export_row(texts.get(voter_key, []), labels)]
        return
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
    if kind_for(poll).stores_entries:
        document["text"] = text_document(poll, entries=ballots)
    if ballots:
        header = ballot_header(poll)
        document["ballots"] = [dict(zip(header, row, strict=True)) for row in ballot_rows(poll)]
    return document


def rctab_document(poll: Poll) -> dict[str, Any] | None:
    """The poll's rounds as RCTab's summary JSON (polls.counting.rctab: what rcvis reads),
    or None for a kind without rounds."""
    kind = kind_for(poll)
    return kind.rctab_summary(poll, poll_results(poll=poll)) if kind.has_rctab else None


ENTRY_FIELDS = ["entry", "text", "key", "state", "cast_at"]
TERM_FIELDS = ["text", "key", "count"]


def text_document(poll: Poll, *, entries: bool = False) -> dict[str, Any]:
    """A text poll's counts (every counted term, most given first) and totals, and with
    `entries` every entry (its text, key, state and time; never who gave it)."""
    totals = text_entries.totals(poll.pk)
    document: dict[str, Any] = {
        "entries_counted": totals.entries,
        "distinct": totals.distinct,
        "pending": totals.pending,
        "hidden": totals.hidden,
        "terms": text_entries.export_terms(poll.pk),
    }
    if entries:
        document["entries"] = list(text_entries.export_entries(poll.pk))
    return document


def write_entries_csv(poll: Poll, out: IO[str]) -> None:
    """Every entry of a text poll, oldest first, one row each (ENTRY_FIELDS)."""
    _write_dicts(ENTRY_FIELDS, text_entries.export_entries(poll.pk), out)


def write_terms_csv(poll: Poll, out: IO[str]) -> None:
    """Every counted term of a text poll, most given first, one row each (TERM_FIELDS)."""
    _write_dicts(TERM_FIELDS, text_entries.export_terms(poll.pk), out)


def _write_dicts(fields: list[str], rows: Iterable[dict[str, Any]], out: IO[str]) -> None:
    writer = csv.DictWriter(out, fieldnames=fields)
    writer.writeheader()
    writer.writerows({key: cell(value) for key, value in row.items()} for row in rows)
