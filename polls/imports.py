"""Ballots imported from an election office's cast-vote records into a ranked poll.

The file is read by polls.counting.records (its format and the import rules: docs/
organisers.md, Importing cast-vote records); the candidates are matched to the poll's
choices by label (or made, with create_choices); the ballots' aggregates are written
directly, in one transaction, as the worker writes a voter's (a Tally per first choice, a
RankingCount per ranking, the counter's total and seq): the pipeline, at some 400 ballots
a second, is for voters. Imported ballots are the organiser's, not voters': no Vote rows,
no receipts. The import is on record as one BallotImport with the file's SHA-256, which
also keeps the imported rankings, so a recount (organising.recount_poll) counts them
beside the voters' ballots and `recount --check` agrees.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction
from django.db.models import F, Max

from polls import chain, kinds, organising
from polls.counting import chain as chain_events
from polls.counting.records import (
    ImportRules,
    RecordFormat,
    UnreadableRecords,
    read_records,
)
from polls.live import publisher
from polls.models import BallotImport, Choice, Poll, PollCounter, Tally

logger = logging.getLogger(__name__)

MAX_LABEL = 100  # Choice.label's max_length

__all__ = ["ImportProblems", "ImportReport", "UnreadableRecords", "import_ballots"]


class ImportProblems(ValueError):
    """Records that cannot be imported as they are; `problems` lists each (by line where
    a line says it). Nothing was written."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class ImportReport:
    poll: Poll
    record: BallotImport
    rows: int  # ballot rows read
    ballots: int  # their weights' sum
    counted: int  # ballots that rank a candidate: in the rounds
    inactive: dict[str, int]  # the others, by reason
    created_choices: list[str] = field(default_factory=list)


def import_ballots(
    poll: Poll,
    data: bytes,
    *,
    file_name: str = "",
    form: RecordFormat | None = None,
    rules: ImportRules | None = None,
    create_choices: bool = False,
    count_rules: dict[str, Any] | None = None,
    by: Any = None,
) -> ImportReport:
    """Import the cast-vote records `data` (a CSV's bytes) into `poll`, a ranked poll with
    no ballots yet: all of them, or nothing (ImportProblems lists why; UnreadableRecords
    for a file that is not CSV at all). `count_rules` changes the poll's count rules in
    the same transaction (organising.change_rules)."""
    form = form or RecordFormat()
    rules = rules or ImportRules()
    kind = kinds.kind_for(poll)
    if not kind.imports_records:
        what = poll.get_kind_display().lower()
        raise ImportProblems(
            [f"'{poll.slug}' is a {what} poll: only ranked polls take cast-vote records."]
        )
    records = read_records(io.BytesIO(data), form, rules)
    problems = [f"line {problem.line}: {problem.message}" for problem in records.problems]
    if records.problem_count > len(records.problems):
        problems.append(f"... and {records.problem_count - len(records.problems)} more")
    if not problems and not records.rows:
        problems.append("the file has a header but no ballots")
    if problems:
        raise ImportProblems(problems)
    with transaction.atomic():
        locked = organising.lock_poll_rows(poll.pk)
        held = BallotImport.objects.filter(poll_id=poll.pk, withdrawn_at=None).count()
        if locked.ballots or locked.counter.total or held:
            why = (
                f"'{poll.slug}' has ballots already ({locked.counter.total}): import into a "
                "ranked poll with none (or reset its votes first)."
            )
            raise ImportProblems([why])
        ids, created = _choices(poll, records.candidates, create_choices)
        if count_rules:
            organising.change_rules(poll, count_rules, by=by)
        profile: Counter[tuple[int, ...]] = Counter()
        ended = []
        for ranking, ballots, reason in records.profile:
            chosen = tuple(ids[number] for number in ranking)
            profile[chosen] += ballots
            if reason:
                ended.append([list(chosen), reason, ballots])
        counted = sum(profile.values())
        _write_aggregates(poll, kind, profile, counted)
        record = BallotImport.objects.create(
            poll_id=poll.pk,
            imported_by=by,
            file_name=file_name[:255],
            sha256=hashlib.sha256(data).hexdigest(),
            rows=records.rows,
            ballots=records.ballots,
            counted=counted,
            inactive=records.inactive,
            profile=[[list(ranking), ballots] for ranking, ballots in sorted(profile.items())],
            ended=ended,
            rules={
                "format": dataclasses.asdict(form),
                "import": {"overvote": rules.overvote, "skipped_allowed": rules.skipped_allowed},
            },
        )
        chain.record_organiser_event(poll, chain_events.IMPORTED, _chain_payload(record))
    logger.warning(
        "poll %s (%s): %d ballots imported by %s from %s (sha256 %s, %d rows)",
        poll.pk,
        poll.slug,
        counted,
        by or "a command",
        file_name or "records",
        record.sha256,
        records.rows,
    )
    return ImportReport(
        poll, record, records.rows, records.ballots, counted, records.inactive, created
    )


