"""Admitting a vote to the queue: its rate-limit counters and its ledger entry in one
round trip to Redis (a Lua script, so a vote over a limit never enters the ledger).

Fixed windows: each counter key names its window, and expires when the window ends.
Written here rather than with django-ratelimit (which guards the admin login): it costs
two round trips per counter, and a vote is the hot path.
"""

from __future__ import annotations

import hashlib
import re
import time
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

from django.conf import settings
from redis.commands.core import Script

from votingsite.redis_client import redis_client

from . import ledger

if TYPE_CHECKING:
    from .services import QueuedVote

_ADMIT = """
-- KEYS: the counters, then the ledger. ARGV: per counter its limit and seconds left in
-- its window, then the ledger member and score. Returns 0, or seconds to wait.
local counters = #KEYS - 1
local wait = 0
for i = 1, counters do
  local count = redis.call('INCR', KEYS[i])
  if count == 1 then redis.call('EXPIRE', KEYS[i], ARGV[2 * i]) end
  if count > tonumber(ARGV[2 * i - 1]) then
    wait = math.max(wait, redis.call('TTL', KEYS[i]))
  end
end
if wait > 0 then return wait end
redis.call('ZADD', KEYS[counters + 1], ARGV[2 * counters + 2], ARGV[2 * counters + 1])
return 0
"""

_RATE = re.compile(r"^(\d+)/(\d*)([smhd])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    """django-ratelimit's rate format: "30/m", "1200/m", "5/h", "10/5m" -> (count, seconds)."""
    found = _RATE.match(rate.strip())
    if not found:
        raise ValueError(f"rate {rate!r} is not of the form N/[M](s|m|h|d)")
    count, multiple, unit = found.groups()
    return int(count), int(multiple or 1) * _UNIT_SECONDS[unit]


@dataclass(frozen=True)
class Limit:
    name: str  # what is counted: "voter" or "ip"
    value: str  # whose count
    rate: str  # e.g. "30/m"


@cache
def _script() -> Script:
    return redis_client().register_script(_ADMIT)


def admit(vote: QueuedVote, limits: list[Limit]) -> int:
    """Count the vote against each limit and, if none is exceeded, enter it in the ledger.

    Returns 0 when admitted, else the seconds until the exceeded window ends.
    Raises redis.RedisError when Redis does not answer.
    """
    if not settings.RATELIMIT_ENABLE:
        limits = []
    now = int(time.time())
    keys: list[str] = []
    args: list[str | int | float] = []
    for limit in limits:
        count, period = parse_rate(limit.rate)
        window_end = (now // period + 1) * period
        digest = hashlib.sha256(limit.value.encode()).hexdigest()[:32]
        keys.append(f"rl:vote-{limit.name}:{period}:{window_end}:{digest}")
        args += [count, window_end - now + 1]
    keys.append(ledger.PENDING_KEY)
    args += [ledger.member(vote), vote.cast_at.timestamp()]
    return int(_script()(keys=keys, args=args))
