"""What is open: one admission version per change, Postgres deciding, Redis's copy following
in the order that makes a false 202 impossible.

Every change of whether a poll admits votes (open, close, a schedule, a live session's
go-live, move, lock, unlock, end) calls `changed` inside its transaction with the polls'
rows locked. It records the new state as an AdmissionChange (its id is the new version,
from a Postgres sequence, never reused) and writes Redis's copy (polls.gates):
- a refusing state at once, before the commit: if the change then rolls back, a refusing
  copy is left behind (a false 409 until the reconciler mends it, never a false 202);
- an admitting state only after the commit (transaction.on_commit): a vote Redis admits
  was admitted under a committed, admitting version, which the worker counts.
Writes are compare-and-set on the version, so a late write of a superseded change does
nothing. `reconcile` (every worker, every ADMISSION_RECONCILE_SECONDS) rewrites a copy
that is missing or behind from Postgres, and replaces one ahead of Postgres (a change
that rolled back) with the committed state under a new version.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta

import redis
from django.db import transaction
from django.utils import timezone

from polls import gates
from polls.kinds.base import quiz_settings
from polls.models import AdmissionChange, LiveSession, Poll, SessionPoll

logger = logging.getLogger(__name__)

_STATE: dict[str, str] = {
    AdmissionChange.State.OPEN: gates.OPEN,
    AdmissionChange.State.LIVE: gates.SESSION_OPEN,
    AdmissionChange.State.CLOSED: gates.CLOSED,
    AdmissionChange.State.LOCKED: gates.LOCKED,
    AdmissionChange.State.WAITING: gates.WAITING,
}

Wanted = tuple[str, datetime | None, datetime | None]


def wanted(polls: Sequence[Poll], *, now: datetime | None = None) -> dict[int, Wanted]:
    """What Postgres says of each poll now: (state, opens_at, closes_at)."""
    now = now or timezone.now()
    held = {
        entry.poll_id: entry.session
        for entry in SessionPoll.objects.filter(
            poll__in=[p.pk for p in polls], session__state=LiveSession.State.LIVE
        ).select_related("session")
    }
    quizzes = [p.pk for p in polls if p.pk in held and quiz_settings(p) is not None]
    played = latest(quizzes)
    states: dict[int, Wanted] = {}
    for poll in polls:
        session = held.get(poll.pk)
        if poll.status != Poll.Status.OPEN or (poll.closes_at and poll.closes_at <= now):
            states[poll.pk] = (AdmissionChange.State.CLOSED, None, None)
        elif session is not None and session.current_poll_id != poll.pk:
            states[poll.pk] = (AdmissionChange.State.WAITING, None, None)
        elif session is not None and session.locked:
            states[poll.pk] = (AdmissionChange.State.LOCKED, None, None)
        elif poll.pk in quizzes:
            # A quiz question admits only while the countdown its presenter started runs
            # (start_countdown); before it and after it, locked.
            row = played.get(poll.pk)
            running = (
                row is not None
                and row.limit_ms is not None
                and (row.closes_at is None or now < row.closes_at)
            )
            states[poll.pk] = (
                (AdmissionChange.State.LIVE, row.opens_at, row.closes_at)
                if running and row is not None
                else (AdmissionChange.State.LOCKED, None, None)
            )
        else:
            state = AdmissionChange.State.OPEN if session is None else AdmissionChange.State.LIVE
            states[poll.pk] = (state, poll.opens_at, poll.closes_at)
    return states


def changed(polls: Iterable[Poll], *, new: bool = False, force: bool = False) -> float | None:
    """Record the polls' states as Postgres now says them and write Redis's copy: refusing
    states now, admitting ones after the commit. Call inside the transaction that changed
    them, their rows locked. A poll whose state did not change gets no new version unless
    `force`. `new`: the polls were created in this transaction, so no other process can
    read them before it commits: every state is written now.

    Returns Redis's time of the refusing writes (None when there were none). Raises
    redis.RedisError when Redis does not take them: the change must then roll back.
    """
    polls = list(polls)
    states = wanted(polls)
    last = latest([p.pk for p in polls])
    rows = []
    for poll in polls:
        state = states[poll.pk]
        held = last.get(poll.pk)
        if not force and held is not None and (held.state, held.opens_at, held.closes_at) == state:
            continue
        rows.append(
            AdmissionChange(poll_id=poll.pk, state=state[0], opens_at=state[1], closes_at=state[2])
        )
    AdmissionChange.objects.bulk_create(rows)  # Postgres gives each its id: the version
    copies = {row.poll_id: gate_of(row) for row in rows}
    now = {pk: g for pk, g in copies.items() if g.refusing or new}
    later = {pk: g for pk, g in copies.items() if pk not in now}
    if later:
        transaction.on_commit(lambda: _write_committed(later))
    return gates.write(now) if now else None


def gate_of(row: AdmissionChange) -> gates.Gate:
    def ms(at: datetime | None) -> int | None:
        return None if at is None else to_ms(at)

    # A countdown whose opening is not recorded yet is written as one (opens on writing).
    limit = row.limit_ms if row.opens_at is None else None
    return gates.Gate(row.pk, _STATE[row.state], ms(row.opens_at), ms(row.closes_at), limit)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_ms(at: datetime) -> int:
    """Milliseconds since the epoch, exactly (no float on the way)."""
    return (at - _EPOCH) // timedelta(milliseconds=1)


def from_ms(ms: int) -> datetime:
    return _EPOCH + timedelta(milliseconds=ms)


def start_countdown(poll: Poll, limit_ms: int) -> AdmissionChange:
    """Open a quiz question for exactly `limit_ms` from the moment Redis writes it open.

    Call inside the transaction that made the poll its live session's current, unlocked
    poll, its row locked. The new version is written after the commit (an admitting
    state); the write's script reads Redis's TIME and sets the deadline from it in the
    same step, and the times it set are then recorded on the version's row
    (`record_countdowns`), where the worker, the scores and the reconciler read them.
    """
    row = AdmissionChange.objects.create(
        poll_id=poll.pk, state=AdmissionChange.State.LIVE, limit_ms=limit_ms
    )
    copy = gate_of(row)
    transaction.on_commit(lambda: _write_committed({poll.pk: copy}))
    return row


def record_countdowns(copies: dict[int, gates.Gate]) -> None:
    """Record in Postgres the times Redis gave the countdowns among these copies (read
    back: a write that lost its compare-and-set tells nothing of its own)."""
    timed = {pk: g for pk, g in copies.items() if g.limit_ms is not None}
    if not timed:
        return
    for pk, held in gates.read(timed).items():
        if held is None or held.version != timed[pk].version or held.opens_ms is None:
            continue
        AdmissionChange.objects.filter(pk=held.version, opens_at=None).update(
            opens_at=from_ms(held.opens_ms),
            closes_at=from_ms(held.closes_ms or held.opens_ms),
        )


def latest(poll_ids: Sequence[int]) -> dict[int, AdmissionChange]:
    """Each poll's committed (or this transaction's) latest change."""
    if not poll_ids:
        return {}
    rows = (
        AdmissionChange.objects.filter(poll_id__in=poll_ids)
        .order_by("poll_id", "-id")
        .distinct("poll_id")
    )
    return {row.poll_id: row for row in rows}


def _write_committed(copies: dict[int, gates.Gate]) -> None:
    try:
        gates.write(copies)
        record_countdowns(copies)
    except redis.RedisError as exc:  # committed all the same: the reconciler writes it
        logger.warning(
            "admission copies of polls %s left to the reconciler: %r", sorted(copies), exc
        )


def disagreements() -> list[tuple[int, str]]:
    """Where Redis's copy and Postgres disagree now: (poll id, a line saying how)."""
    ids = list(Poll.objects.order_by("pk").values_list("pk", flat=True))
    last, copies = latest(ids), gates.read(ids)
    lines = []
    for pk in ids:
        row, copy = last.get(pk), copies.get(pk)
        want = None if row is None else gate_of(row)
        if copy != want:
            held, decided = copy and copy.encode(), want and want.encode()
            lines.append((pk, f"poll {pk}: Redis holds {held}, Postgres {decided}"))
    return lines