def _chain_payload(record: BallotImport) -> dict[str, Any]:
    """An import as the poll's chain records it: its file's hash, and hashes of the
    rankings it counts and of those that ended early (the audit export holds both)."""
    return {
        "import": record.pk,
        "sha256": record.sha256,
        "ballots": record.counted,
        "profile": chain_events.digest(record.profile),
        "ended": chain_events.digest(record.ended),
        "inactive": record.inactive,
    }


def _choices(poll: Poll, candidates: list[str], create: bool) -> tuple[dict[int, int], list[str]]:
    """Each candidate's number in the records (from 1) -> the poll's choice id, by label;
    the missing ones made (after the poll's own, in the records' order) when `create`."""
    labels = dict(Choice.objects.filter(poll_id=poll.pk).values_list("label", "id"))
    missing = [name for name in candidates if name not in labels]
    if missing and not create:
        raise ImportProblems(
            [
                f"candidate {name!r} is not a choice of '{poll.slug}': add it, or import "
                "with --create-choices"
                for name in missing
            ]
        )
    last = Choice.objects.filter(poll_id=poll.pk).aggregate(last=Max("position"))["last"]
    start = -1 if last is None else last
    for offset, name in enumerate(missing, start=1):
        if len(name) > MAX_LABEL:
            raise ImportProblems([f"candidate {name[:40]!r}...: a name too long for a choice"])
        labels[name] = Choice.objects.create(
            poll_id=poll.pk, label=name, position=start + offset
        ).pk
    return {number: labels[name] for number, name in enumerate(candidates, start=1)}, missing


def _write_aggregates(
    poll: Poll, kind: kinds.Kind, profile: Counter[tuple[int, ...]], counted: int
) -> None:
    """The imported ballots' aggregates, as the worker's (its lock order: tallies by
    choice, rankings, then the counter), announced once committed."""
    tallies: Counter[int] = Counter()
    rankings: Counter[tuple[int, ...]] = Counter()
    for ranking, ballots in profile.items():
        where = kind.counted(ranking)
        for choice_id in where.tallies:
            tallies[choice_id] += ballots
        if where.ranking is not None:
            rankings[where.ranking] += ballots
    for choice_id in sorted(tallies):
        Tally.objects.filter(choice_id=choice_id).update(votes=F("votes") + tallies[choice_id])
    rows = sorted((list(ranking), ballots) for ranking, ballots in rankings.items())
    with connection.cursor() as cursor:
        for start in range(0, len(rows), 1000):
            chunk = rows[start : start + 1000]
            values = ", ".join(["(%s, %s::bigint[], %s)"] * len(chunk))
            cursor.execute(
                "INSERT INTO polls_rankingcount (poll_id, ranking, votes) "  # noqa: S608 (ours)
                f"VALUES {values} ON CONFLICT (poll_id, ranking) "
                "DO UPDATE SET votes = polls_rankingcount.votes + EXCLUDED.votes",
                [item for ranking, ballots in chunk for item in (poll.pk, ranking, ballots)],
            )
    PollCounter.objects.filter(poll_id=poll.pk).update(total=F("total") + counted, seq=F("seq") + 1)
    publisher.announce_after_commit([poll.pk])
