"""Admitting votes to the queue, in one round trip to Redis per group of votes: a Lua
script counts each vote against its rate limits, enters the admitted ones in the vote
ledger and pushes their Celery message onto the queue. A vote over a limit never enters
the ledger or the queue. When only some of a group are over a limit, the others follow
in a second push (until it lands, their ledger entries cover them).

Fixed windows: each counter key names its window, and expires when the window ends.
Written here rather than with django-ratelimit (which guards the admin login): it costs
two round trips per counter, and a vote is the hot path. Which limits a vote counts
against is polls.ratelimits' business.
"""

from __future__ import annotations

import contextlib
import hashlib
import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

from django.conf import settings
from redis.commands.core import Script

from polls.ratelimits import Limit, parse_rate
from votingsite.redis_client import redis_client

from . import ledger
from . import message as task_message
from .message import QueuedVote

_ADMIT = """
-- KEYS: the queue, the ledger, then every vote's counters in order.
-- ARGV: the number of votes, the queue message carrying all of them, then per vote its
-- number of counters, ledger member and score, then per counter its limit and the seconds
-- left in its window. Returns per vote 0 (admitted) or the seconds to wait. The message is
-- pushed only when every vote was admitted; otherwise the caller pushes one for those that were.
local queue, pending = KEYS[1], KEYS[2]
local votes, message = tonumber(ARGV[1]), ARGV[2]
local k, a = 3, 3
local waits, admitted = {}, 0
for v = 1, votes do
  local counters, member, score = tonumber(ARGV[a]), ARGV[a + 1], ARGV[a + 2]
  a = a + 3
  local wait = 0
  for c = 1, counters do
    local count = redis.call('INCR', KEYS[k])
    if count == 1 then redis.call('EXPIRE', KEYS[k], ARGV[a + 1]) end
    if count > tonumber(ARGV[a]) then
      wait = math.max(wait, redis.call('TTL', KEYS[k]), 1)
    end
    k, a = k + 1, a + 2
  end
  if wait == 0 then
    redis.call('ZADD', pending, score, member)
    admitted = admitted + 1
  end
  waits[v] = wait
end
if admitted == votes then redis.call('LPUSH', queue, message) end
return waits
"""


@cache
def _script() -> Script:
    return redis_client().register_script(_ADMIT)


@dataclass(frozen=True)
class Entry:
    vote: QueuedVote
    limits: Sequence[Limit]


def admit_and_queue(entries: Sequence[Entry]) -> list[int]:
    """Count each vote against its limits and queue, as one message, those within them.

    Returns per entry 0 when its vote is queued, else the seconds until its exceeded
    window ends. Raises redis.RedisError when Redis does not take them.
    """
    now = int(time.time())
    messages = [e.vote.to_message() for e in entries]
    keys: list[str] = [task_message.queue_name(), ledger.PENDING_KEY]
    args: list[str | int | float] = [len(entries), task_message.build(messages)]
    for entry, vote_message in zip(entries, messages, strict=True):
        limits = entry.limits if settings.RATELIMIT_ENABLE else []
        args += [len(limits), ledger.message_member(vote_message), entry.vote.cast_at.timestamp()]
        for limit in limits:
            count, period = parse_rate(limit.rate)
            window_end = (now // period + 1) * period
            digest = hashlib.sha256(limit.value.encode()).hexdigest()[:32]
            keys.append(f"rl:vote-{limit.name}:{period}:{window_end}:{digest}")
            args += [count, window_end - now + 1]
    waits = [int(w) for w in _script()(keys=keys, args=args)]
    admitted = [i for i, wait in enumerate(waits) if not wait]
    if admitted and len(admitted) < len(entries):
        # Some were over a limit: the rest still go, in a message of their own.
        try:
            rest = task_message.build([messages[i] for i in admitted])
            redis_client().lpush(task_message.queue_name(), rest)
        except Exception:
            with contextlib.suppress(Exception):  # Redis is likely down; entries may stay
                ledger.forget([entries[i].vote for i in admitted])
            raise
    return waits
