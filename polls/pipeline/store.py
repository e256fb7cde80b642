"""The worker side of a vote: store a batch of queued votes in one transaction.

`record_votes` keeps one vote per (poll, voter), the one cast last (the first, where the
poll does not allow changes), checks every vote against the stored poll as it was when
the vote was cast, keeps the tallies exact in the same transaction, and announces the
changed polls to live viewers once it has committed. Calling it again with the same
votes changes nothing (at-least-once delivery).
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import (
    IntegrityError,
    InterfaceError,
    OperationalError,
    close_old_connections,
    connection,
    transaction,
)
from django.db.models import F, Q
from django.utils import timezone

from polls import chain, kinds, text_entries
from polls.live import publisher
from polls.models import (
    AdmissionChange,
    Choice,
    Poll,
    PollCounter,
    SessionPoll,
    Tally,
    UncountedReceipt,
    Vote,
    VotingWindow,
)
from polls.voters import is_user_key

from .message import QueuedVote

logger = logging.getLogger(__name__)

# How often a batch is tried again when a concurrent first vote of the same voter won.
_INSERT_RACE_ATTEMPTS = 5
# Postgres outages are waited out inside the batch so its messages stay unacknowledged:
# celery-batches acknowledges a batch when its task returns, even after an exception.
_DB_RETRY_FIRST_SECONDS = 0.2
_DB_RETRY_MAX_SECONDS = 5.0

# Why the worker refused a vote; also the keys of RecordOutcome.rejected.
REJECT_LOGIN_REQUIRED = "login required"
REJECT_VOTE_CHANGE = "vote change not allowed"
REJECT_SESSION_CLOSED = "not current or locked in its session when cast"
REJECT_NOT_OPEN = "poll not open when cast"
REJECT_NOT_ADMITTED = "not open under the version it was admitted by"
# A vote Redis admitted (a 202) refused for one of these is a bug: admission decides them.
STATE_REASONS = frozenset({REJECT_NOT_ADMITTED, REJECT_NOT_OPEN, REJECT_SESSION_CLOSED})


@dataclass(frozen=True)
class _Windows:
    """When a poll of a live session took votes: since the session went live, only within
    a voting window (widened by the clock margin the admission allows)."""

    live_since: datetime
    spans: list[tuple[datetime, datetime | None]]

    def admits(self, cast_at: datetime) -> bool:
        if cast_at < self.live_since:
            return True  # cast before the session took the poll over
        margin = timedelta(seconds=settings.VOTE_ADMISSION_CLOCK_MARGIN_SECONDS)
        return any(
            opened - margin <= cast_at and (closed is None or cast_at <= closed + margin)
            for opened, closed in self.spans
        )


def _session_windows(poll_ids: Iterable[int]) -> dict[int, _Windows]:
    """The voting windows of the polls that a live session holds (few, most batches none)."""
    held = dict(
        SessionPoll.objects.filter(poll_id__in=list(poll_ids), session__state="live")
        .exclude(session__live_since=None)
        .values_list("poll_id", "session__live_since")
    )
    if not held:
        return {}
    spans: dict[int, list[tuple[datetime, datetime | None]]] = defaultdict(list)
    for poll_id, opened, closed in VotingWindow.objects.filter(poll_id__in=held).values_list(
        "poll_id", "opened_at", "closed_at"
    ):
        spans[poll_id].append((opened, closed))
    return {
        poll_id: _Windows(since, spans[poll_id])
        for poll_id, since in held.items()
        if since is not None
    }


@dataclass
class RecordOutcome:
    """What one call of record_votes did, for logs, metrics and tests."""

    created: int = 0
    changed: int = 0
    unchanged: int = 0  # a newer vote for the same choice: no tally moved
    ignored: int = 0  # duplicates and votes older than the stored one
    rejected: Counter[str] = field(default_factory=Counter)
    refused: dict[str, str] = field(default_factory=dict)  # vote id -> why it was rejected
    polls_changed: set[int] = field(default_factory=set)
    # Receipts whose ballot is not counted (replaced, refused), written in the transaction.
    uncounted: list[UncountedReceipt] = field(default_factory=list)


def record_votes(votes: Iterable[QueuedVote]) -> RecordOutcome:
    """Store queued votes: first vote inserts, a later vote moves the tally, repeats are no-ops.

    Safe to call with the same votes again (at-least-once delivery), and in any order:
    of two votes by one voter, the one cast last wins. All in one transaction.
    """
    batch = list(votes)
    for attempt in range(1, _INSERT_RACE_ATTEMPTS + 1):
        try:
            with transaction.atomic():
                return _apply_votes(batch)
        except IntegrityError:
            # Another worker stored this voter's first vote meanwhile; now it is a change.
            if attempt == _INSERT_RACE_ATTEMPTS:
                raise
    raise AssertionError("unreachable")


def _one_per_voter(
    votes: Sequence[QueuedVote], polls: dict[int, Poll], outcome: RecordOutcome
) -> list[QueuedVote]:
    """Of a voter's valid votes in this batch the one cast last counts, or the first one
    where the poll does not allow changes; the others are counted as ignored."""
    chosen: dict[tuple[int, str], QueuedVote] = {}
    for vote in votes:
        held = chosen.get(vote.key)
        if held is not None:
            outcome.ignored += 1
            later_wins = polls[vote.poll_id].allow_vote_change
            if (vote.order > held.order) != later_wins:
                _set_aside(vote, held, later_wins, outcome)
                continue
            _set_aside(held, vote, later_wins, outcome)
        chosen[vote.key] = vote
    return list(chosen.values())


def _uncounted(
    vote: QueuedVote, fate: str, reason: str = "", *, receipt: str = "", nonce: str = ""
) -> UncountedReceipt:
    return UncountedReceipt(
        poll_id=vote.poll_id,
        vote_id=vote.vote_id,
        receipt=receipt or vote.receipt,
        nonce=nonce or vote.nonce,
        fate=fate,
        reason=reason,
    )


def _set_aside(
    loser: QueuedVote, winner: QueuedVote, later_wins: bool, outcome: RecordOutcome
) -> None:
    """Records the fate of a voter's ballot that another of the same batch beat: replaced,
    or refused where the poll keeps the first ballot and this one says something else."""
    if not loser.receipt or loser.vote_id == winner.vote_id:  # before receipts; a copy
        return
    if later_wins or loser.ballot == winner.ballot:
        outcome.uncounted.append(_uncounted(loser, UncountedReceipt.Fate.REPLACED))
    else:
        outcome.uncounted.append(
            _uncounted(loser, UncountedReceipt.Fate.REFUSED, REJECT_VOTE_CHANGE)
        )


def _refused_receipts(votes: Sequence[QueuedVote], outcome: RecordOutcome) -> None:
    """Records the receipts of the votes the worker refused, with why (a vote of a poll
    deleted meanwhile has nowhere to be recorded)."""
    for vote in votes:
        reason = outcome.refused.get(str(vote.vote_id))
        if reason is not None and vote.receipt and reason != "unknown poll":
            outcome.uncounted.append(_uncounted(vote, UncountedReceipt.Fate.REFUSED, reason))


@dataclass
class _Deltas:
    """What a batch changes in the aggregates, applied in one order by every writer."""

    tallies: Counter[int] = field(default_factory=Counter)  # choice id
    rankings: Counter[tuple[int, tuple[int, ...]]] = field(default_factory=Counter)
    values: Counter[tuple[int, int]] = field(default_factory=Counter)  # (poll id, value)
    totals: Counter[int] = field(default_factory=Counter)  # poll id
    # Text ballots to store in place of their voters' entries (polls.text_entries).
    entries: list[text_entries.Ballot] = field(default_factory=list)

    def add(self, poll: Poll, ballot: tuple[int, ...], sign: int) -> None:
        where = kinds.counted(poll.kind, ballot)
        for choice_id in where.tallies:
            self.tallies[choice_id] += sign
        if where.ranking is not None:
            self.rankings[(poll.pk, where.ranking)] += sign
        if where.value is not None:
            self.values[(poll.pk, where.value)] += sign


def _stored_ballot(
    row: Vote, texts: dict[tuple[int, str], tuple[Any, ...]] | None = None
) -> tuple[Any, ...]:
    if texts and (row.poll_id, row.voter_key) in texts:  # a text ballot: its entries
        return texts[(row.poll_id, row.voter_key)]
    return tuple(row.ballot) if row.ballot else (row.choice_id,) if row.choice_id else ()


def _text_ballot(vote: QueuedVote) -> text_entries.Ballot:
    return text_entries.Ballot(
        vote.poll_id, vote.voter_key, vote.vote_id, vote.cast_at, vote.ballot
    )


def _replace_row(
    row: Vote, vote: QueuedVote, ballot: Any, now: datetime, outcome: RecordOutcome
) -> None:
    """The voter's row takes their newer ballot; the receipt it held is now a replaced one."""
    if row.receipt and row.vote_id != vote.vote_id:
        outcome.uncounted.append(
            _uncounted(
                dataclasses.replace(vote, vote_id=row.vote_id),
                UncountedReceipt.Fate.REPLACED,
                receipt=row.receipt,
                nonce=row.nonce,
            )
        )
    row.choice_id, row.ballot = vote.choice_id, ballot
    row.cast_at, row.vote_id, row.stored_at = vote.cast_at, vote.vote_id, now
    row.receipt, row.nonce = vote.receipt, vote.nonce
    row.admitted_ms = vote.admitted_ms  # a quiz answer's time: the ballot's own


