"""Sends live events to a poll's viewers once the change they describe has committed.

Any process that changes a poll may call it: the worker (votes stored), the voting role
(the admin) and the commands (open, close, reset, recount). Each process runs one
publisher thread. A poll is pushed at most once per RESULTS_PUSH_INTERVAL across all
processes (a Redis key is the shared gate); a poll changed while the gate is shut is
pushed when it opens, so the last state always arrives. Every push is a snapshot read
after the commit, with its seq.
"""

from __future__ import annotations

import asyncio
import atexit
import itertools
import logging
import os
import threading
import time
from collections.abc import Collection, Iterable, Mapping
from typing import Any

from channels.layers import get_channel_layer
from django.conf import settings
from django.db import close_old_connections, connection, transaction

from polls import qna_reads, quiz, snapshots
from polls.models import LiveSession, Poll, QnaBoard
from polls.selectors import poll_results, session_state
from polls.voters import voter_tag
from votingsite.redis_client import redis_client

from . import events, parts

logger = logging.getLogger(__name__)

_IDLE_CLOSE_SECONDS = 5.0
# Between two pushes of a poll, at least this many times what building one took.
_COST_SHARE = 5
# Between two pushes of a Q&A board, at least this long (_QnaPublisher).
QNA_PUSH_FLOOR_MS = 250
# Voters whose own marks go with one Q&A push (each at most the snapshot's ~100 ids); the
# rest go with the next: the event stays small whatever the rate.
QNA_MARKS_PER_PUSH = 100


def _send(group: str, event: dict[str, Any], loop: asyncio.AbstractEventLoop | None) -> None:
    """Send one event to a channel-layer group, on the sender thread's loop if it has one."""
    coroutine = get_channel_layer().group_send(group, event)
    if loop is None:
        asyncio.run(coroutine)
    else:
        loop.run_until_complete(coroutine)


def publish_now(
    poll_id: int, loop: asyncio.AbstractEventLoop | None = None, *, rules: bool = False
) -> None:
    """Read the poll's snapshot and send it to its viewers; with `rules`, as a poll.changed
    event (the viewers' right to watch is checked again)."""
    poll = Poll.objects.filter(pk=poll_id).first()
    if poll is None:
        return
    snapshot = poll_results(poll=poll)
    snapshots.store(poll_id, snapshot)  # every reader's copy of this change
    event = events.poll_changed(poll, snapshot) if rules else events.results_update(snapshot)
    _send(events.group_name(poll_id), event, loop)


def publish_session_now(session_id: int, loop: asyncio.AbstractEventLoop | None = None) -> None:
    """Read the session's state and send it to its audience and presenters."""
    session = LiveSession.objects.filter(pk=session_id).select_related("current_poll").first()
    if session is None:
        return
    state = session_state(session=session)
    state["quiz"] = quiz.state_of(session)  # the countdown's deadline on Redis's clock
    event = events.session_state(
        state, parts.session_parts(session, state), parts.quiz_reveal(session, state)
    )
    _send(events.session_group(session_id), event, loop)


