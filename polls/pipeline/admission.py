"""Admitting votes, in one round trip to Redis per group of votes.

One Lua script, run atomically by Redis, takes each vote in turn and
  1. refuses it, writing nothing, when Redis's own clock says its deadline has passed:
     the web side has told (or will tell) its voter "nothing was recorded"; when its
     poll's admission copy (polls.gates) is missing (Redis lost it: "not recorded" until
     the reconciler rewrites it); or when that copy, read against Redis's clock, says the
     poll does not admit votes now (closed, scheduled, locked or not its live session's
     current poll);
  2. on a poll that does not allow changes, refuses a ballot that differs from the
     voter's pending or just-stored one (polls.pipeline.ballots);
  3. counts it against its rate limits (fixed windows: each counter key names its
     window and expires when the window ends);
  4. admits it: stamps its message with Redis's time and the poll version it was
     admitted under (polls.pipeline.message's placeholders), enters it in the ledger
     (polls.pipeline.ledger), records it as the voter's pending ballot, and, once every
     vote of the group is admitted, pushes the group's Celery message onto the queue.
When only some of a group are admitted, the caller pushes a message for those; until it
lands (or if it never does), their ledger entries have them queued again. An admitted
vote is therefore in Redis to stay: queued, or in the ledger that re-queues it.

Written here rather than with django-ratelimit (which guards the admin login): it costs
two round trips per counter, and a vote is the hot path. Which limits a vote counts
against is polls.ratelimits' business.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

import redis
from django.conf import settings
from redis.commands.core import Script

from polls import gates
from polls.ratelimits import Limit, parse_rate

from . import answers, ballots, ledger
from . import message as task_message
from .answers import AdmissionUnreached
from .message import QueuedVote

logger = logging.getLogger(__name__)

# What the script answers for a vote besides 0 (admitted) and N > 0 (wait N seconds).
REFUSED_CHANGE = -1  # a different ballot of this voter is pending or was just stored
REFUSED_LATE = -2  # Redis ran the script after the vote's deadline: nothing written
REFUSED_LOCKED = -3  # its live session has locked voting on the poll
REFUSED_NOT_CURRENT = -4  # its live session has moved on to another poll
REFUSED_UNKNOWN_STATE = -5  # Redis holds no copy of the poll's state: nothing written
REFUSED_CLOSED = -6  # the poll is closed (or past its closing time)
REFUSED_SCHEDULED = -7  # the poll opens later
REFUSED_TIME_UP = -8  # its live session's countdown (a quiz question) has run out

_ADMIT = """
-- KEYS: the queue, the ledger, then per vote its ballot key, its poll's admission copy
-- and counters.
-- ARGV: the number of votes, the queue message carrying all of them, the pending ballot's
-- lifetime, then per vote: its number of counters, ledger member, cast_at (score),
-- allow-change flag, vote id, ballot digest, deadline (ms since the epoch), then per
-- counter its limit, the seconds left in its window, and its limit while a live session
-- holds the poll ('' for the same). Each counter has two keys: the usual one, and the
-- one counting votes in a live session.
-- Returns Redis's time (ms), then per vote its code and the poll version it met.
local queue, pending = KEYS[1], KEYS[2]
local votes, message, ballot_ttl = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3])
local clock = redis.call('TIME')
local now_ms = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local k, a = 3, 4
local answer, stamps, admitted = {now_ms}, {t = tostring(now_ms)}, 0
-- The placeholders "@t@" and "@v<n>@" (quoted, or quoted inside a JSON string) become
-- the admission time and vote n's poll version: numbers in the JSON.
local function stamped(text)
  return (string.gsub(text, '\\\\?"@([tv]%d*)@\\\\?"', stamps))
end
for v = 1, votes do
  local ballot, copy = KEYS[k], redis.call('GET', KEYS[k + 1])
  local counters, member, cast_at = tonumber(ARGV[a]), ARGV[a + 1], ARGV[a + 2]
  local score = tonumber(cast_at)
  local allow_change, vote_id = ARGV[a + 3] == '1', ARGV[a + 4]
  local digest, deadline = ARGV[a + 5], tonumber(ARGV[a + 6])
  k, a = k + 2, a + 7
  local code, held, version, session = 0, nil, 0, false
  if now_ms > deadline then
    code = -2
  elseif not copy then
    code = -5
  else
    local ver, state, opens, closes = string.match(copy, '^(%d+)|(%a)|(%d*)|(%d*)$')
    version = tonumber(ver)
    session = state ~= 'c' and state ~= 'o'
    if state == 'l' then
      code = -3
    elseif state == 'w' then
      code = -4
    elseif state == 's' and closes ~= '' and now_ms >= tonumber(closes) then
      code = -8
    elseif (state ~= 'o' and state ~= 's') or (closes ~= '' and now_ms >= tonumber(closes)) then
      code = -6
    elseif opens ~= '' and now_ms < tonumber(opens) then
      code = -7
    end
  end
  stamps['v' .. v] = tostring(version)
  if code == 0 then
    held = redis.call('GET', ballot)
    if held and not allow_change then
      -- state|vote id|cast_at|digest; a refused ballot holds nothing back
      local state, held_digest = string.match(held, '^(%a)|[^|]*|[^|]*|(.*)$')
      if state ~= 'r' and held_digest ~= digest then code = -1 end
    end
  end
  if code == 0 then
    for c = 1, counters do
      -- A live session's votes count in a counter of their own, against its own limit.
      local counter, limit = KEYS[k], tonumber(ARGV[a])
      if session and ARGV[a + 2] ~= '' then counter, limit = KEYS[k + 1], tonumber(ARGV[a + 2]) end
      local count = redis.call('INCR', counter)
      if count == 1 then redis.call('EXPIRE', counter, ARGV[a + 1]) end
      if count > limit then
        code = math.max(code, redis.call('TTL', counter), 1)
      end
      k, a = k + 2, a + 3
    end
  else
    k, a = k + 2 * counters, a + 3 * counters
  end
  if code == 0 then
    redis.call('ZADD', pending, score, stamped(member))
    admitted = admitted + 1
    -- The voter's ballot: the one cast last where changes are allowed, else the first.
    local keep = false
    if held then
      local state, held_id, held_score = string.match(held, '^(%a)|([^|]*)|([^|]*)|')
      if state ~= 'r' then
        if allow_change then
          held_score = tonumber(held_score)
          keep = held_score > score or (held_score == score and held_id > vote_id)
        else
          keep = true
        end
      end
    end
    if not keep then
      redis.call('SET', ballot, 'p|' .. vote_id .. '|' .. cast_at .. '|' .. digest,
        'EX', ballot_ttl)
    end
  end
  answer[2 * v] = code
  answer[2 * v + 1] = version
