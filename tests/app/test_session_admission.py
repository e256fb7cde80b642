"""Admission under a live session (polls.pipeline.admission on real Redis): a poll its
session holds closed refuses a vote writing nothing, and a session's own rate is counted
in the windows of the usual rate. Each test here is a specification a surviving mutant
broke (docs/testing.md, "Mutation testing").
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.utils import timezone

from polls import gates, ratelimits
from polls.pipeline import admission, ledger
from polls.pipeline.message import QueuedVote

SESSION_POLL = 900_001  # no real poll of the run has this id: its gate is these tests' own


@pytest.fixture
def session_holds(redis_client: Any, own_queue: str) -> Iterator[Callable[[str], float]]:
    """Set Redis's copy of SESSION_POLL's state, open and in no session until a test says
    otherwise (removed afterwards, with the counters)."""
    versions = iter(range(1, 100))
    hold = lambda state: gates.write({SESSION_POLL: gates.Gate(next(versions), state)})  # noqa: E731
    hold(gates.OPEN)
    yield hold
    redis_client.delete(gates.key(SESSION_POLL))
    redis_client.delete(*redis_client.keys("rl:*") or ["rl:none"])  # as test_admission does


def session_vote(voter: str) -> QueuedVote:
    return QueuedVote(uuid.uuid4(), SESSION_POLL, 2, f"anon:{voter}", timezone.now())


def admitted(voter: str, limit: ratelimits.Limit, times: int) -> list[int]:
    """Admit `times` votes of one voter, each in a round trip of its own."""
    return [
        admission.admit_and_queue([admission.Entry(session_vote(voter), [limit])])[0]
        for _ in range(times)
    ]


@pytest.mark.parametrize(
    ("state", "code"),
    [(gates.LOCKED, admission.REFUSED_LOCKED), (gates.WAITING, admission.REFUSED_NOT_CURRENT)],
)
def test_a_vote_on_a_poll_its_live_session_holds_closed_is_refused_writing_nothing(
    redis_client, own_queue, session_holds, state, code
) -> None:
    session_holds(state)
    vote = session_vote(f"session-{uuid.uuid4().hex}")
    assert admission.admit_and_queue([admission.Entry(vote, [])]) == [code]
    assert redis_client.llen(own_queue) == 0
    assert redis_client.zscore(ledger.PENDING_KEY, ledger.member(vote)) is None


def test_while_a_live_session_holds_the_poll_a_limit_without_a_session_rate_still_counts(
    session_holds,
) -> None:
    session_holds(gates.SESSION_OPEN)
    limit = ratelimits.Limit("voter", f"anon:session-{uuid.uuid4().hex}", "1/h")
    first, second = admitted(limit.value.removeprefix("anon:"), limit, 2)
    assert first == 0
    assert second > 0


@pytest.mark.parametrize(
    ("rate", "in_session", "allowed"),
    [
        # Day-long windows: a test never straddles two.
        ("1/d", "2/d", 2),
        ("5/d", "1/2d", 1),  # less than one a window still lets one through
    ],
)
def test_a_session_rate_is_counted_in_the_windows_of_the_usual_rate(
    session_holds, rate, in_session, allowed
) -> None:
    session_holds(gates.SESSION_OPEN)
    voter = f"session-{uuid.uuid4().hex}"
    limit = ratelimits.Limit("voter", f"anon:{voter}", rate, in_session=in_session)
    codes = admitted(voter, limit, allowed + 1)
    assert codes[:allowed] == [0] * allowed
    assert codes[allowed] > 0  # waits for the window's end


def test_a_voter_over_the_limit_is_told_to_wait_until_the_window_ends(session_holds) -> None:
    voter = f"session-{uuid.uuid4().hex}"
    limit = ratelimits.Limit("voter", f"anon:{voter}", "1/h")
    _, wait = admitted(voter, limit, 2)
    now = int(time.time())
    window_end = (now // 3600 + 1) * 3600  # fixed windows: on the hour
    assert wait >= window_end - now
    assert wait <= window_end - now + 2