def _apply_votes(votes: Sequence[QueuedVote]) -> RecordOutcome:
    outcome = RecordOutcome()
    polls = Poll.objects.in_bulk({v.poll_id for v in votes})
    # Each vote is checked on its own first, so a rejected vote never hides a valid one.
    valid = _one_per_voter(_checked_votes(votes, polls, outcome), polls, outcome)
    if not valid:
        _write_aggregates(_Deltas(), set(), _fates(votes, outcome, polls, []), polls)
        return outcome

    voters_by_poll: dict[int, list[str]] = defaultdict(list)
    for vote in valid:
        voters_by_poll[vote.poll_id].append(vote.voter_key)
    which = Q()
    for poll_id, voter_keys in voters_by_poll.items():
        which |= Q(poll_id=poll_id, voter_key__in=voter_keys)
    # Locking in one order keeps concurrent batches from deadlocking.
    stored = {
        (row.poll_id, row.voter_key): row
        for row in Vote.objects.select_for_update().filter(which).order_by("poll_id", "voter_key")
    }

    # A text kind's stored ballot is its voter's entries (their rows follow the Vote rows).
    texts = text_entries.stored_ballots(
        key for key in stored if kinds.kind_for(polls[key[0]]).stores_entries
    )
    valid = _without_refused_changes(valid, stored, polls, outcome, texts)
    deltas = _Deltas()
    to_create: list[tuple[Any, ...]] = []  # _VOTE_COLUMNS' values
    to_update: list[Vote] = []
    now = timezone.now()
    for vote in sorted(valid, key=lambda v: v.key):
        poll = polls[vote.poll_id]
        kind = kinds.kind_for(poll)
        row = stored.get(vote.key)
        if row is None:
            to_create.append(
                (vote.poll_id, vote.voter_key, vote.choice_id, kind.row_ballot(vote.ballot),
                 vote.cast_at, str(vote.vote_id), now, vote.receipt, vote.nonce,
                 vote.admitted_ms)
            )  # fmt: skip
            deltas.add(poll, vote.ballot, +1)
            deltas.totals[vote.poll_id] += 1
            if kind.stores_entries:
                deltas.entries.append(_text_ballot(vote))
            outcome.created += 1
            outcome.polls_changed.add(vote.poll_id)
        elif vote.order > (row.cast_at, str(row.vote_id)):
            before = _stored_ballot(row, texts)
            if before != vote.ballot:
                deltas.add(poll, before, -1)
                deltas.add(poll, vote.ballot, +1)
                if kind.stores_entries:
                    deltas.entries.append(_text_ballot(vote))
                outcome.changed += 1
                outcome.polls_changed.add(vote.poll_id)
            else:
                outcome.unchanged += 1
            _replace_row(row, vote, kind.row_ballot(vote.ballot), now, outcome)
            to_update.append(row)
        else:
            outcome.ignored += 1
            if vote.receipt and vote.vote_id != row.vote_id:  # older, arriving after newer
                outcome.uncounted.append(_uncounted(vote, UncountedReceipt.Fate.REPLACED))

    # As plain rows (Vote.objects.insert_rows). No ON CONFLICT: a voter's first row stored
    # meanwhile by another worker raises IntegrityError, so that record_votes tries the
    # batch again and this ballot becomes a change.
    Vote.objects.insert_rows(_VOTE_COLUMNS, to_create)
    Vote.objects.bulk_update(
        to_update,
        ["choice", "ballot", "cast_at", "vote_id", "stored_at", "receipt", "nonce", "admitted_ms"],
    )
    counted = {row[5] for row in to_create} | {str(row.vote_id) for row in to_update}
    stored_now = [
        vote for vote in sorted(valid, key=lambda v: v.key) if str(vote.vote_id) in counted
    ]
    _write_aggregates(
        deltas, outcome.polls_changed, _fates(votes, outcome, polls, stored_now), polls
    )
    return outcome


