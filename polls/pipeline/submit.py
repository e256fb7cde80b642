"""The web side of a vote: check it against the poll's rules and queue it for the worker.

`submit_vote` never writes to Postgres; it returns once the vote is in Redis, or raises a
`VoteError` whose message the voter can be shown. Which HTTP status each error gets is
the views' business (polls.responses).
"""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

from django.conf import settings
from django.utils import timezone

from polls import selectors
from polls.models import Poll
from polls.ratelimits import vote_limits
from polls.voters import is_user_key

from .admission import REFUSED_CHANGE, REFUSED_LATE, Entry
from .message import QueuedVote
from .sender import queue_vote

logger = logging.getLogger(__name__)


class VoteError(Exception):
    """A vote the voter must be told about, with the message to show."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class PollNotOpen(VoteError):
    pass


class UnknownChoice(VoteError):
    pass


class VoteQueueUnavailable(VoteError):
    """Redis did not take the vote: nothing was recorded."""


class TooManyVotes(VoteError):
    def __init__(self, retry_after: int) -> None:
        super().__init__(f"Too many votes from here; try again in {retry_after} seconds.")
        self.retry_after = retry_after


class LoginRequired(VoteError):
    pass


class VoteChangeNotAllowed(VoteError):
    pass


def submit_vote(*, poll: Poll, choice_id: Any, voter_key: str, client_ip: str = "") -> QueuedVote:
    """Check a vote against the poll and its rate limits, and queue it for the worker.

    Returns once the vote is in Redis; raises a VoteError the voter can be shown.
    `poll` must come with its choices prefetched (selectors.poll_for_voting). The limits
    count per voter and, when `client_ip` is given, per address.
    """
    now = timezone.now()
    deadline = time.time() + settings.VOTE_ADMISSION_DEADLINE_SECONDS
    if not poll.is_open_at(now):
        raise PollNotOpen(f"This poll is {poll.state_at(now)}: it does not take votes now.")
    if poll.login_required and not is_user_key(voter_key):
        raise LoginRequired("This poll takes votes from logged-in users only: log in to vote.")
    choice = _as_choice_id(choice_id)
    if choice not in {c.id for c in poll.choices.all()}:
        # The web process's copy of the poll may predate a choice added in the admin.
        poll = selectors.poll_for_voting(slug=poll.slug, fresh=True)
        if choice not in {c.id for c in poll.choices.all()}:
            raise UnknownChoice("That choice is not part of this poll.")
    if not poll.allow_vote_change:
        # Only such polls pay for this read. A ballot admitted but not stored yet is
        # checked by the admission script (the voter's pending ballot); the worker
        # enforces the rule once more.
        stored = selectors.current_choice_id(poll=poll, voter_key=voter_key)
        if stored is not None and stored != choice:
            raise VoteChangeNotAllowed(_NO_CHANGE)
    vote = QueuedVote(uuid.uuid4(), poll.id, choice, voter_key, now)
    entry = Entry(
        vote,
        vote_limits(voter_key=voter_key, client_ip=client_ip),
        allow_change=poll.allow_vote_change,
        deadline=deadline,
    )
    try:
        code = queue_vote(entry, timeout=_answer_within(deadline))
    except Exception as exc:  # any broker failure means the same thing to a voter
        logger.warning("vote %s not queued: %r", vote.vote_id, exc)
        raise VoteQueueUnavailable(_NOT_RECORDED) from exc
    if code == REFUSED_CHANGE:
        raise VoteChangeNotAllowed(_NO_CHANGE)
    if code == REFUSED_LATE:
        logger.warning("vote %s refused by Redis: past its deadline", vote.vote_id)
        raise VoteQueueUnavailable(_NOT_RECORDED)
    if code:
        raise TooManyVotes(code)
    return vote


_NO_CHANGE = "You have already voted in this poll, and it does not allow changing a vote."
_NOT_RECORDED = "Votes cannot be taken right now; nothing was recorded. Please try again shortly."


def _answer_within(deadline: float) -> float:
    """How long to wait for the admission's answer: past the deadline by the clock margin,
    so that Redis (whose clock may lag ours by less than it) has refused the vote by then."""
    return max(0.0, deadline + settings.VOTE_ADMISSION_CLOCK_MARGIN_SECONDS - time.time())


def _as_choice_id(value: Any) -> int:
    # isdecimal() alone admits other scripts' digits ("٣"), isdigit() even "²".
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdecimal():
        return int(value)
    if type(value) is int:
        return value
    raise UnknownChoice("Pick one of the poll's choices (field 'choice', a choice id).")
