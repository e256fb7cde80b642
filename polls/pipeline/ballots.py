"""Each voter's pending ballot per poll, in Redis: the vote admitted last (the first, where
the poll does not allow changes), from its admission until shortly after the worker has
stored or refused it.

Written by the admission script (polls.pipeline.admission) in the round trip that admits
the vote; settled by the worker after its transaction commits (`settle`); read by the
admission script to refuse, at once, a different second ballot on a poll that does not
allow changes (the stored vote alone would miss one not yet stored).

Read too by the pages and the API (`shown_ballot`, `vote_status`): the page after a vote
shows the vote just cast, marked as being stored until the worker has stored it, never
the one stored before; an API client asks after its vote by vote_id.

One key per (poll, voter), `ballot:<poll id>:<voter key>`, holding
`state|vote id|cast_at|digest` with state `p` (pending), `s` (stored) or `r` (refused;
then `|why` follows). The digest is the ballot itself, its choice ids (or value) joined
by commas (QueuedVote.digest).
A pending ballot lives VOTE_BALLOT_PENDING_SECONDS at most (a backstop: the worker
settles it within moments); a settled one VOTE_BALLOT_SETTLED_SECONDS, long enough that
a web process which read no stored vote just before the commit still finds it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import redis
from django.conf import settings
from redis.client import Pipeline
from redis.commands.core import Script

from polls import selectors
from polls.models import Poll, Vote
from votingsite.redis_client import redis_client

from .message import QueuedVote

logger = logging.getLogger(__name__)

PENDING = "p"
STORED = "s"
REFUSED = "r"

_SETTLE = """
-- KEYS: ballot keys. ARGV: the settled lifetime, then per key the vote id, its new state
-- and why it was refused ('' when stored).
-- Only the voter's current ballot is settled: a newer one admitted meanwhile stays pending.
local ttl = tonumber(ARGV[1])
for i, key in ipairs(KEYS) do
  local vote_id, state, why = ARGV[3 * i - 1], ARGV[3 * i], ARGV[3 * i + 1]
  local held = redis.call('GET', key)
  if held then
    local held_id, cast_at, digest = string.match(held, '^%a|([^|]*)|([^|]*)|([^|]*)')
    if held_id == vote_id then
      local settled = state .. '|' .. held_id .. '|' .. cast_at .. '|' .. digest
      if why ~= '' then settled = settled .. '|' .. why end
      redis.call('SET', key, settled, 'EX', ttl)
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


def settle(
    votes: Sequence[QueuedVote], refused: Mapping[str, str], pipe: Pipeline | None = None
) -> None:
    """Worker side, after the votes' transaction committed: each is stored or refused
    (`refused` maps a refused vote's id to why). Given a pipeline, only adds the script's
    call to it (the caller sends it)."""
    if not votes:
        return
    args: list[str | int] = [settings.VOTE_BALLOT_SETTLED_SECONDS]
    for vote in votes:
        why = refused.get(str(vote.vote_id))
        state = STORED if why is None else REFUSED
        args += [str(vote.vote_id), state, (why or "").replace("|", "/")]
    keys = [key(v.poll_id, v.voter_key) for v in votes]
    if pipe is None:
        _settle_script()(keys=keys, args=args)
    else:
        # A bare EVALSHA: redis-py sends a SCRIPT EXISTS round trip before every pipeline
        # that holds a Script. The caller loads the script on NoScriptError.
        pipe.evalsha(_settle_script().sha, len(keys), *keys, *args)


def load_settle_script() -> None:
    """Load the settle script into Redis (one restarted or flushed has none)."""
    redis_client().script_load(_SETTLE)


@dataclass(frozen=True)
class Held:
    """A voter's pending (or just settled) ballot as Redis holds it."""

    state: str  # PENDING, STORED or REFUSED
    vote_id: str
    ballot: tuple[Any, ...]
    why: str = ""  # why the worker refused it


def read(poll_id: int, voter_key: str) -> Held | None:
    """The voter's ballot record for the poll, if Redis holds one; raises RedisError."""
    raw = redis_client().get(key(poll_id, voter_key))
    if raw is None:
        return None
    text = raw.decode() if isinstance(raw, bytes) else str(raw)
    state, vote_id, _cast_at, digest, *why = text.split("|", 4)
    # QueuedVote.digest: integers joined by commas, else the ballot's canonical JSON.
    if digest.startswith("["):
        ballot = tuple(json.loads(digest))
    else:
        ballot = tuple(int(part) for part in digest.split(",") if part)
    return Held(state, vote_id, ballot, why[0] if why else "")


@dataclass(frozen=True)
class Shown:
    """What a poll's page shows as the voter's vote."""

    ballot: list[int] | None  # the vote just cast, else the stored one
    storing: bool = False  # admitted, not stored yet
    vote_id: str = ""  # of the ballot being stored (the page asks after it)
    refused: str = ""  # the voter's last vote was refused by the worker: why


def shown_ballot(*, poll: Poll, voter_key: str) -> Shown:
    """The voter's vote as the page shows it: the one just cast while it is being stored
    (the pending ballot), the stored one otherwise. Without Redis, the stored one."""
    try:
        held = read(poll.pk, voter_key)
    except redis.RedisError as exc:
        logger.warning("Redis unavailable; showing the stored ballot only: %r", exc)
        held = None
    if held is not None and held.state == PENDING:
        return Shown(list(held.ballot), storing=True, vote_id=held.vote_id)
    stored = selectors.stored_ballot(poll=poll, voter_key=voter_key)
    refused = (held.why or "refused") if held is not None and held.state == REFUSED else ""
    return Shown(stored, refused=refused)


def vote_status(*, poll: Poll, voter_key: str, vote_id: str) -> dict[str, Any] | None:
    """What became of one of the voter's votes: queued (admitted, not stored yet), stored
    (it is the voter's current vote), or refused by the worker (with why, for
    VOTE_BALLOT_SETTLED_SECONDS). None when neither store knows it as the voter's latest:
    replaced by a later vote, its refusal expired, or not this voter's. Raises RedisError
    or DatabaseError when a store cannot say."""
    held = read(poll.pk, voter_key)
    if held is not None and held.vote_id == vote_id:
        if held.state == PENDING:
            return {"vote_id": vote_id, "status": "queued"}
        if held.state == REFUSED:
            return {"vote_id": vote_id, "status": "refused", "reason": held.why or "refused"}
    current = (
        Vote.objects.filter(poll=poll, voter_key=voter_key)
        .values_list("vote_id", flat=True)
        .first()
    )
    if current is not None and str(current) == vote_id:
        return {"vote_id": vote_id, "status": "stored"}
    return None