# Vote's columns as a new row takes them, with their types.
_VOTE_COLUMNS = (
    ("poll_id", "bigint"), ("voter_key", "text"), ("choice_id", "bigint"), ("ballot", "bigint[]"),
    ("cast_at", "timestamptz"), ("vote_id", "uuid"), ("stored_at", "timestamptz"),
    ("receipt", "text"), ("nonce", "text"), ("admitted_ms", "bigint"),
)  # fmt: skip


def _fates(
    votes: Sequence[QueuedVote],
    outcome: RecordOutcome,
    polls: dict[int, Poll],
    counted: Sequence[QueuedVote],
) -> dict[int, list[dict[str, Any]]]:
    """Write the uncounted receipts' fates; the batch's chain events by poll (polls.chain):
    the fates newly on record (replaced, refused), then the ballots now counted. A
    redelivered batch has none: its fates are on record already and its ballots are not
    newer than the stored ones."""
    _refused_receipts(votes, outcome)
    events = chain.uncounted_events([r for r in outcome.uncounted if r.poll_id in polls])
    _write_uncounted(outcome)  # after: the events are those not on record before
    for vote in counted:
        poll = polls[vote.poll_id]
        events.setdefault(poll.pk, []).append(
            chain.counted_event(
                vote.vote_id,
                vote.receipt,
                vote.ballot,
                vote.nonce,
                poll=poll,
                stores_entries=kinds.kind_for(poll).stores_entries,
            )
        )
    return events