def reconcile() -> int:
    """Make Redis's copy of every poll agree with Postgres; returns how many were mended.

    Behind or missing: the committed state is written (compare-and-set: a newer change
    in flight still wins). Ahead of Postgres: with the poll's row locked (no change in
    flight), a version Postgres lacks was rolled back, and the committed state is
    recorded again under a new version, which also outranks a write still on its way.
    A poll with no recorded state yet gets one.
    """
    ids = list(Poll.objects.order_by("pk").values_list("pk", flat=True))
    last, copies = latest(ids), gates.read(ids)
    behind: dict[int, gates.Gate] = {}
    ahead: list[int] = []
    for pk in ids:
        row, copy = last.get(pk), copies.get(pk)
        if row is None or (copy is not None and copy.version > row.pk):
            ahead.append(pk)
        elif copy is None or copy.version < row.pk:
            behind[pk] = gate_of(row)
    if behind:
        gates.write(behind)
        record_countdowns(behind)
        logger.info("admission copies rewritten from Postgres: polls %s", sorted(behind))
    for pk in ahead:
        with transaction.atomic():
            poll = Poll.objects.select_for_update().filter(pk=pk).first()
            if poll is None:
                continue
            row, copy = latest([pk]).get(pk), gates.read([pk])[pk]
            if row is not None and (copy is None or copy.version <= row.pk):
                gates.write({pk: gate_of(row)})  # settled meanwhile
                continue
            changed([poll], force=True)
            logger.warning(
                "poll %s: Redis held version %s, Postgres %s (a change rolled back): restated",
                pk,
                copy and copy.version,
                row and row.pk,
            )
    return len(behind) + len(ahead)
