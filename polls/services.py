"""The vote rules, in one place: taking a vote on the web side and storing votes in the worker.

Web side: `submit_vote` checks the vote and queues it; it never writes to Postgres.
Worker side: `record_votes` stores a batch of queued votes in one transaction, keeping
one vote per (poll, voter), last cast wins, and tallies exact.
"""

from __future__ import annotations

import dataclasses
import logging
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from . import admission
from .models import Choice, Poll, PollCounter, PollReset, Tally, Vote

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


class TooManyVotes(VoteError):
    status = 429

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"Too many votes from here; try again in {retry_after} seconds.")
        self.retry_after = retry_after


class LoginRequired(VoteError):
    status = 403


class VoteChangeNotAllowed(VoteError):
    status = 409


# Why the worker refused a vote; also the keys of RecordOutcome.rejected.
REJECT_LOGIN_REQUIRED = "login required"
REJECT_VOTE_CHANGE = "vote change not allowed"


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
    rejected: Counter[str] = field(default_factory=Counter)
    polls_changed: set[int] = field(default_factory=set)


# --- Web side -----------------------------------------------------------------------


def voter_key_for(*, user_id: int | None, anonymous_id: str) -> str:
    """A logged-in user votes as that user, on any device; others by their cookie."""
    return f"user:{user_id}" if user_id is not None else f"anon:{anonymous_id}"


def is_user_key(voter_key: str) -> bool:
    """Whether the voter was logged in (see voter_key_for)."""
    return voter_key.startswith("user:")


def submit_vote(*, poll: Poll, choice_id: Any, voter_key: str, client_ip: str = "") -> QueuedVote:
    """Check a vote against the poll and its rate limits, and queue it for the worker.

    Returns once the vote is in Redis; raises a VoteError the voter can be shown.
    `poll` must come with its choices prefetched (selectors.poll_for_voting). The limits
    count per voter and, when `client_ip` is given, per address.
    """
    now = timezone.now()
    if not poll.is_open_at(now):
        raise PollNotOpen(f"This poll is {poll.state_at(now)}: it does not take votes now.")
    if poll.login_required and not is_user_key(voter_key):
        raise LoginRequired("This poll takes votes from logged-in users only: log in to vote.")
    choice = _as_choice_id(choice_id)
    if choice not in {c.id for c in poll.choices.all()}:
        from .selectors import poll_for_voting

        # The web process's copy of the poll may predate a choice added in the admin.
        poll = poll_for_voting(slug=poll.slug, fresh=True)
        if choice not in {c.id for c in poll.choices.all()}:
            raise UnknownChoice("That choice is not part of this poll.")
    if not poll.allow_vote_change:
        # Only such polls pay for this read; the worker enforces the rule either way
        # (a second vote may be queued before the first is stored).
        from .selectors import current_choice_id

        stored = current_choice_id(poll=poll, voter_key=voter_key)
        if stored is not None and stored != choice:
            raise VoteChangeNotAllowed(
                "You have already voted in this poll, and it does not allow changing a vote."
            )
    vote = QueuedVote(uuid.uuid4(), poll.id, choice, voter_key, now)
    limits = [admission.Limit("voter", voter_key, settings.VOTE_RATE_PER_VOTER)]
    if client_ip:
        limits.append(admission.Limit("ip", client_ip, settings.VOTE_RATE_PER_IP))
    from .tasks import queue_vote  # tasks imports this module

    try:
        wait = queue_vote(admission.Entry(vote, limits))
    except Exception as exc:  # any broker failure means the same thing to a voter
        logger.warning("vote %s not queued: %r", vote.vote_id, exc)
        raise VoteQueueUnavailable(
            "Votes cannot be taken right now; nothing was recorded. Please try again shortly."
        ) from exc
    if wait:
        raise TooManyVotes(wait)
    return vote


def _as_choice_id(value: Any) -> int:
    # isdecimal() alone admits other scripts' digits ("٣"), isdigit() even "²".
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdecimal():
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
    batch = list(votes)
    for attempt in range(1, _INSERT_RACE_ATTEMPTS + 1):
        try:
            with transaction.atomic():
                return _apply_votes(batch)
        except IntegrityError:
            # Another worker stored this voter's first vote meanwhile; now it is a change.
            if attempt == _INSERT_RACE_ATTEMPTS:
                raise
    raise AssertionError("unreachable")


def _one_per_voter(
    votes: Sequence[QueuedVote], polls: dict[int, Poll], outcome: RecordOutcome
) -> list[QueuedVote]:
    """Of a voter's valid votes in this batch the one cast last counts, or the first one
    where the poll does not allow changes; the others are counted as ignored."""
    chosen: dict[tuple[int, str], QueuedVote] = {}
    for vote in votes:
        held = chosen.get(vote.key)
        if held is not None:
            outcome.ignored += 1
            later_wins = polls[vote.poll_id].allow_vote_change
            if (vote.order > held.order) != later_wins:
                continue
        chosen[vote.key] = vote
    return list(chosen.values())