def _write_uncounted(outcome: RecordOutcome) -> None:
    """The uncounted receipts' fates, once per vote id (a redelivered batch adds none)."""
    if outcome.uncounted:
        UncountedReceipt.objects.bulk_create(
            sorted(outcome.uncounted, key=lambda r: str(r.vote_id)), ignore_conflicts=True
        )


def _write_aggregates(
    deltas: _Deltas,
    polls_changed: set[int],
    events: dict[int, list[dict[str, Any]]],
    polls: dict[int, Poll],
) -> None:
    """Apply the deltas, locking in one order (tallies by choice, rankings, values, text
    entries and their counts, the counters by poll, then the chain heads: every writer
    does), append the batch's events to the polls' chains, and announce after commit."""
    for choice_id in sorted(deltas.tallies):
        if deltas.tallies[choice_id]:
            Tally.objects.filter(choice_id=choice_id).update(
                votes=F("votes") + deltas.tallies[choice_id]
            )
    _upsert_counts(
        "polls_rankingcount",
        "ranking",
        sorted(
            (poll_id, list(ranking), n) for (poll_id, ranking), n in deltas.rankings.items() if n
        ),
    )
    _upsert_counts(
        "polls_valuecount",
        "value",
        sorted((poll_id, value, n) for (poll_id, value), n in deltas.values.items() if n),
    )
    # Text ballots: the voters' entries replaced, their counts moved (before the counters).
    text_entries.replace(deltas.entries, polls)
    for poll_id in sorted(polls_changed):
        PollCounter.objects.filter(poll_id=poll_id).update(
            total=F("total") + deltas.totals[poll_id], seq=F("seq") + 1
        )
    # Last, every poll's head locked in order. A batch that changes no count (a refusal,
    # the same ballot again) moves the seal but not seq: viewers see it with the next change.
    chain.append(events)
    if polls_changed:
        publisher.announce_after_commit(polls_changed)


