"""The vote rules, in one place: taking a vote on the web side and storing votes in the worker.

Web side: `submit_vote` checks the vote and queues it; it never writes to Postgres.
Worker side: `record_votes` stores a batch of queued votes in one transaction, keeping
one vote per (poll, voter), last cast wins, and tallies exact.
"""

from __future__ import annotations

import logging
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from .models import Choice, Poll, PollCounter, Tally, Vote

logger = logging.getLogger(__name__)

# How often a batch is tried again when a concurrent first vote of the same voter won.
_INSERT_RACE_ATTEMPTS = 5


class VoteError(Exception):
    """A vote the voter must be told about; `status` is the HTTP status that fits."""

    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class PollNotOpen(VoteError):
    status = 409


class UnknownChoice(VoteError):
    status = 400


class VoteQueueUnavailable(VoteError):
    status = 503


@dataclass(frozen=True)
class QueuedVote:
    """A vote as it travels through Redis (JSON) from the web role to the worker."""

    vote_id: uuid.UUID
    poll_id: int
    choice_id: int
    voter_key: str
    cast_at: datetime

    def to_message(self) -> dict[str, Any]:
        return {
            "vote_id": str(self.vote_id),
            "poll_id": self.poll_id,
            "choice_id": self.choice_id,
            "voter_key": self.voter_key,
            "cast_at": self.cast_at.isoformat(),
        }

    @classmethod
    def from_message(cls, data: Any) -> QueuedVote:
        """Parse a message; raises ValueError for anything that is not a well-formed vote."""
        if not isinstance(data, dict):
            raise ValueError("vote message is not an object")
        try:
            poll_id, choice_id = data["poll_id"], data["choice_id"]
            voter_key, cast_at_text = data["voter_key"], data["cast_at"]
            vote_id = uuid.UUID(str(data["vote_id"]))
        except (KeyError, ValueError, TypeError) as exc:
            raise ValueError(f"malformed vote message: {exc!r}") from None
        if not (type(poll_id) is int and type(choice_id) is int):
            raise ValueError("poll_id and choice_id must be integers")
        if not isinstance(voter_key, str) or not 0 < len(voter_key) <= 64:
            raise ValueError("voter_key must be a non-empty string of at most 64 characters")
        if not isinstance(cast_at_text, str):
            raise ValueError("cast_at must be an ISO 8601 string")
        cast_at = datetime.fromisoformat(cast_at_text)
        if cast_at.tzinfo is None:
            raise ValueError("cast_at must carry a time zone")
        return cls(vote_id, poll_id, choice_id, voter_key, cast_at)

    @property
    def key(self) -> tuple[int, str]:
        return (self.poll_id, self.voter_key)

    @property
    def order(self) -> tuple[datetime, str]:
        # The vote_id breaks ties between votes cast in the same microsecond.
        return (self.cast_at, str(self.vote_id))


@dataclass
class RecordOutcome:
    """What one call of record_votes did, for logs, metrics and tests."""

    created: int = 0
    changed: int = 0
    unchanged: int = 0  # a newer vote for the same choice: no tally moved
    ignored: int = 0  # duplicates and votes older than the stored one
    rejected: dict[str, int] = field(default_factory=dict)
    polls_changed: set[int] = field(default_factory=set)


# --- Web side -----------------------------------------------------------------------


def voter_key_for(*, user_id: int | None, anonymous_id: str) -> str:
    """A logged-in user votes as that user, on any device; others by their cookie."""
    return f"user:{user_id}" if user_id is not None else f"anon:{anonymous_id}"


def submit_vote(*, poll: Poll, choice_id: Any, voter_key: str) -> QueuedVote:
    """Check a vote against the poll and queue it for the worker.

    Returns once the vote is in Redis; raises a VoteError the voter can be shown.
    `poll` must come with its choices prefetched (selectors.poll_for_voting).
    """
    now = timezone.now()
    if not poll.is_open_at(now):
        raise PollNotOpen(f"This poll is {poll.state_at(now)}: it does not take votes now.")
    choice = _as_choice_id(choice_id)
    if choice not in {c.id for c in poll.choices.all()}:
        raise UnknownChoice("That choice is not part of this poll.")
    vote = QueuedVote(uuid.uuid4(), poll.id, choice, voter_key, now)
    from .tasks import enqueue_votes  # tasks imports this module

    try:
        enqueue_votes([vote])
    except Exception as exc:  # any broker failure means the same thing to a voter
        logger.warning("vote %s not queued: %r", vote.vote_id, exc)
        raise VoteQueueUnavailable(
            "Votes cannot be taken right now; nothing was recorded. Please try again shortly."
        ) from exc
    return vote


def _as_choice_id(value: Any) -> int:
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    if type(value) is int:
        return value
    raise UnknownChoice("Pick one of the poll's choices (field 'choice', a choice id).")


# --- Worker side --------------------------------------------------------------------


