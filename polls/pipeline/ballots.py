"""Each voter's pending ballot per poll, in Redis: the vote admitted last (the first, where
the poll does not allow changes), from its admission until shortly after the worker has
stored or refused it.

Written by the admission script (polls.pipeline.admission) in the round trip that admits
the vote; settled by the worker after its transaction commits (`settle`); read by the
admission script to refuse, at once, a different second ballot on a poll that does not
allow changes (the stored vote alone would miss one not yet stored).

One key per (poll, voter), `ballot:<poll id>:<voter key>`, holding
`state|vote id|cast_at|digest` with state `p` (pending), `s` (stored) or `r` (refused).
A pending ballot lives VOTE_BALLOT_PENDING_SECONDS at most (a backstop: the worker
settles it within moments); a settled one VOTE_BALLOT_SETTLED_SECONDS, long enough that
a web process which read no stored vote just before the commit still finds it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cache

from django.conf import settings
from redis.commands.core import Script

from votingsite.redis_client import redis_client

from .message import QueuedVote

STORED = "s"
REFUSED = "r"

_SETTLE = """
-- KEYS: ballot keys. ARGV: the settled lifetime, then per key the vote id and new state.
-- Only the voter's current ballot is settled: a newer one admitted meanwhile stays pending.
local ttl = tonumber(ARGV[1])
for i, key in ipairs(KEYS) do
  local vote_id, state = ARGV[2 * i], ARGV[2 * i + 1]
  local held = redis.call('GET', key)
  if held then
    local held_id, rest = string.match(held, '^%a|([^|]*)|(.*)$')
    if held_id == vote_id then
      redis.call('SET', key, state .. '|' .. held_id .. '|' .. rest, 'EX', ttl)
    end
  end
end
return #KEYS
"""


def key(poll_id: int, voter_key: str) -> str:
    return f"ballot:{poll_id}:{voter_key}"


@cache
def _settle_script() -> Script:
    return redis_client().register_script(_SETTLE)


def settle(votes: Sequence[QueuedVote], refused: Mapping[str, str]) -> None:
    """Worker side, after the votes' transaction committed: each is stored or refused
    (`refused` maps a refused vote's id to why)."""
    if not votes:
        return
    args: list[str | int] = [settings.VOTE_BALLOT_SETTLED_SECONDS]
    for vote in votes:
        args += [str(vote.vote_id), REFUSED if str(vote.vote_id) in refused else STORED]
    _settle_script()(keys=[key(v.poll_id, v.voter_key) for v in votes], args=args)
