"""Gates a live session holds on its polls, in Redis, where the admission script reads them.

`gate:<poll id>` is absent for a poll in no live session (its own open/closed rule alone
decides), `open` for a session's current poll while voting on it is open, `locked` while
the presenter has locked it, and `waiting` for the session's other polls. The session's
actions (polls.live_sessions) set every gate of a session in one round trip, so a vote
admitted just after a lock or a move to the next poll is refused at once, never 202'd
and then dropped.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache

from redis.commands.core import Script

from votingsite.redis_client import redis_client

OPEN = "open"
LOCKED = "locked"
WAITING = "waiting"

_SET = """
-- KEYS: gate keys. ARGV: per key its state, or '' to remove it. Returns Redis's clock (ms).
for i, key in ipairs(KEYS) do
  if ARGV[i] == '' then redis.call('DEL', key) else redis.call('SET', key, ARGV[i]) end
end
local clock = redis.call('TIME')
return tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
"""


def key(poll_id: int) -> str:
    return f"gate:{poll_id}"


@cache
def _script() -> Script:
    return redis_client().register_script(_SET)


def set_gates(states: Mapping[int, str | None]) -> float:
    """Set the polls' gates at once (None removes one); returns Redis's time, in seconds,
    at which the change took effect for the admission script."""
    polls = sorted(states)
    millis = _script()(keys=[key(p) for p in polls], args=[states[p] or "" for p in polls])
    return int(millis) / 1000
