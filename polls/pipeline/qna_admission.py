"""Admitting Q&A actions (questions, upvotes) in one round trip to Redis per group, as
votes are admitted (polls.pipeline.admission, grouped by polls.pipeline.sender), with a
script of its own that takes each action in turn and

  1. refuses it, writing nothing, past its deadline (Redis's clock), when Redis holds no
     copy of its board's state (503 until polls.qna writes it again), or when that copy
     says the board does not take it now (off or archived; asking or upvoting closed);
  2. counts it against its rate limits (fixed windows, each counter expiring with its
     window);
  3. admits it: stamps Redis's time into its message, enters it in the Q&A ledger
     (`qna:pending`, below) and marks it admitted (`qna:admitted:<action id>`, below);
     once every action of the group is admitted, it pushes the group's Celery message
     (`polls.record_qna`) onto the votes' queue (when only some are, the caller pushes a
     message for those). Admitted, an action is in Redis to stay: queued, or in the
     ledger.

One action per message held the worker to about 300 actions a second (kombu takes a
message per round trip): at the benchmark's full size it fell 18 s behind.

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
-- KEYS: the queue, the ledger, then per action its board's copy, its admitted mark and
-- its counters.
-- ARGV: the number of actions, the queue message carrying all of them, then per action:
-- its kind ('ask'|'upvote'), ledger member, deadline (ms), the mark's life past the
-- deadline (ms) and number of counters, then per counter its limit and the seconds left
-- in its window.
-- Returns Redis's time in ms, then per action its code.
local queue, pending = KEYS[1], KEYS[2]
local actions, message = tonumber(ARGV[1]), ARGV[2]
local clock = redis.call('TIME')
local now_ms = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local stamp = tostring(now_ms)
local function stamped(text)
  return (string.gsub(text, '\\\\?"@t@\\\\?"', stamp))
end
local answer, admitted, k, a = {now_ms}, 0, 3, 3
for n = 1, actions do
  local board, mark = KEYS[k], KEYS[k + 1]
  local kind, member, deadline = ARGV[a], ARGV[a + 1], tonumber(ARGV[a + 2])
  local life, counters = tonumber(ARGV[a + 3]), tonumber(ARGV[a + 4])
  k, a = k + 2, a + 5
  local code = 0
  if now_ms > deadline then
    code = -2
  else
    local copy = redis.call('GET', board)
    if not copy then
      code = -1
    else
      local ver, enabled, asking, upvoting = string.match(copy, '^(%d+)|(%d)|(%d)|(%d)$')
      if enabled ~= '1' then
        code = -3
      elseif kind == 'ask' and asking ~= '1' then
        code = -4
      elseif kind ~= 'ask' and upvoting ~= '1' then
        code = -5
      end
    end
  end
  if code == 0 then
    for c = 1, counters do
      local count = redis.call('INCR', KEYS[k])
      if count == 1 then redis.call('EXPIRE', KEYS[k], ARGV[a + 1]) end
      if count > tonumber(ARGV[a]) then code = math.max(code, redis.call('TTL', KEYS[k]), 1) end
      k, a = k + 1, a + 2
    end
  else
    k, a = k + counters, a + 2 * counters
  end
  if code == 0 then
    redis.call('ZADD', pending, now_ms / 1000, stamped(member))
    redis.call('SET', mark, '1', 'PX', deadline + life - now_ms)
    admitted = admitted + 1
  end
  answer[n + 1] = code
end
if admitted == actions then redis.call('LPUSH', queue, stamped(message)) end
return answer
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


@dataclass(frozen=True)
class QnaEntry:
    """An action to admit: the limits it counts against, and when it must be in by."""

    action: QnaAction
    limits: Sequence[Limit]
    deadline: float  # seconds since the epoch


def admit_and_queue(entries: Sequence[QnaEntry]) -> list[int]:
    """Admit each action and queue, as one message, those admitted: per entry 0, N > 0
    seconds to wait, or a REFUSED_* code. Raises as the votes' admission does
    (polls.pipeline.answers): AdmissionUnreached when nothing was sent, redis.TimeoutError
    when no answer came by the deadline plus the margin, another RedisError when the
    answer may have been lost."""
    now = int(time.time())
    messages = [entry.action.to_admission_message() for entry in entries]
    try:
        body = task_message.build(messages, task_name=TASK_NAME)
    except redis.RedisError as exc:  # its first build connects: nothing was sent
        raise answers.AdmissionUnreached(f"Redis not reached: {exc!r}") from exc
    life = int((settings.VOTE_ADMISSION_CLOCK_MARGIN_SECONDS + MARK_SLACK_SECONDS) * 1000)
    keys = [task_message.queue_name(), PENDING_KEY]
    args: list[str | int] = [len(entries), body]
    for entry, admission in zip(entries, messages, strict=True):
        action = entry.action
        limits = entry.limits if settings.RATELIMIT_ENABLE else []
        keys += [key(action.board_id), mark_key(action.id)]
        args += [
            ASK if action.kind == ASK else "upvote",
            member(admission),
            int(entry.deadline * 1000),
            life,
            len(limits),
        ]
        for limit in limits:
            count, period = parse_rate(limit.rate)
            window_end = (now // period + 1) * period
            digest = hashlib.sha256(limit.value.encode()).hexdigest()[:32]
            keys.append(f"rl:qna-{limit.name}:{period}:{window_end}:{digest}")
            args += [count, window_end - now + 1]
    answers.reach(_client())
    answer = [int(item) for item in _script()(keys=keys, args=args)]
    admitted_ms, codes = answer[0], answer[1:]
    admitted = [messages[i] for i, code in enumerate(codes) if code == 0]
    if admitted and len(admitted) < len(entries):
        # The rest of the group goes in a message of its own; if that push fails, the
        # ledger has them queued again.
        try:
            rest = task_message.build_stamped(admitted, admitted_ms, task_name=TASK_NAME)
            _client().lpush(task_message.queue_name(), rest)
        except redis.RedisError as exc:
            logger.warning("%d admitted Q&A actions left to the ledger: %r", len(admitted), exc)
    return codes


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