def _apply_votes(votes: Sequence[QueuedVote]) -> RecordOutcome:
    outcome = RecordOutcome()
    polls = Poll.objects.in_bulk({v.poll_id for v in votes})
    # Each vote is checked on its own first, so a rejected vote never hides a valid one.
    valid = _one_per_voter(_checked_votes(votes, polls, outcome), polls, outcome)
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

    valid = _without_refused_changes(valid, stored, polls, outcome)
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
    _write_tallies(tally_delta, total_delta, outcome.polls_changed)
    return outcome


def _write_tallies(
    tally_delta: Counter[int], total_delta: Counter[int], polls_changed: set[int]
) -> None:
    """Apply the deltas (locking in id order, as every writer does) and announce after commit."""
    for choice_id in sorted(tally_delta):
        if tally_delta[choice_id]:
            Tally.objects.filter(choice_id=choice_id).update(
                votes=F("votes") + tally_delta[choice_id]
            )
    for poll_id in sorted(polls_changed):
        PollCounter.objects.filter(poll_id=poll_id).update(
            total=F("total") + total_delta[poll_id], seq=F("seq") + 1
        )
    if polls_changed:
        _announce_after_commit(polls_changed)


def _without_refused_changes(
    votes: list[QueuedVote],
    stored: dict[tuple[int, str], Vote],
    polls: dict[int, Poll],
    outcome: RecordOutcome,
) -> list[QueuedVote]:
    """Drops votes that would change a stored vote in a poll that does not allow changes."""
    kept: list[QueuedVote] = []
    for vote in votes:
        row = stored.get(vote.key)
        changes = row is not None and row.choice_id != vote.choice_id
        if changes and not polls[vote.poll_id].allow_vote_change:
            outcome.rejected[REJECT_VOTE_CHANGE] += 1
            logger.warning("vote %s rejected: %s", vote.vote_id, REJECT_VOTE_CHANGE)
            continue
        kept.append(vote)
    return kept


def _checked_votes(
    votes: Sequence[QueuedVote], polls: dict[int, Poll], outcome: RecordOutcome
) -> list[QueuedVote]:
    """The votes the polls' rules let through; the others are counted in outcome.rejected."""
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
        elif poll.login_required and not is_user_key(vote.voter_key):
            reason = REJECT_LOGIN_REQUIRED
        else:
            valid.append(vote)
            continue
        outcome.rejected[reason] += 1
        logger.warning("vote %s rejected: %s", vote.vote_id, reason)
    return valid


def _announce_after_commit(poll_ids: Iterable[int]) -> None:
    """Push the polls' new results to open pages once this transaction has committed."""
    from results.broadcast import polls_changed  # results builds on polls, not the reverse

    changed = frozenset(poll_ids)
    transaction.on_commit(lambda: polls_changed(changed))


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


class PollSetupError(ValueError):
    """An organiser's request that cannot be carried out; the message says why."""


def create_poll(
    *,
    slug: str,
    question: str,
    labels: Sequence[str],
    open_now: bool = False,
    opens_at: datetime | None = None,
    closes_at: datetime | None = None,
    results_visibility: str = Poll.ResultsVisibility.ALWAYS,
    allow_vote_change: bool = True,
    login_required: bool = False,
) -> Poll:
    """A poll with its choices in the given order; draft unless open_now."""
    labels = [label.strip() for label in labels]
    if len(labels) < 2:
        raise PollSetupError("A poll needs at least two choices.")
    if len(set(labels)) != len(labels):
        raise PollSetupError("Each choice must have a different label.")
    poll = Poll(
        slug=slug,
        question=question.strip(),
        status=Poll.Status.OPEN if open_now else Poll.Status.DRAFT,
        opens_at=opens_at,
        closes_at=closes_at,
        results_visibility=results_visibility,
        allow_vote_change=allow_vote_change,
        login_required=login_required,
    )
    _validate(poll)
    with transaction.atomic():
        poll.save()
        for position, label in enumerate(labels):
            choice = Choice(poll=poll, label=label, position=position)
            _validate(choice, exclude=["poll"])
            choice.save()
    return poll


def _validate(instance: Poll | Choice, exclude: list[str] | None = None) -> None:
    try:
        instance.full_clean(exclude=exclude)
    except ValidationError as exc:
        problems = "; ".join(
            f"{name}: {' '.join(errors)}" for name, errors in exc.message_dict.items()
        )
        raise PollSetupError(problems) from None