def _upsert_counts(table: str, key: str, rows: list[tuple[int, Any, int]]) -> None:
    """Add each (poll id, key, delta) to its count row, creating missing rows at 0 first.

    Three statements per batch whatever its size: create what is missing (no lock taken on
    rows that exist), lock every row in key order (as every writer does, so no deadlock),
    then add the deltas. One INSERT ... ON CONFLICT would not do: Postgres checks the row
    it would insert (a negative delta) against votes >= 0 before it sees the conflict.
    """
    if not rows:
        return
    values = ", ".join([f"(%s::bigint, %s::{_KEY_TYPE[key]}, %s::integer)"] * len(rows))
    params = [item for row in rows for item in row]
    rows_sql = f"(VALUES {values}) AS d(poll_id, key, delta)"
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (poll_id, {key}, votes) SELECT poll_id, key, 0 FROM {rows_sql} "  # noqa: S608 (our names)
            f"WHERE delta > 0 ORDER BY poll_id, key ON CONFLICT (poll_id, {key}) DO NOTHING",
            params,
        )
        cursor.execute(
            f"SELECT 1 FROM {table} t JOIN {rows_sql} ON t.poll_id = d.poll_id AND t.{key} = d.key "  # noqa: S608
            f"ORDER BY t.poll_id, t.{key} FOR UPDATE OF t",
            params,
        )
        cursor.execute(
            f"UPDATE {table} t SET votes = t.votes + d.delta FROM {rows_sql} "  # noqa: S608
            f"WHERE t.poll_id = d.poll_id AND t.{key} = d.key",
            params,
        )


_KEY_TYPE = {"ranking": "bigint[]", "value": "smallint"}


def _without_refused_changes(
    votes: list[QueuedVote],
    stored: dict[tuple[int, str], Vote],
    polls: dict[int, Poll],
    outcome: RecordOutcome,
    texts: dict[tuple[int, str], tuple[Any, ...]] | None = None,
) -> list[QueuedVote]:
    """Drops votes that would change a stored vote in a poll that does not allow changes."""
    kept: list[QueuedVote] = []
    for vote in votes:
        row = stored.get(vote.key)
        changes = row is not None and _stored_ballot(row, texts) != vote.ballot
        if changes and not polls[vote.poll_id].allow_vote_change:
            outcome.rejected[REJECT_VOTE_CHANGE] += 1
            outcome.refused[str(vote.vote_id)] = REJECT_VOTE_CHANGE
            logger.warning("vote %s rejected: %s", vote.vote_id, REJECT_VOTE_CHANGE)
            continue
        kept.append(vote)
    return kept