class _Sender:
    """A background thread per process (started on first use, again in a forked child)
    that sends what `mark` queued; `drain` waits for it (a short-lived command sends
    before it exits)."""

    thread_name = "live-sender"

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._owner_pid: int | None = None
        self._busy = 0  # sends under way

    def _queued(self) -> bool:
        raise NotImplementedError

    def _run(self) -> None:
        raise NotImplementedError

    def _wake(self) -> None:
        """Under `_cond`, after queueing: start this process's thread if need be."""
        if self._owner_pid != os.getpid():  # first use, or a forked child
            self._owner_pid = os.getpid()
            threading.Thread(target=self._run, name=self.thread_name, daemon=True).start()
            atexit.register(self.drain, timeout=5)
        self._cond.notify()

    def drain(self, timeout: float) -> None:
        """Wait (bounded) until everything queued has been sent."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while (self._queued() or self._busy) and time.monotonic() < deadline:
                self._cond.wait(0.05)


class _GatedPublisher(_Sender):
    """Coalesced pushes: each id is pushed at most once per RESULTS_PUSH_INTERVAL across
    every process (a Redis gate, `<gate_prefix>:<id>`, with that TTL, or _COST_SHARE times
    what the push took when longer); one marked while its gate is shut is pushed when it
    opens."""

    gate_prefix = ""
    what = ""  # for the log: what is pushed
    floor_ms = 1  # the gate's least interval, whatever RESULTS_PUSH_INTERVAL says

    def __init__(self) -> None:
        super().__init__()
        self._dirty: dict[int, bool] = {}  # id -> its flag (results: its rules changed too)

    def _queued(self) -> bool:
        return bool(self._dirty)

    def mark(self, ids: Iterable[int], *, rules: bool = False) -> None:
        with self._cond:
            for marked in ids:
                self._dirty[marked] = self._dirty.get(marked, False) or rules
            self._wake()

    def _push(self, marked: int, rules: bool, loop: asyncio.AbstractEventLoop) -> None:
        raise NotImplementedError

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        gate = redis_client()
        while True:
            # Read on every round (not once per thread) so a changed setting applies.
            interval_ms = max(self.floor_ms, int(settings.RESULTS_PUSH_INTERVAL * 1000))
            with self._cond:
                if not self._dirty:
                    # Idle for a while: give the database connection back rather than hold
                    # it open; not between batches, where reconnecting would cost more.
                    self._cond.wait(_IDLE_CLOSE_SECONDS)
                    if not self._dirty:
                        connection.close()
                while not self._dirty:
                    self._cond.wait()
                pending = sorted(self._dirty)
            waits: list[int] = []
            for marked in pending:
                key = f"{self.gate_prefix}:{marked}"
                rules = False
                try:
                    if not gate.set(key, 1, nx=True, px=interval_ms):
                        waits.append(max(1, gate.pttl(key)))
                        continue
                    with self._cond:
                        rules = self._dirty.pop(marked, False)
                        self._busy += 1
                    try:
                        close_old_connections()
                        # This thread's CPU, not the wall clock: on a busy machine a push
                        # waits for cores, Redis and Postgres, and counting that wait as
                        # its cost shut the gate for up to a second (the freshness tail).
                        began = time.thread_time()
                        self._push(marked, rules, loop)
                        took_ms = int((time.thread_time() - began) * 1000)
                        if took_ms * _COST_SHARE > interval_ms:
                            # A costly snapshot (a big ranked poll, a big board) is pushed
                            # less often, so pushes take at most 1/_COST_SHARE of this
                            # process's time. SET, not PEXPIRE: the gate has usually expired.
                            gate.set(key, 1, px=took_ms * _COST_SHARE)
                    finally:
                        with self._cond:
                            self._busy -= 1
                except Exception:
                    # Keep it marked and try again; viewers also re-sync on reconnect.
                    logger.exception("could not push %s %s", self.what, marked)
                    with self._cond:
                        self._dirty[marked] = self._dirty.get(marked, False) or rules
                    waits.append(interval_ms)
            if waits:
                time.sleep(min(waits) / 1000)


class _Publisher(_GatedPublisher):
    """Polls' results."""

    thread_name = "results-publisher"
    gate_prefix = "results:gate"
    what = "results of poll"

    def _push(self, marked: int, rules: bool, loop: asyncio.AbstractEventLoop) -> None:
        publish_now(marked, loop, rules=rules)


_publisher = _Publisher()


def polls_changed(poll_ids: Iterable[int]) -> None:
    """The polls' tallies changed (committed): push their results; returns at once."""
    _publisher.mark(poll_ids)


def poll_rules_changed(poll_id: int) -> None:
    """The poll itself changed (committed): viewers are checked again; returns at once."""
    _publisher.mark([poll_id], rules=True)


def announce_after_commit(poll_ids: Iterable[int]) -> None:
    """Push the polls' new results to open pages once this transaction has committed."""
    changed = frozenset(poll_ids)
    # Looked up when called, so a test can stand in for polls_changed.
    transaction.on_commit(lambda: polls_changed(changed))


def announce_session_after_commit(session_id: int) -> None:
    """Send the session's new state to its audience once this transaction has committed."""
    # Sessions change at a presenter's pace: sent at once, not gated like results.
    transaction.on_commit(lambda: _sessions.mark(session_id))