end
if admitted == votes then redis.call('LPUSH', queue, stamped(message)) end
return answer
"""


# The admission client (no retry; the deadline plus the margin to answer), shared with
# the Q&A actions' admission; named here so that tests can put another in its place.
_client = answers.admission_client


@cache
def _script() -> Script:
    return _client().register_script(_ADMIT)


@dataclass(frozen=True)
class Entry:
    """A vote to admit: its limits, the poll's change rule, and when it must be in by."""

    vote: QueuedVote
    limits: Sequence[Limit]
    allow_change: bool = True
    deadline: float = float("inf")  # seconds since the epoch


def _scaled(rate: str, period: int) -> str:
    """A rate's count over `period` seconds (the counter's window), '' for none."""
    if not rate:
        return ""
    count, seconds = parse_rate(rate)
    return str(max(1, round(count * period / seconds)))


def admit_and_queue(entries: Sequence[Entry]) -> list[int]:
    """Admit each vote and queue, as one message, those admitted.

    Returns per entry 0 when its vote is admitted (in Redis to stay), N > 0 the seconds
    until its exceeded window ends, or a REFUSED_* code. Raises AdmissionUnreached when
    Redis could not be reached (nothing admitted), redis.TimeoutError when no answer came
    by the deadlines plus the margin (a Redis that had not run the script by then refuses
    the votes as late when it does), another redis.RedisError when the connection broke
    after the script was sent: then it may have run, or not (polls.pipeline.submit looks).
    """
    now = int(time.time())
    messages = [e.vote.to_admission_message(n) for n, e in enumerate(entries, start=1)]
    try:
        body = task_message.build(messages)
    except redis.RedisError as exc:  # its first build connects: nothing was sent
        raise AdmissionUnreached(f"Redis not reached: {exc!r}") from exc
    keys: list[str] = [task_message.queue_name(), ledger.PENDING_KEY]
    args: list[str | int | float] = [len(entries), body, settings.VOTE_BALLOT_PENDING_SECONDS]
    for entry, vote_message in zip(entries, messages, strict=True):
        limits = entry.limits if settings.RATELIMIT_ENABLE else []
        vote = entry.vote
        keys += [ballots.key(vote.poll_id, vote.voter_key), gates.key(vote.poll_id)]
        args += [
            len(limits),
            ledger.message_member(vote_message),
            repr(vote.cast_at.timestamp()),
            int(entry.allow_change),
            str(vote.vote_id),
            vote.digest,
            int(min(entry.deadline, 2**53 / 1000) * 1000),
        ]
        for limit in limits:
            count, period = parse_rate(limit.rate)
            window_end = (now // period + 1) * period
            digest = hashlib.sha256(limit.value.encode()).hexdigest()[:32]
            counter = f"rl:vote-{limit.name}:{period}:{window_end}:{digest}"
            keys += [counter, counter + ":session"]
            args += [count, window_end - now + 1, _scaled(limit.in_session, period)]
    answers.reach(_client())
    answer = [int(item) for item in _script()(keys=keys, args=args)]
    admitted_ms, codes = answer[0], answer[1::2]
    versions = dict(enumerate(answer[2::2], start=1))
    admitted = [i for i, code in enumerate(codes) if code == 0]
    if admitted and len(admitted) < len(entries):
        # The rest of the group still goes, in a message of its own. If this push fails
        # they stay admitted all the same: their ledger entries have them queued again.
        try:
            rest = task_message.build_stamped(
                [messages[i] for i in admitted], admitted_ms, versions=versions
            )
            _client().lpush(task_message.queue_name(), rest)
        except redis.RedisError as exc:
            logger.warning("%d admitted votes left to the ledger to queue: %r", len(admitted), exc)
    return codes
