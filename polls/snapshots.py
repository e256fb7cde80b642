"""Results computed once per change, served to every reader.

The process that stores a change computes the poll's snapshot for its push
(polls.live.publisher) and keeps it in Redis, `results:snapshot:<poll id>`; every reader
(the results API and page, the presenter, a reveal, an embed, a socket's first snapshot)
takes it from there. A reader computes only when Redis holds none (never computed, expired,
or the poll itself was edited), or when the one held is behind the stored votes and older
than RESULTS_SNAPSHOT_STALE_SECONDS (its push was lost: the latest state must arrive).
Concurrent misses wait for one computation (a short lock) instead of each computing.

Bounds: one key per poll read or changed within RESULTS_SNAPSHOT_TTL (10 minutes), each a
snapshot's JSON (kilobytes: a ranked poll's rounds grow with its choices, not with its
distinct rankings), and one lock key per poll being computed (a few seconds' TTL).
"""

from __future__ import annotations

import json
import logging
import time
from functools import cache
from typing import Any

import redis
from django.conf import settings
from django.db import connection
from django.utils import timezone
from redis.commands.core import Script

from votingsite.redis_client import redis_client

from .models import Poll
from .selectors import poll_results

logger = logging.getLogger(__name__)

_LOCK_MS = 5000  # longer than any computation; a crashed holder's lock expires by itself
_WAIT_STEP = 0.02


def key(poll_id: int) -> str:
    return f"results:snapshot:{poll_id}"


def store(poll_id: int, snapshot: dict[str, Any]) -> None:
    """Keep a snapshot just computed for every reader (an older one never replaces it)."""
    entry = f"{snapshot['seq']}|{time.time()}|{json.dumps(snapshot)}"
    try:
        _store_script()(keys=[key(poll_id)], args=[entry, settings.RESULTS_SNAPSHOT_TTL])
    except redis.RedisError as exc:  # readers compute it then
        logger.warning("snapshot of poll %s not kept: %r", poll_id, exc)


def forget(poll_id: int) -> None:
    """The poll or its choices changed without a new seq: the next reader computes."""
    try:
        redis_client().delete(key(poll_id))
    except redis.RedisError as exc:
        logger.warning("snapshot of poll %s not forgotten: %r", poll_id, exc)


def results(*, poll: Poll, behind: float | None = None) -> dict[str, Any]:
    """The poll's results snapshot, computed once per change for every reader. A kept one
    behind the stored votes is taken for `behind` seconds after it was computed
    (RESULTS_SNAPSHOT_STALE_SECONDS unless said: its push is on its way)."""
    seq = _stored_seq(poll.pk)
    if behind is None:
        behind = settings.RESULTS_SNAPSHOT_STALE_SECONDS
    try:
        held = _held(poll.pk)
        if held is not None and _fresh(held, seq, behind):
            return _now(held["snapshot"], poll)
        client = redis_client()
        lock = f"{key(poll.pk)}:lock"
        if client.set(lock, 1, nx=True, px=_LOCK_MS):
            try:
                return _computed(poll)
            finally:
                client.delete(lock)
        # Another reader is computing it: wait for that (bounded), then compute anyway.
        deadline = time.monotonic() + _LOCK_MS / 1000
        while time.monotonic() < deadline:
            time.sleep(_WAIT_STEP)
            held = _held(poll.pk)
            if held is not None and held["snapshot"]["seq"] >= seq:
                return _now(held["snapshot"], poll)
    except redis.RedisError as exc:
        logger.warning("snapshot cache unavailable (%r): computing poll %s here", exc, poll.pk)
    return _computed(poll)


def _computed(poll: Poll) -> dict[str, Any]:
    snapshot = poll_results(poll=poll)
    store(poll.pk, snapshot)
    return snapshot


def _held(poll_id: int) -> dict[str, Any] | None:
    raw = redis_client().get(key(poll_id))
    if raw is None:
        return None
    _seq, at, text = (raw.decode() if isinstance(raw, bytes) else raw).split("|", 2)
    return {"at": float(at), "snapshot": json.loads(text)}


def _fresh(held: dict[str, Any], seq: int | None, behind: float) -> bool:
    if seq is None or held["snapshot"]["seq"] >= seq:
        return True
    # Behind: its push is on its way, unless it has been too long (a push was lost).
    return time.time() - held["at"] < behind


def _now(snapshot: dict[str, Any], poll: Poll) -> dict[str, Any]:
    # Whether it is open depends on the time of reading, not of computing.
    return {**snapshot, "status": poll.state_at(timezone.now())}


def _stored_seq(poll_id: int) -> int | None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT seq FROM polls_pollcounter WHERE poll_id = %s", [poll_id])
        row = cursor.fetchone()
    return None if row is None else int(row[0])


# SET the entry (`seq|at|json`) unless Redis holds a newer seq's: the pushes of two
# processes may cross.
_STORE = """
local held = redis.call('GET', KEYS[1])
local new_seq = tonumber(string.match(ARGV[1], '^(%d+)|'))
if held and tonumber(string.match(held, '^(%d+)|')) > new_seq then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
return 1
"""


@cache
def _store_script() -> Script:
    return redis_client().register_script(_STORE)
