"""The worker's Celery tasks, thin: parse what arrived and call polls.pipeline.store.

Also two threads per worker node: the ledger sweeper, which queues again any vote the
broker dropped (polls.pipeline.ledger), and the reconciler, which mends Redis's copy of
what is open from Postgres (polls.openness).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any

import redis
from celery import shared_task
from celery.signals import worker_ready
from celery_batches import Batches
from django.conf import settings
from django.db import connection

from polls import openness
from polls.pipeline import ballots, ledger, metrics, qna_admission, qna_store
from polls.pipeline.message import TASK_NAME, QueuedVote
from polls.pipeline.qna_message import TASK_NAME as QNA_TASK_NAME
from polls.pipeline.qna_message import QnaAction
from polls.pipeline.store import store_with_retry
from votingsite.redis_client import redis_client

logger = logging.getLogger(__name__)


class VoteBatches(Batches):
    """celery-batches' Batches, re-arming its flush timer when the consumer restarts.

    Celery rebuilds the consumer on a new event-loop hub after a broker reconnect and
    calls Strategy() again, but Batches keeps the old timer's reference on the (long-lived)
    task, so the interval flush never runs again and only full batches are stored
    (clokep/celery-batches#107). Remove this class once the pinned celery-batches carries
    the fix merged as clokep/celery-batches#108 (not in 0.11).
    """

    def Strategy(self, task: Any, app: Any, consumer: Any) -> Any:
        stale = self._tref  # type: ignore[has-type]  # untyped in celery-batches
        if stale is not None:
            stale.cancel()  # bound to the old hub: it would never fire
            self._tref = None
        return super().Strategy(task, app, consumer)

    # What the pool returned for each batch it is storing, and when the buffer was last
    # held back.
    _storing: tuple[Any, ...] = ()
    _held_since: float | None = None

    @property
    def _in_flight(self) -> int:
        """Batches the pool has not finished storing (billiard's results not ready: stored,
        failed, or lost with their process)."""
        self._storing = tuple(r for r in self._storing if not r.ready())
        return len(self._storing)

    def _do_flush(self) -> None:
        """Flush on the timer only while a pool process is free to store the batch.

        celery-batches flushes every flush_interval whatever the pool is doing: when the
        worker falls behind, the pool's queue fills with small batches, each paying a
        whole transaction, and it never catches up (seen: 10-vote batches, votes stored
        seconds late at 500/s). Held back, the buffer grows until a process is free, so a
        worker that is behind stores bigger batches. Never held longer than
        VOTE_BATCH_MAX_HOLD_SECONDS, nor beyond flush_every messages.
        """
        busy = self._in_flight >= getattr(self._pool, "num_processes", 1)
        if busy and self._buffer.qsize() < self.flush_every:
            now = time.monotonic()
            if self._held_since is None:
                self._held_since = now
            if now - self._held_since < settings.VOTE_BATCH_MAX_HOLD_SECONDS:
                return
        self._held_since = None
        super()._do_flush()

    def flush(self, requests: Any) -> Any:
        """celery-batches' flush, keeping the pool's result to see when it is done."""
        result = super().flush(requests)
        self._storing = (*self._storing, result)
        return result


@shared_task(
    base=VoteBatches,
    name=TASK_NAME,
    flush_every=settings.VOTE_BATCH_SIZE,
    flush_interval=settings.VOTE_BATCH_FLUSH_SECONDS,
    acks_late=True,
)
def record_votes(requests: Sequence[Any]) -> None:
    """Store every vote of every buffered message in one transaction."""
    votes = []
    for request in requests:
        for data in _message_votes(request):
            try:
                votes.append(QueuedVote.from_message(data))
            except ValueError as exc:
                logger.error("dropping malformed vote message %s: %s", request.id, exc)
    # A worker that fell behind gets big batches (VoteBatches._do_flush): stored in
    # transactions of at most VOTE_STORE_CHUNK votes, so that none outlasts the deadline
    # on a Postgres call (seen: 5,000-ballot ranked batches past 5 s, retried for ever).
    step = settings.VOTE_STORE_CHUNK
    for chunk in (votes[i : i + step] for i in range(0, len(votes), step)):
        started = time.monotonic()
        outcome = store_with_retry(chunk)
        metrics.batch_stored(outcome, seconds=time.monotonic() - started)
        try:
            _strike_off(chunk, outcome.refused)
        except redis.RedisError as exc:  # the sweeper re-queues them; storing is idempotent
            logger.warning("could not strike %d votes off the ledger: %r", len(chunk), exc)


def _strike_off(votes: Sequence[QueuedVote], refused: Mapping[str, str]) -> None:
    """The votes off the ledger and their ballots settled, in one round trip: under load
    each round trip costs the pool process a wait for Redis (py-spy at 500 votes/s: a
    fifth of its time went to the three it took before)."""
    for attempt in (1, 2):
        pipe = redis_client().pipeline(transaction=False)
        ledger.mark_handled(votes, pipe)
        ballots.settle(votes, refused, pipe)
        try:
            pipe.execute()
            return
        except redis.exceptions.NoScriptError:  # a restarted Redis: load it, send again
            if attempt == 2:
                raise
            ballots.load_settle_script()


def _message_votes(request: Any) -> list[Any]:
    args = request.args
    if not isinstance(args, list | tuple) or len(args) != 1 or not isinstance(args[0], list):
        logger.error("dropping vote message %s with unexpected arguments", request.id)
        return []
    return args[0]


def _requeue(messages: list[dict[str, Any]]) -> None:
    record_votes.apply_async(args=(messages,), retry=True)


@shared_task(
    base=VoteBatches,
    name=QNA_TASK_NAME,
    flush_every=settings.VOTE_BATCH_SIZE,
    flush_interval=settings.VOTE_BATCH_FLUSH_SECONDS,
    acks_late=True,
)
def record_qna(requests: Sequence[Any]) -> None:
    """Store the buffered messages' Q&A actions (questions, upvote actions) in one
    transaction per board, then strike them off the Q&A ledger
    (polls.pipeline.qna_admission); storing twice changes nothing.

    Batched like votes: one action per transaction stored only 30-60 a second (the
    board's advisory lock and commit each time)."""
    by_board: dict[int, list[QnaAction]] = {}
    for request in requests:
        for data in _message_actions(request):
            try:
                action = QnaAction.from_message(data)
            except ValueError as exc:
                logger.error("dropping malformed Q&A message %s: %s", request.id, exc)
                continue
            by_board.setdefault(action.board_id, []).append(action)
    step = settings.VOTE_STORE_CHUNK  # no transaction outlasts a Postgres call's deadline
    for board_id in sorted(by_board):
        # Admission order: a question's ask goes in no later chunk than its upvotes.
        actions = sorted(by_board[board_id], key=lambda a: a.order)
        for chunk in (actions[i : i + step] for i in range(0, len(actions), step)):
            qna_store.store_with_retry(chunk)
            try:
                qna_admission.mark_handled(chunk)
            except redis.RedisError as exc:  # the sweeper queues them again; idempotent
                logger.warning("could not strike %d Q&A actions off ledger: %r", len(chunk), exc)


def _message_actions(request: Any) -> list[Any]:
    """A message's actions: its one argument, a list (the format queued since Q&A began)."""
    args = request.args
    if not isinstance(args, list | tuple) or len(args) != 1 or not isinstance(args[0], list):
        logger.error("dropping Q&A message %s with unexpected arguments", request.id)
        return []
    return args[0]


def _requeue_qna(messages: list[dict[str, Any]]) -> None:
    record_qna.apply_async(args=(messages,), retry=True)


def _sweep_forever() -> None:
    while True:
        time.sleep(settings.VOTE_LEDGER_SWEEP_SECONDS)
        try:
            ledger.sweep(_requeue)
            qna_admission.sweep(_requeue_qna)
        except Exception:
            logger.exception("ledger sweep failed; trying again later")


def _reconcile_forever() -> None:
    while True:
        try:
            openness.reconcile()
        except Exception:
            logger.exception("admission copies not reconciled; trying again later")
            connection.close()
        time.sleep(settings.ADMISSION_RECONCILE_SECONDS)


@worker_ready.connect
def _start_ledger_sweeper(**kwargs: Any) -> None:
    # One of each per worker node (main process); concurrent runs only duplicate work
    # (the reconciler's writes are compare-and-set).
    threading.Thread(target=_sweep_forever, name="vote-ledger-sweeper", daemon=True).start()
    threading.Thread(target=_reconcile_forever, name="admission-reconciler", daemon=True).start()
