"""A ledger in Redis of votes queued but not yet handled, so no accepted vote is lost.

Celery's Redis transport pops a message (BRPOP) before it records it as unacknowledged;
a worker killed in between loses that message for good. So the web side also writes
each queued vote here, the worker strikes it off once stored (or rejected), and a
sweeper in the worker re-queues votes that were passed over long ago. Re-queued
duplicates are harmless: storing a vote is idempotent.

Votes are passed over when the queue has moved past them: the worker keeps the newest
cast_at it handled, and the queue is first in, first out. A vote older than that by
more than the grace period (visibility timeout + restore sweep + margin) is lost, or
waits behind a redelivery; either way queueing it again is safe. When the queue and
the unacknowledged set are both empty, everything older than the grace is passed over.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

import redis
from django.conf import settings
from redis.client import Pipeline

from votingsite.redis_client import redis_client

from .message import QueuedVote

logger = logging.getLogger(__name__)

PENDING_KEY = "votes:pending"
HANDLED_UPTO_KEY = "votes:handled-upto"
_SWEEP_BATCH = 1000


def member(vote: QueuedVote) -> str:
    return message_member(vote.to_message())


def message_member(message: dict[str, Any]) -> str:
    """The ledger entry of a vote, from its queue message (QueuedVote.to_message)."""
    return json.dumps(message, sort_keys=True, separators=(",", ":"))


def mark_handled(votes: Sequence[QueuedVote], pipe: Pipeline | None = None) -> None:
    """Worker side, after the votes' transaction committed (stored, ignored or rejected).
    Given a pipeline, only adds its commands to it (the caller sends them)."""
    if votes:
        newest = max(v.cast_at.timestamp() for v in votes)
        strike_off([member(v) for v in votes], newest, pipe=pipe)


def strike_off(
    members: Sequence[str],
    newest: float | None,
    *,
    pending: str = PENDING_KEY,
    handled: str = HANDLED_UPTO_KEY,
    pipe: Pipeline | None = None,
) -> None:
    """Off the ledger (`pending`), and its handled mark moved up to `newest` (when known):
    how far the workers got, which passed_over goes by (the Q&A ledger's keys given)."""
    own = pipe is None
    pipe = redis_client().pipeline(transaction=False) if pipe is None else pipe
    pipe.zrem(pending, *members)
    if newest is not None:
        # Only ever moves forward (GT), whichever worker process finishes last; "at": when
        # a worker last handled anything.
        pipe.zadd(handled, {"upto": newest, "at": time.time()}, gt=True)
    if own:
        pipe.execute()


def queued_messages(client: redis.Redis) -> int:
    """Vote messages waiting in the queue plus those a worker holds unacknowledged."""
    return int(client.llen(settings.CELERY_TASK_DEFAULT_QUEUE)) + int(client.hlen("unacked"))


def passed_over(
    now: float | None = None, *, pending: str = PENDING_KEY, handled: str = HANDLED_UPTO_KEY
) -> list[str]:
    """Pending votes the queue has moved past by more than the grace period (or Q&A
    actions: their own ledger's keys)."""
    client = redis_client()
    now = time.time() if now is None else now
    upto, handled_at = client.zmscore(handled, ["upto", "at"])
    # Idle: nothing waits in Redis, and no worker has handled a vote for a grace period.
    # An empty queue alone is not idle: a worker may hold many messages it has taken
    # (its prefetch; without ack emulation they are nowhere in Redis), still storing.
    queue_idle = queued_messages(client) == 0 and (
        handled_at is None or now - handled_at > settings.VOTE_LEDGER_GRACE_SECONDS
    )
    upto = now if queue_idle else upto
    if upto is None:
        return []
    cutoff = upto - settings.VOTE_LEDGER_GRACE_SECONDS
    found = client.zrangebyscore(pending, "-inf", cutoff, 0, _SWEEP_BATCH)
    return [m.decode() if isinstance(m, bytes) else str(m) for m in found]


def sweep(
    requeue: Callable[[list[dict[str, Any]]], None],
    now: float | None = None,
    *,
    pending: str = PENDING_KEY,
    handled: str = HANDLED_UPTO_KEY,
    what: str = "votes",
) -> int:
    """Queue passed-over votes (or what `pending` holds) again; returns how many."""
    members = passed_over(now, pending=pending, handled=handled)
    if not members:
        return 0
    requeue([json.loads(m) for m in members])
    # Give the new copies a fresh place in line before they count as passed over again.
    stamp = time.time() if now is None else now
    redis_client().zadd(pending, dict.fromkeys(members, stamp), xx=True)
    logger.warning("re-queued %d %s that were queued but never handled", len(members), what)
    return len(members)