def open_poll(poll: Poll, *, now: datetime | None = None) -> Poll:
    """Open now: status open, a future opens_at moved to now, a past closes_at cleared."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = Poll.objects.select_for_update().get(pk=poll.pk)
        locked.status = Poll.Status.OPEN
        if locked.opens_at is not None and locked.opens_at > now:
            locked.opens_at = now
        if locked.closes_at is not None and locked.closes_at <= now:
            locked.closes_at = None
        locked.save(update_fields=["status", "opens_at", "closes_at", "updated_at"])
        _bump_seq(locked.pk)
    return locked


def close_poll(poll: Poll) -> Poll:
    """Close now (Poll.save stamps closes_at); votes cast before this moment still count."""
    with transaction.atomic():
        locked = Poll.objects.select_for_update().get(pk=poll.pk)
        if locked.status == Poll.Status.DRAFT:
            raise PollSetupError(f"Poll '{locked.slug}' is a draft: it never opened.")
        locked.status = Poll.Status.CLOSED
        locked.save(update_fields=["status", "closes_at", "updated_at"])
        _bump_seq(locked.pk)
    return locked


def _bump_seq(poll_id: int) -> None:
    """Viewers take only newer snapshots: a change they must see gets a new seq."""
    PollCounter.objects.filter(poll_id=poll_id).update(seq=F("seq") + 1)
    _announce_after_commit([poll_id])


def reset_votes(poll: Poll, *, by: Any = None) -> PollReset:
    """Remove every vote of the poll and zero its tallies; on record as a PollReset.

    Locks in the worker's order (votes, tallies, counter) so neither waits on the other
    in a cycle. A vote the worker stores after the reset counts normally, so tallies stay
    equal to the Vote rows.
    """
    with transaction.atomic():
        removed = len(_lock_poll_rows(poll.pk)[0])
        Vote.objects.filter(poll_id=poll.pk).delete()
        Tally.objects.filter(poll_id=poll.pk).update(votes=0)
        PollCounter.objects.filter(poll_id=poll.pk).update(total=0, seq=F("seq") + 1)
        record = PollReset.objects.create(poll_id=poll.pk, reset_by=by, votes_removed=removed)
        _announce_after_commit([poll.pk])
    logger.info("poll %s reset by %s: %d votes removed", poll.pk, by, removed)
    return record


def _lock_poll_rows(poll_id: int) -> tuple[list[int], dict[int, int], PollCounter]:
    """Lock the poll's vote, tally and counter rows, in that order (the worker's order).

    Returns the locked votes' choice ids, the stored tallies and the counter.
    """
    choice_ids = list(
        Vote.objects.select_for_update()
        .filter(poll_id=poll_id)
        .order_by("voter_key")
        .values_list("choice_id", flat=True)
    )
    tallies = dict(
        Tally.objects.select_for_update()
        .filter(poll_id=poll_id)
        .order_by("choice_id")
        .values_list("choice_id", "votes")
    )
    counter, _ = PollCounter.objects.select_for_update().get_or_create(poll_id=poll_id)
    return choice_ids, tallies, counter


@dataclass(frozen=True)
class TallyDifference:
    choice_id: int
    label: str
    stored: int
    counted: int


@dataclass(frozen=True)
class RecountReport:
    """Stored tallies against a count of the Vote rows, for one poll."""

    poll: Poll
    differences: list[TallyDifference]
    stored_total: int
    counted_total: int
    fixed: bool

    @property
    def matches(self) -> bool:
        return not self.differences and self.stored_total == self.counted_total


def recount_poll(poll: Poll, *, check: bool = False) -> RecountReport:
    """Recompute the tallies from the Vote rows; with check=True only report differences."""
    with transaction.atomic():
        choice_ids, stored, counter = _lock_poll_rows(poll.pk)
        counted = Counter(choice_ids)
        labels = dict(Choice.objects.filter(poll_id=poll.pk).values_list("id", "label"))
        differences = [
            TallyDifference(cid, labels.get(cid, "?"), stored.get(cid, 0), counted.get(cid, 0))
            for cid in sorted(set(stored) | set(counted))
            if stored.get(cid, 0) != counted.get(cid, 0)
        ]
        report = RecountReport(poll, differences, counter.total, len(choice_ids), fixed=False)
        if check or report.matches:
            return report
        report = dataclasses.replace(report, fixed=True)
        for diff in differences:
            Tally.objects.update_or_create(
                choice_id=diff.choice_id, defaults={"poll_id": poll.pk, "votes": diff.counted}
            )
        PollCounter.objects.filter(poll_id=poll.pk).update(total=len(choice_ids), seq=F("seq") + 1)
        _announce_after_commit([poll.pk])
    logger.warning("poll %s recounted: %d tallies fixed", poll.pk, len(differences))
    return report