def _state_problem(
    vote: QueuedVote,
    poll: Poll,
    versions: dict[int, AdmissionChange],
    windows: dict[int, _Windows],
) -> str | None:
    """Why the poll did not take this vote when it came in, or None."""
    if vote.admitted_at is not None and vote.poll_version is not None:
        # Version 2: the state it was admitted under must have admitted it then.
        change = versions.get(vote.poll_version)
        if change is None or change.poll_id != poll.pk or not change.admits_at(vote.admitted_at):
            return REJECT_NOT_ADMITTED
        return None
    # Version 1 (a web pod of the release before): the web host's clock.
    if not poll.is_open_at(vote.cast_at):
        return REJECT_NOT_OPEN
    if poll.pk in windows and not windows[poll.pk].admits(vote.cast_at):
        return REJECT_SESSION_CLOSED
    return None


def _checked_votes(
    votes: Sequence[QueuedVote], polls: dict[int, Poll], outcome: RecordOutcome
) -> list[QueuedVote]:
    """The votes the polls' rules let through, their ballots as stored; the others are
    counted in outcome.rejected."""
    choices: dict[int, list[int]] = defaultdict(list)
    for choice_id, poll_id in (
        Choice.objects.filter(poll_id__in=polls.keys()).order_by("id").values_list("id", "poll_id")
    ):
        choices[poll_id].append(choice_id)
    # Voting windows judge only version-1 votes (a web pod of the release before): a batch
    # of version-2 votes does not read them.
    windows = _session_windows({v.poll_id for v in votes if v.poll_version is None})
    versions = AdmissionChange.objects.in_bulk(
        {v.poll_version for v in votes if v.poll_version is not None}
    )
    valid: list[QueuedVote] = []
    for vote in votes:
        poll = polls.get(vote.poll_id)
        reason = None
        if poll is None:
            reason = "unknown poll"
        else:
            try:
                kind = kinds.kind_for(poll)
                ballot = kind.normalise(poll, choices[poll.pk], kind.from_message(vote.ballot))
            except kinds.BallotProblem as problem:
                reason = "unknown choice" if problem.unknown_choice else "ballot against the rules"
            else:
                reason = _state_problem(vote, poll, versions, windows)
                if reason is None and poll.login_required and not is_user_key(vote.voter_key):
                    reason = REJECT_LOGIN_REQUIRED
                if reason is None:
                    valid.append(
                        dataclasses.replace(vote, choice_id=kind.choice_of(ballot), ballot=ballot)
                    )
                    continue
        outcome.rejected[reason] += 1
        outcome.refused[str(vote.vote_id)] = reason
        if reason in STATE_REASONS:
            logger.error("vote %s admitted, then refused: %s (a bug)", vote.vote_id, reason)
        else:
            logger.warning("vote %s rejected: %s", vote.vote_id, reason)
    return valid


def store_with_retry(votes: Sequence[QueuedVote]) -> RecordOutcome:
    """record_votes, waiting out a database outage (backoff) instead of failing the batch."""
    delay = _DB_RETRY_FIRST_SECONDS
    while True:
        try:
            outcome = record_votes(votes)
        except (OperationalError, InterfaceError) as exc:
            logger.warning(
                "database unavailable (%s); retrying %d votes in %.1fs", exc, len(votes), delay
            )
            connection.close()
            time.sleep(delay)
            delay = min(delay * 2, _DB_RETRY_MAX_SECONDS)
            close_old_connections()
            continue
        logger.info(
            "stored %d votes: %d new, %d changed, %d unchanged, %d ignored, rejected %s",
            len(votes),
            outcome.created,
            outcome.changed,
            outcome.unchanged,
            outcome.ignored,
            dict(outcome.rejected) or "none",
        )
        return outcome
