"""An admission's answer from Redis, and the truth to tell when it does not come.

Votes (polls.pipeline.admission) and Q&A actions (polls.pipeline.qna_admission) are
admitted by a Lua script in one round trip, on one client that never retries (a second
copy of a script could run later) and waits for the answer the deadline plus
VOTE_ADMISSION_CLOCK_MARGIN_SECONDS at most. When the call raises, what happened is one of:

- **never sent** (`Unsent`: Redis not reached, or the item withdrawn before a send took
  it) or **no answer in time** (redis.TimeoutError: a script Redis runs later refuses the
  item as late): nothing was recorded, and that is said at once;
- **sent, the answer lost** (any other error: the connection broke after the script went,
  a primary killed just after it ran and replicated): the script may have run. The caller
  waits out the deadline and the margin, when a script still on its way would refuse the
  item, then asks Redis whether it holds it: ADMITTED (it will be stored), NOT_RECORDED,
  or UNKNOWN when Redis cannot be asked (the voter gets an id to ask after, or is told to
  send again where that is harmless).
"""

from __future__ import annotations

import enum
import logging
import time
from collections.abc import Callable
from functools import cache

import redis
from django.conf import settings
from redis.backoff import NoBackoff
from redis.retry import Retry

logger = logging.getLogger(__name__)


class Outcome(enum.Enum):
    ADMITTED = "admitted"  # Redis holds it: it will be stored
    NOT_RECORDED = "not recorded"  # it never was, and never will be
    UNKNOWN = "unknown"  # Redis could not be asked


class Unsent(Exception):
    """The script was never sent: nothing was recorded."""


class AdmissionUnreached(Unsent, redis.ConnectionError):
    """Redis was not reached, so the script was never sent. Any other RedisError from an
    admission may have lost the answer of a script that ran."""


@cache
def admission_client() -> redis.Redis:
    # No retry: a second copy of the script could run later. A timeout means the answer
    # was lost, not the item: Redis refuses it as late if the script runs after that.
    timeout = (
        settings.VOTE_ADMISSION_DEADLINE_SECONDS + settings.VOTE_ADMISSION_CLOCK_MARGIN_SECONDS
    )
    return redis.Redis.from_url(
        settings.REDIS_URL,
        socket_timeout=timeout,
        socket_connect_timeout=min(2.0, timeout),
        retry=Retry(NoBackoff(), 0),
    )


def reach(client: redis.Redis) -> None:
    """Connect before the script goes: a failure here means it never went."""
    pool = client.connection_pool
    try:
        connection = pool.get_connection()
    except redis.RedisError as exc:
        raise AdmissionUnreached(f"Redis not reached: {exc!r}") from exc
    pool.release(connection)  # the script's call takes it up again (the pool is LIFO)


def answer_within(deadline: float) -> float:
    """How long to wait for the admission's answer: past the deadline by the clock margin,
    so that Redis (whose clock may lag ours by less than it) has refused the item by then."""
    return max(0.0, deadline + settings.VOTE_ADMISSION_CLOCK_MARGIN_SECONDS - time.time())


def after_failure(
    error: BaseException, deadline: float, held: Callable[[], Outcome], *, what: str
) -> Outcome:
    """What an admission that raised `error` did. `held` says whether Redis holds the item
    (a RedisError from it: UNKNOWN); it is asked only once the deadline has passed by the
    clock margin, when a script still on its way would refuse the item as late."""
    if isinstance(error, Unsent | redis.TimeoutError):
        logger.warning("%s not admitted: %r", what, error)
        return Outcome.NOT_RECORDED
    logger.warning("%s: the admission's answer was lost: %r", what, error)
    time.sleep(answer_within(deadline))
    try:
        return held()
    except redis.RedisError as exc:
        logger.warning("%s: Redis cannot be asked whether it holds it: %r", what, exc)
        return Outcome.UNKNOWN
