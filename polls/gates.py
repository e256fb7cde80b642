"""Redis's copy of whether each poll admits votes, where the admission script reads it.

`admit:<poll id>` holds `version|state|opens_ms|closes_ms`: the poll's admission version
(polls.models.AdmissionChange's id: from a Postgres sequence, never reused), its state
(`o` open within the schedule; `c` closed; in a live session `s` its current poll, open,
`l` locked, `w` waiting: not the current poll) and the schedule in milliseconds ('' for
none). Writes are compare-and-set on the version: an older version never overwrites a
newer one, so a late write of a superseded change does nothing. Postgres holds the decision
(polls.openness writes both); a missing copy makes the admission refuse with "not
recorded". One key per poll, deleted with the poll: bounded by the polls table.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache

import redis
from django.conf import settings
from redis.backoff import NoBackoff
from redis.commands.core import Script
from redis.retry import Retry

OPEN = "o"
SESSION_OPEN = "s"
CLOSED = "c"
LOCKED = "l"
WAITING = "w"

_WRITE = """
-- KEYS: copy keys. ARGV: per key its new value, 'version|state|opens|closes'. A value
-- is written only over an older or equal version. A countdown's value
-- 'version|state|@|limit' opens now, on Redis's clock, until now + limit; over its own
-- version already held it changes nothing (a second write never restarts the clock).
-- Returns Redis's clock (ms): the opening time of the countdowns written.
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
for i, key in ipairs(KEYS) do
  local new = ARGV[i]
  local held = redis.call('GET', key)
  local held_version = held and tonumber(string.match(held, '^(%d+)|')) or -1
  local version = tonumber(string.match(new, '^(%d+)|'))
  local head, limit = string.match(new, '^(%d+|%a)|@|(%d+)$')
  if head then
    if version > held_version then
      redis.call('SET', key, head .. '|' .. now .. '|' .. (now + tonumber(limit)))
    end
  elseif version >= held_version then
    redis.call('SET', key, new)
  end
end
return now
"""


@dataclass(frozen=True)
class Gate:
    """A poll's admission state under one version."""

    version: int
    state: str
    opens_ms: int | None = None
    closes_ms: int | None = None
    # A countdown not yet opened: the write opens it for this long on Redis's clock.
    limit_ms: int | None = None

    @property
    def refusing(self) -> bool:
        """Whether it admits nothing: written before its change commits, the others after."""
        return self.state not in (OPEN, SESSION_OPEN)

    def encode(self) -> str:
        def ms(value: int | None) -> str:
            return "" if value is None else str(value)

        if self.limit_ms is not None and self.opens_ms is None:
            return f"{self.version}|{self.state}|@|{self.limit_ms}"
        return f"{self.version}|{self.state}|{ms(self.opens_ms)}|{ms(self.closes_ms)}"

    @classmethod
    def decode(cls, raw: bytes | str) -> Gate:
        text = raw.decode() if isinstance(raw, bytes) else raw
        version, state, opens, closes = text.split("|")
        return cls(
            int(version), state, int(opens) if opens else None, int(closes) if closes else None
        )


def key(poll_id: int) -> str:
    return f"admit:{poll_id}"


@cache
def _client() -> redis.Redis:
    # Not retried: a change waits at most this long for Redis, then rolls back (a late
    # write is compare-and-set, and the reconciler restates what rolled back).
    return redis.Redis.from_url(
        settings.REDIS_URL, socket_timeout=3, socket_connect_timeout=2, retry=Retry(NoBackoff(), 0)
    )


@cache
def _script() -> Script:
    return _client().register_script(_WRITE)


def write(gates: Mapping[int, Gate]) -> float:
    """Write the polls' copies at once (compare-and-set on each version); returns Redis's
    time, in seconds, at which they took effect for the admission script."""
    return write_ms(gates) / 1000


def write_ms(gates: Mapping[int, Gate]) -> int:
    """`write`, Redis's time in integer milliseconds: a countdown's opening time."""
    polls = sorted(gates)
    millis = _script()(keys=[key(p) for p in polls], args=[gates[p].encode() for p in polls])
    return int(millis)


def read(poll_ids: Iterable[int]) -> dict[int, Gate | None]:
    """The copies of these polls as Redis holds them now (None where there is none)."""
    ids = list(poll_ids)
    if not ids:
        return {}
    raw = _client().mget([key(p) for p in ids])
    return {p: None if r is None else Gate.decode(r) for p, r in zip(ids, raw, strict=True)}


def forget(poll_id: int) -> None:
    """The poll is gone: so is its copy (its votes are refused as for an unknown poll)."""
    _client().delete(key(poll_id))


def clock_ms() -> int:
    """Redis's clock now (ms since the epoch): the one countdowns run on."""
    seconds, micros = _client().time()
    return int(seconds) * 1000 + int(micros) // 1000
