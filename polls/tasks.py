"""The worker's vote task: thin, it parses messages and calls polls.services."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from typing import Any

import redis
from celery import shared_task
from celery.signals import worker_ready
from celery_batches import Batches
from django.conf import settings
from django.db import InterfaceError, OperationalError, close_old_connections, connection

from votingsite import worker_metrics

from . import admission, ledger, services
from .vote_sender import GroupSender

logger = logging.getLogger(__name__)

# Postgres outages are waited out inside the batch so its messages stay unacknowledged:
# celery-batches acknowledges a batch when its task returns, even after an exception.
_DB_RETRY_FIRST_SECONDS = 0.2
_DB_RETRY_MAX_SECONDS = 5.0


@shared_task(
    base=Batches,
    name="polls.record_votes",
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
                votes.append(services.QueuedVote.from_message(data))
            except ValueError as exc:
                logger.error("dropping malformed vote message %s: %s", request.id, exc)
    if votes:
        started = time.monotonic()
        outcome = store_with_retry(votes)
        worker_metrics.batch_stored(outcome, seconds=time.monotonic() - started)
        try:
            ledger.mark_handled(votes)
        except redis.RedisError as exc:  # the sweeper re-queues them; storing is idempotent
            logger.warning("could not strike %d votes off the ledger: %r", len(votes), exc)


def _message_votes(request: Any) -> list[Any]:
    args = request.args
    if not isinstance(args, list | tuple) or len(args) != 1 or not isinstance(args[0], list):
        logger.error("dropping vote message %s with unexpected arguments", request.id)
        return []
    return args[0]


def store_with_retry(votes: Sequence[services.QueuedVote]) -> services.RecordOutcome:
    delay = _DB_RETRY_FIRST_SECONDS
    while True:
        try:
            outcome = services.record_votes(votes)
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


_sender: GroupSender[admission.Entry, int] = GroupSender(
    admission.admit_and_queue, max_batch=settings.VOTE_SEND_MAX_BATCH
)


def queue_vote(entry: admission.Entry) -> int:
    """The web side's way in: admits the vote and queues it, along with any other votes
    this process took at the same moment, in one round trip to Redis. Returns 0 once it
    is in Redis, or the seconds its voter must wait (a rate limit); raises if Redis does
    not answer."""
    return _sender.send(entry)


def _requeue(messages: list[dict[str, Any]]) -> None:
    record_votes.apply_async(args=(messages,), retry=True)


def _sweep_forever() -> None:
    while True:
        time.sleep(settings.VOTE_LEDGER_SWEEP_SECONDS)
        try:
            ledger.sweep(_requeue)
        except Exception:
            logger.exception("ledger sweep failed; trying again later")


@worker_ready.connect
def _start_ledger_sweeper(**kwargs: Any) -> None:
    # One sweeper per worker node (main process); concurrent sweeps only duplicate work.
    threading.Thread(target=_sweep_forever, name="vote-ledger-sweeper", daemon=True).start()
