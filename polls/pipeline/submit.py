"""The web side of a vote: check it against the poll's rules and queue it for the worker.

`submit_vote` never writes to Postgres; it returns once the vote is in Redis, or raises a
`VoteError` whose message the voter can be shown. Which HTTP status each error gets is
the views' business (polls.responses).
"""

from __future__ import annotations

import dataclasses
import logging
import time
import uuid
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.db import DatabaseError
from django.http import QueryDict
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from polls import kinds, selectors
from polls.counting import receipts
from polls.models import Poll
from polls.ratelimits import vote_limits
from polls.voters import is_user_key

from . import ballots
from .admission import (
    REFUSED_CHANGE,
    REFUSED_CLOSED,
    REFUSED_LATE,
    REFUSED_LOCKED,
    REFUSED_NOT_CURRENT,
    REFUSED_SCHEDULED,
    REFUSED_TIME_UP,
    REFUSED_UNKNOWN_STATE,
    Entry,
)
from .answers import Outcome, after_failure, answer_within
from .message import QueuedVote, canonical_json
from .sender import queue_vote

logger = logging.getLogger(__name__)


class VoteError(Exception):
    """A vote the voter must be told about, with the message to show (in the request's
    language) and a stable `code` for programs (docs/api.md lists them)."""

    code = "vote_refused"
    details: dict[str, str] = {}  # more fields for the API's answer, read-only

    def __init__(self, message: Any) -> None:
        message = str(message)  # a lazy translation, in the language active now
        super().__init__(message)
        self.message = message


class PollNotOpen(VoteError):
    code = "poll_not_open"


class UnknownChoice(VoteError):
    code = "unknown_choice"


class VoteQueueUnavailable(VoteError):
    """Redis did not take the vote: nothing was recorded."""

    code = "votes_unavailable"


class VoteOutcomeUnknown(VoteError):
    """The answer from Redis was lost after the vote was sent, and Redis could not be asked
    whether it holds it: the vote may or may not be recorded. The voter gets its id to ask
    after it (GET /api/polls/<slug>/votes/<vote_id>)."""

    code = "vote_outcome_unknown"

    def __init__(self, vote_id: uuid.UUID) -> None:
        super().__init__(
            _(
                "The connection broke while your vote was being taken, so we cannot tell"
                " whether it was recorded (vote %(vote_id)s). Check in a moment, or vote"
                " again: your last vote is the one that counts."
            )
            % {"vote_id": vote_id}
        )
        self.details = {"vote_id": str(vote_id)}


class TooManyVotes(VoteError):
    code = "too_many_votes"

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            _("Too many votes from here; try again in %(seconds)s seconds.")
            % {"seconds": retry_after}
        )
        self.retry_after = retry_after


class LoginRequired(VoteError):
    code = "login_required"


class VoteChangeNotAllowed(VoteError):
    code = "vote_change_not_allowed"


class VotingLocked(VoteError):
    """The live session holding the poll has locked voting on it."""

    code = "voting_locked"


class NotCurrentPoll(VoteError):
    """The live session holding the poll is on another poll."""

    code = "not_current_poll"


class TimeUp(VoteError):
    """A quiz question's countdown ran out before Redis admitted the answer."""

    code = "time_up"


class InvalidBallot(VoteError):
    """A ballot of the wrong shape for the poll's kind, or against its rules (with the
    kind's own code where it has one: a text entry's, say)."""

    code = "invalid_ballot"

    @classmethod
    def of(cls, problem: kinds.BallotProblem) -> InvalidBallot:
        error = cls(problem.message)
        if problem.code:
            error.code = problem.code
        return error


def submit_vote(
    *,
    poll: Poll,
    voter_key: str,
    client_ip: str = "",
    choice_id: Any = None,
    ballot: Sequence[Any] | None = None,
) -> QueuedVote:
    """Check a ballot against the poll and its rate limits, and queue it for the worker.

    A single-choice vote gives `choice_id`; other kinds give `ballot` (ballot_from_api,
    ballot_from_form). Returns once the vote is in Redis; raises a VoteError the voter
    can be shown. `poll` must come with its choices prefetched (selectors.poll_for_voting).
    The limits count per voter and, when `client_ip` is given, per address.
    """
    now = timezone.now()
    deadline = time.time() + settings.VOTE_ADMISSION_DEADLINE_SECONDS
    # Whether the poll is open is decided by the admission (Redis's copy and clock), not
    # by this process's copy of the poll, which may be seconds old.
    if poll.login_required and not is_user_key(voter_key):
        raise LoginRequired(_("This poll takes votes from logged-in users only: log in to vote."))
    kind = kinds.kind_for(poll)
    poll, checked = _checked(poll, _items(kind, [choice_id] if ballot is None else list(ballot)))
    if not poll.allow_vote_change:
        # Only such polls pay for this read. A ballot admitted but not stored yet is
        # checked by the admission script (the voter's pending ballot); the worker
        # enforces the rule once more.
        try:
            stored = selectors.current_ballot(poll=poll, voter_key=voter_key)
        except DatabaseError as exc:  # the rule cannot be checked: take nothing
            raise VoteQueueUnavailable(_NOT_RECORDED) from exc
        if stored is not None and stored != checked:
            raise VoteChangeNotAllowed(_NO_CHANGE)
    vote = _with_receipt(
        QueuedVote(uuid.uuid4(), poll.id, kind.choice_of(checked), voter_key, now, checked)
    )
    entry = Entry(
        vote,
        vote_limits(voter_key=voter_key, client_ip=client_ip),
        allow_change=poll.allow_vote_change,
        deadline=deadline,
    )
    try:
        code = queue_vote(entry, timeout=answer_within(deadline))
    except Exception as exc:  # never sent, no answer in time, or the answer lost (answers)
        outcome = after_failure(exc, deadline, lambda: _held(vote), what=f"vote {vote.vote_id}")
        if outcome is Outcome.UNKNOWN:
            raise VoteOutcomeUnknown(vote.vote_id) from exc
        if outcome is Outcome.NOT_RECORDED:
            raise VoteQueueUnavailable(_NOT_RECORDED) from exc
        code = 0
    if code == REFUSED_CHANGE:
        raise VoteChangeNotAllowed(_NO_CHANGE)
    if code == REFUSED_LATE:
        logger.warning("vote %s refused by Redis: past its deadline", vote.vote_id)
        raise VoteQueueUnavailable(_NOT_RECORDED)
    if code == REFUSED_UNKNOWN_STATE:
        logger.warning("vote %s refused: Redis holds no state of poll %s", vote.vote_id, poll.pk)
        raise VoteQueueUnavailable(_NOT_RECORDED)
    if code in (REFUSED_CLOSED, REFUSED_SCHEDULED):
        raise PollNotOpen(_NOT_OPEN["closed" if code == REFUSED_CLOSED else "scheduled"])
    _session_refusal(code)
    if code:
        raise TooManyVotes(code)
    return vote