def record_votes(votes: Iterable[QueuedVote]) -> RecordOutcome:
    """Store queued votes: first vote inserts, a later vote moves the tally, repeats are no-ops.

    Safe to call with the same votes again (at-least-once delivery), and in any order:
    of two votes by one voter, the one cast last wins. All in one transaction.
    """
    latest: dict[tuple[int, str], QueuedVote] = {}
    superseded = 0
    for vote in votes:
        held = latest.get(vote.key)
        if held is None or vote.order > held.order:
            latest[vote.key] = vote
        if held is not None:
            superseded += 1
    for attempt in range(1, _INSERT_RACE_ATTEMPTS + 1):
        try:
            with transaction.atomic():
                outcome = _apply_votes(list(latest.values()))
        except IntegrityError:
            # Another worker stored this voter's first vote meanwhile; now it is a change.
            if attempt == _INSERT_RACE_ATTEMPTS:
                raise
            continue
        outcome.ignored += superseded
        return outcome
    raise AssertionError("unreachable")


def _apply_votes(votes: Sequence[QueuedVote]) -> RecordOutcome:
    outcome = RecordOutcome()
    polls = Poll.objects.in_bulk({v.poll_id for v in votes})
    choice_poll = dict(Choice.objects.filter(poll_id__in=polls.keys()).values_list("id", "poll_id"))
    valid: list[QueuedVote] = []
    for vote in votes:
        poll = polls.get(vote.poll_id)
        if poll is None:
            reason = "unknown poll"
        elif choice_poll.get(vote.choice_id) != vote.poll_id:
            reason = "unknown choice"
        elif not poll.is_open_at(vote.cast_at):
            reason = "poll not open when cast"
        else:
            valid.append(vote)
            continue
        outcome.rejected[reason] = outcome.rejected.get(reason, 0) + 1
        logger.warning("vote %s rejected: %s", vote.vote_id, reason)
    if not valid:
        return outcome

    voters_by_poll: dict[int, list[str]] = defaultdict(list)
    for vote in valid:
        voters_by_poll[vote.poll_id].append(vote.voter_key)
    which = Q()
    for poll_id, voter_keys in voters_by_poll.items():
        which |= Q(poll_id=poll_id, voter_key__in=voter_keys)
    # Locking in one order keeps concurrent batches from deadlocking.
    stored = {
        (row.poll_id, row.voter_key): row
        for row in Vote.objects.select_for_update().filter(which).order_by("poll_id", "voter_key")
    }

    tally_delta: Counter[int] = Counter()
    total_delta: Counter[int] = Counter()
    to_create: list[Vote] = []
    to_update: list[Vote] = []
    now = timezone.now()
    for vote in sorted(valid, key=lambda v: v.key):
        row = stored.get(vote.key)
        if row is None:
            to_create.append(
                Vote(
                    poll_id=vote.poll_id,
                    voter_key=vote.voter_key,
                    choice_id=vote.choice_id,
                    cast_at=vote.cast_at,
                    vote_id=vote.vote_id,
                    stored_at=now,
                )
            )
            tally_delta[vote.choice_id] += 1
            total_delta[vote.poll_id] += 1
            outcome.created += 1
            outcome.polls_changed.add(vote.poll_id)
        elif vote.order > (row.cast_at, str(row.vote_id)):
            if row.choice_id != vote.choice_id:
                tally_delta[row.choice_id] -= 1
                tally_delta[vote.choice_id] += 1
                outcome.changed += 1
                outcome.polls_changed.add(vote.poll_id)
            else:
                outcome.unchanged += 1
            row.choice_id, row.cast_at, row.vote_id, row.stored_at = (
                vote.choice_id,
                vote.cast_at,
                vote.vote_id,
                now,
            )
            to_update.append(row)
        else:
            outcome.ignored += 1

    Vote.objects.bulk_create(to_create)
    Vote.objects.bulk_update(to_update, ["choice", "cast_at", "vote_id", "stored_at"])
    for choice_id in sorted(tally_delta):
        if tally_delta[choice_id]:
            Tally.objects.filter(choice_id=choice_id).update(
                votes=F("votes") + tally_delta[choice_id]
            )
    for poll_id in sorted(outcome.polls_changed):
        PollCounter.objects.filter(poll_id=poll_id).update(
            total=F("total") + total_delta[poll_id], seq=F("seq") + 1
        )
    if outcome.polls_changed:
        changed = frozenset(outcome.polls_changed)
        transaction.on_commit(lambda: _announce(changed))
    return outcome


def _announce(poll_ids: frozenset[int]) -> None:
    from results.broadcast import polls_changed  # results builds on polls, not the reverse

    polls_changed(poll_ids)


# --- Organiser side -----------------------------------------------------------------


DEMO_SLUG = "cats-vs-dogs"


def seed_demo_poll() -> tuple[Poll, bool]:
    """The classic demo poll, open; running it again changes nothing."""
    with transaction.atomic():
        poll, created = Poll.objects.get_or_create(
            slug=DEMO_SLUG, defaults={"question": "Cats or dogs?", "status": Poll.Status.OPEN}
        )
        if created:
            for position, label in enumerate(["Cats", "Dogs"]):
                Choice.objects.create(poll=poll, label=label, position=position)
    return poll, created
