"""Admitting a Q&A action (a question, an upvote) in one round trip to Redis, as a vote is
admitted (polls.pipeline.admission), with a script of its own:

  1. refuses it, writing nothing, past its deadline (Redis's clock), when Redis holds no
     copy of its board's state (503 until polls.qna writes it again), or when that copy
     says the board does not take it now (off or archived; asking or upvoting closed);
  2. counts it against its rate limits (fixed windows, each counter expiring with its
     window);
  3. admits it: stamps Redis's time into its message, enters it in the Q&A ledger
     (`qna:pending`, below), pushes its Celery message (`polls.record_qna`) onto the
     votes' queue, and marks it admitted (`qna:admitted:<action id>`, below). Admitted, it
     is in Redis to stay: queued, or in the ledger.

The board's copy, `qna:admit:<board id>`, is `version|enabled|asking|upvoting` (1 or 0),
written compare-and-set on the version (a late write changes nothing); no TTL, one per
board (bounded by the boards' table), deleted with the board. The ledger holds each
admitted action until the worker has stored it; the worker's sweeper queues again those
the queue passed by more than VOTE_LEDGER_GRACE_SECONDS, as the votes' ledger does
(`qna:handled-upto`: the newest admission handled; a duplicate is harmless: storing is
idempotent). By the clock instead, a worker more than the grace behind was handed its
backlog again, 1,000 actions every sweep (at the benchmark's full size, 12,652 of its
20,000 actions queued twice).

When the script's answer is lost (polls.pipeline.answers), the web side asks `held`: the
mark says whether the script admitted the action. It lives until the action's deadline
plus the clock margin plus MARK_SLACK_SECONDS, long enough for that look: at most the
actions admitted in the last ~35 s (a few MB at the benchmark's rate).
"""

from __future__ import annotations

import hashlib
import logging
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import redis
from django.conf import settings
from redis.commands.core import Script

from polls.ratelimits import Limit, parse_rate
from votingsite.redis_client import redis_client

from . import answers, ledger
from . import message as task_message
from .qna_message import ASK, TASK_NAME, QnaAction, member

logger = logging.getLogger(__name__)

PENDING_KEY = "qna:pending"
# The newest admission time a worker has handled ("upto", s) and when ("at"): one key of
# two members, no TTL (as the votes' votes:handled-upto).
HANDLED_UPTO_KEY = "qna:handled-upto"
# How long an action's admitted mark outlives its deadline and the clock margin: the web
# side looks right after those, so this covers a slow look and Redis's clock lagging.
MARK_SLACK_SECONDS = 30

# What the script answers besides 0 (admitted) and N > 0 (wait N seconds).
REFUSED_UNKNOWN_STATE = -1  # no copy of the board's state: nothing written
REFUSED_LATE = -2  # run after the action's deadline: nothing written
REFUSED_BOARD_CLOSED = -3  # the board is off or archived
REFUSED_ASKING_CLOSED = -4  # the board takes no new questions
REFUSED_UPVOTING_CLOSED = -5  # the board takes no upvotes

_ADMIT = """
-- KEYS: the queue, the ledger, the board's copy, the action's admitted mark, then per
-- counter its key.
-- ARGV: kind ('ask'|'upvote'), the queue message, the ledger member, the deadline (ms),
-- the mark's life past the deadline (ms), then per counter its limit and the seconds
-- left in its window.
-- Returns {code, Redis's time in ms}.
local clock = redis.call('TIME')
local now_ms = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
if now_ms > tonumber(ARGV[4]) then return {-2, now_ms} end
local copy = redis.call('GET', KEYS[3])
if not copy then return {-1, now_ms} end
local ver, enabled, asking, upvoting = string.match(copy, '^(%d+)|(%d)|(%d)|(%d)$')
if enabled ~= '1' then return {-3, now_ms} end
if ARGV[1] == 'ask' and asking ~= '1' then return {-4, now_ms} end
if ARGV[1] ~= 'ask' and upvoting ~= '1' then return {-5, now_ms} end
local code, a = 0, 6
for k = 5, #KEYS do
  local count = redis.call('INCR', KEYS[k])
  if count == 1 then redis.call('EXPIRE', KEYS[k], ARGV[a + 1]) end
  if count > tonumber(ARGV[a]) then code = math.max(code, redis.call('TTL', KEYS[k]), 1) end
  a = a + 2
end
if code ~= 0 then return {code, now_ms} end
local stamp = tostring(now_ms)
local function stamped(text)
  return (string.gsub(text, '\\\\?"@t@\\\\?"', stamp))
end
redis.call('ZADD', KEYS[2], now_ms / 1000, stamped(ARGV[3]))
redis.call('LPUSH', KEYS[1], stamped(ARGV[2]))
redis.call('SET', KEYS[4], '1', 'PX', tonumber(ARGV[4]) + tonumber(ARGV[5]) - now_ms)
return {0, now_ms}
"""