class _SessionSender(_Sender):
    """Sends session states in the order they were committed."""

    thread_name = "session-sender"

    def __init__(self) -> None:
        super().__init__()
        self._waiting: list[int] = []

    def _queued(self) -> bool:
        return bool(self._waiting)

    def mark(self, session_id: int) -> None:
        with self._cond:
            if session_id not in self._waiting:
                self._waiting.append(session_id)
            self._wake()

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        while True:
            with self._cond:
                while not self._waiting:
                    self._cond.wait()
                session_id = self._waiting.pop(0)
                self._busy += 1
            try:
                close_old_connections()
                publish_session_now(session_id, loop)
            except Exception:
                logger.exception("could not send the state of session %s", session_id)
            finally:
                connection.close()
                with self._cond:
                    self._busy -= 1
                    self._cond.notify_all()


_sessions = _SessionSender()


def announce_rules_after_commit(poll_id: int) -> None:
    """Re-check open pages against the poll's rules once this transaction has committed."""
    transaction.on_commit(lambda: poll_rules_changed(poll_id))


def publish_qna_now(
    board_id: int, loop: asyncio.AbstractEventLoop | None = None, voters: Collection[str] = ()
) -> None:
    """Read the board's snapshot and send it to its session's audience and presenters,
    with the own marks of `voters` (those whose actions were just stored): a voter's
    other phone learns what it asked and upvoted elsewhere."""
    board = QnaBoard.objects.filter(pk=board_id).select_related("highlighted").first()
    if board is None:
        return
    snapshot = qna_reads.snapshot(board)
    marks = qna_reads.marks_of(board, voters, qna_reads.shown_ids(snapshot)) if voters else {}
    mine = {voter_tag(key): own for key, own in marks.items()}
    _send(events.session_group(board.session_id), events.qna_update(snapshot, mine), loop)


class _QnaPublisher(_GatedPublisher):
    """Q&A boards' snapshots, coalesced like results (`qna:gate:<board id>`), but a busy
    board at most every QNA_PUSH_FLOOR_MS: its snapshot is three queries, and pushed every
    30 ms it took 37-40 % of the worker, which stores the board's upvotes in the same
    processes (issue 35's benchmark). The rest of the promised second is the store's."""

    thread_name = "qna-publisher"
    gate_prefix = "qna:gate"
    what = "Q&A board"
    floor_ms = QNA_PUSH_FLOOR_MS

    def __init__(self) -> None:
        super().__init__()
        self._voters: dict[int, set[str]] = {}  # board -> voters whose marks to send

    def mark_voters(self, voters: Mapping[int, Iterable[str]]) -> None:
        """Voters whose marks go with their boards' next push (the caller marks those)."""
        with self._cond:
            for board_id, keys in voters.items():
                self._voters.setdefault(board_id, set()).update(keys)

    def _push(self, marked: int, rules: bool, loop: asyncio.AbstractEventLoop) -> None:
        with self._cond:
            waiting = self._voters.pop(marked, set())
            voters = set(itertools.islice(waiting, QNA_MARKS_PER_PUSH))
            if waiting - voters:  # the rest with the next push
                self._voters[marked] = waiting - voters
                self._dirty[marked] = self._dirty.get(marked, False)
        try:
            publish_qna_now(marked, loop, voters)
        except Exception:
            with self._cond:
                self._voters.setdefault(marked, set()).update(voters)
            raise


_qna = _QnaPublisher()


def qna_changed(
    board_ids: Iterable[int], voters: Mapping[int, Iterable[str]] | None = None
) -> None:
    """The boards changed (committed): push their snapshots, with the own marks of
    `voters` (per board); returns at once."""
    if voters:
        _qna.mark_voters(voters)
    _qna.mark(board_ids)


def announce_qna_after_commit(
    board_ids: Iterable[int], voters: Mapping[int, Iterable[str]] | None = None
) -> None:
    """Push the boards' new snapshots once this transaction has committed."""
    changed = frozenset(board_ids)
    transaction.on_commit(lambda: qna_changed(changed, voters))