def _held(vote: QueuedVote) -> Outcome:
    """Whether Redis holds the vote whose admission's answer was lost, from the voter's
    ballot key (a RedisError when it cannot be asked)."""
    held = ballots.read(vote.poll_id, vote.voter_key)
    if held is None or held.state == ballots.REFUSED:
        return Outcome.NOT_RECORDED
    if held.vote_id == str(vote.vote_id) or held.ballot == tuple(vote.ballot):
        # Ours, or (a no-change poll keeps the first) the same ballot: what counts is ours.
        return Outcome.ADMITTED
    if held.state == ballots.PENDING:
        # Another ballot of this voter's, admitted since, may have replaced ours.
        return Outcome.UNKNOWN
    return Outcome.NOT_RECORDED


def _session_refusal(code: int) -> None:
    """A live session's refusals: locked, moved on, or (a quiz question) out of time."""
    if code == REFUSED_LOCKED:
        raise VotingLocked(_("Voting on this question is closed for now: nothing was recorded."))
    if code == REFUSED_NOT_CURRENT:
        raise NotCurrentPoll(
            _(
                "The presenter has moved on: this question no longer takes votes."
                " Nothing was recorded."
            )
        )
    if code == REFUSED_TIME_UP:
        raise TimeUp(_("Time is up: this answer came after the countdown. Nothing was recorded."))


def _with_receipt(vote: QueuedVote) -> QueuedVote:
    """The vote with its receipt: computed here, where it is admitted, from the ballot as
    the worker will store it and a fresh nonce (no database read)."""
    nonce = receipts.new_nonce()
    code = receipts.receipt_for(
        vote.poll_id, str(vote.vote_id), canonical_json(list(vote.ballot)), nonce
    )
    return dataclasses.replace(vote, receipt=code, nonce=nonce)


def _items(kind: kinds.Kind, raw: list[Any]) -> list[Any]:
    """The ballot's items as the kind reads them (ids, values), or the VoteError saying why."""
    try:
        return [kind.item(value) for value in raw]
    except kinds.BallotShapeError as problem:
        error = UnknownChoice if problem.unknown_choice else InvalidBallot
        raise error(problem.message) from None


def _checked(poll: Poll, ballot: list[Any]) -> tuple[Poll, tuple[Any, ...]]:
    """The poll (read again if its copy lacked a choice) and the ballot as stored."""
    try:
        return poll, kinds.normalise(poll, [c.id for c in poll.choices.all()], ballot)
    except kinds.BallotProblem as problem:
        if not problem.unknown_choice:
            raise InvalidBallot.of(problem) from None
    # The web process's copy of the poll may predate a choice added in the admin.
    poll = selectors.poll_for_voting(slug=poll.slug, fresh=True)
    try:
        return poll, kinds.normalise(poll, [c.id for c in poll.choices.all()], ballot)
    except kinds.BallotProblem as problem:
        if problem.unknown_choice:
            raise UnknownChoice(problem.message) from None
        raise InvalidBallot.of(problem) from None


def ballot_from_api(poll: Poll, body: dict[str, Any]) -> dict[str, Any]:
    """submit_vote's ballot arguments from a JSON body, or InvalidBallot naming the shape."""
    kind = kinds.kind_for(poll)
    # The body is the kind's one field, as the OpenAPI document says (additionalProperties:
    # false): another field too is a body of another shape, refused, never ignored.
    if kind.api_field not in body or len(body) > 1:
        raise InvalidBallot(kind.missing_field())
    try:
        return {"ballot": kind.from_api(body)}
    except kinds.BallotShapeError as problem:
        raise InvalidBallot(problem.message) from None


def ballot_from_form(poll: Poll, data: QueryDict) -> dict[str, Any]:
    """submit_vote's ballot arguments from the voting page's form (no JavaScript needed)."""
    try:
        return {"ballot": kinds.kind_for(poll).from_form(poll, data)}
    except kinds.BallotShapeError as problem:
        raise InvalidBallot(problem.message) from None


_NO_CHANGE = gettext_lazy(
    "You have already voted in this poll, and it does not allow changing a vote."
)
_NOT_RECORDED = gettext_lazy(
    "Votes cannot be taken right now; nothing was recorded. Please try again shortly."
)
_NOT_OPEN = {
    "closed": gettext_lazy("This poll is closed: it does not take votes now."),
    "scheduled": gettext_lazy("This poll is scheduled: it does not take votes now."),
}