# Compare-and-set of a board's copy: kept only when not older than the one held.
_WRITE = """
local held = redis.call('GET', KEYS[1])
if held then
  local version = tonumber(string.match(held, '^(%d+)|'))
  if version and version > tonumber(ARGV[1]) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[2])
return 1
"""


# The votes' admission client (no retry; the deadline plus the margin to answer).
_client = answers.admission_client


@cache
def _script() -> Script:
    return _client().register_script(_ADMIT)


@cache
def _write_script() -> Script:
    return redis_client().register_script(_WRITE)


def key(board_id: int) -> str:
    return f"qna:admit:{board_id}"


def mark_key(action_id: uuid.UUID) -> str:
    return f"qna:admitted:{action_id}"


def held(action_id: uuid.UUID) -> answers.Outcome:
    """Whether Redis admitted the action (its mark; a RedisError when it cannot be asked)."""
    found = redis_client().exists(mark_key(action_id))
    return answers.Outcome.ADMITTED if found else answers.Outcome.NOT_RECORDED


@dataclass(frozen=True)
class BoardCopy:
    version: int
    enabled: bool
    asking: bool
    upvoting: bool

    def text(self) -> str:
        flags = (int(self.enabled), int(self.asking), int(self.upvoting))
        return f"{self.version}|{flags[0]}|{flags[1]}|{flags[2]}"


def write_copy(board_id: int, copy: BoardCopy) -> bool:
    """Write Redis's copy of a board's state unless Redis holds a newer one."""
    return bool(_write_script()(keys=[key(board_id)], args=[copy.version, copy.text()]))


def forget_copy(board_id: int) -> None:
    redis_client().delete(key(board_id))


def admit_and_queue(action: QnaAction, limits: Sequence[Limit], deadline: float) -> tuple[int, int]:
    """Admit one action and queue it: (0 or N > 0 seconds to wait or a REFUSED_* code,
    Redis's time in ms). Raises as the votes' admission does (polls.pipeline.answers):
    AdmissionUnreached when nothing was sent, redis.TimeoutError when no answer came by the
    deadline plus the margin, another RedisError when the answer may have been lost."""
    now = int(time.time())
    admission = action.to_admission_message()
    try:
        body = task_message.build([admission], task_name=TASK_NAME)
    except redis.RedisError as exc:  # its first build connects: nothing was sent
        raise answers.AdmissionUnreached(f"Redis not reached: {exc!r}") from exc
    keys = [task_message.queue_name(), PENDING_KEY, key(action.board_id), mark_key(action.id)]
    margin = settings.VOTE_ADMISSION_CLOCK_MARGIN_SECONDS + MARK_SLACK_SECONDS
    args: list[str | int] = [
        ASK if action.kind == ASK else "upvote",
        body,
        member(admission),
        int(deadline * 1000),
        int(margin * 1000),
    ]
    for limit in limits if settings.RATELIMIT_ENABLE else []:
        count, period = parse_rate(limit.rate)
        window_end = (now // period + 1) * period
        digest = hashlib.sha256(limit.value.encode()).hexdigest()[:32]
        keys.append(f"rl:qna-{limit.name}:{period}:{window_end}:{digest}")
        args += [count, window_end - now + 1]
    answers.reach(_client())
    code, admitted_ms = (int(item) for item in _script()(keys=keys, args=args))
    return code, admitted_ms


# --- The worker's side of the ledger -----------------------------------------------


def mark_handled(actions: Sequence[QnaAction]) -> None:
    """After the actions' transaction committed (stored or dropped): off the ledger, and the
    handled mark moved up to the newest admission among them."""
    if not actions:
        return
    admitted = [a.admitted_ms for a in actions if a.admitted_ms is not None]
    ledger.strike_off(
        [member(a.to_message()) for a in actions],
        max(admitted) / 1000 if admitted else None,
        pending=PENDING_KEY,
        handled=HANDLED_UPTO_KEY,
    )


def passed_over(now: float | None = None) -> list[str]:
    """Pending actions the queue has moved past by more than the grace, as for votes: by
    how far the workers got, not by the clock, so a worker that is behind is not handed
    its backlog a second time."""
    return ledger.passed_over(now, pending=PENDING_KEY, handled=HANDLED_UPTO_KEY)


def sweep(requeue: Callable[[list[dict[str, Any]]], None], now: float | None = None) -> int:
    """Queue again the actions the queue passed over and still not stored."""
    return ledger.sweep(
        requeue, now, pending=PENDING_KEY, handled=HANDLED_UPTO_KEY, what="Q&A actions"
    )
