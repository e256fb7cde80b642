"""The worker side of a vote: store a batch of queued votes in one transaction.

`record_votes` keeps one vote per (poll, voter), the one cast last (the first, where the
poll does not allow changes), checks every vote against the stored poll as it was when
the vote was cast, keeps the tallies exact in the same transaction, and announces the
changed polls to live viewers once it has committed. Calling it again with the same
votes changes nothing (at-least-once delivery).
"""

from __future__ import annotations

import logging
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.db import (
    IntegrityError,
    InterfaceError,
    OperationalError,
    close_old_connections,
    connection,
    transaction,
)
from django.db.models import F, Q
from django.utils import timezone

from polls.live import publisher
from polls.models import Choice, Poll, PollCounter, Tally, Vote
from polls.voters import is_user_key

from .message import QueuedVote

logger = logging.getLogger(__name__)

# How often a batch is tried again when a concurrent first vote of the same voter won.
_INSERT_RACE_ATTEMPTS = 5
# Postgres outages are waited out inside the batch so its messages stay unacknowledged:
# celery-batches acknowledges a batch when its task returns, even after an exception.
_DB_RETRY_FIRST_SECONDS = 0.2
_DB_RETRY_MAX_SECONDS = 5.0

# Why the worker refused a vote; also the keys of RecordOutcome.rejected.
REJECT_LOGIN_REQUIRED = "login required"
REJECT_VOTE_CHANGE = "vote change not allowed"


@dataclass
class RecordOutcome:
    """What one call of record_votes did, for logs, metrics and tests."""

    created: int = 0
    changed: int = 0
    unchanged: int = 0  # a newer vote for the same choice: no tally moved
    ignored: int = 0  # duplicates and votes older than the stored one
    rejected: Counter[str] = field(default_factory=Counter)
    refused: dict[str, str] = field(default_factory=dict)  # vote id -> why it was rejected
    polls_changed: set[int] = field(default_factory=set)


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
        publisher.announce_after_commit(polls_changed)


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
            outcome.refused[str(vote.vote_id)] = REJECT_VOTE_CHANGE
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
        outcome.refused[str(vote.vote_id)] = reason
        logger.warning("vote %s rejected: %s", vote.vote_id, reason)
    return valid


def store_with_retry(votes: Sequence[QueuedVote]) -> RecordOutcome:
    """record_votes, waiting out a database outage (backoff) instead of failing the batch."""
    delay = _DB_RETRY_FIRST_SECONDS
    while True:
        try:
            outcome = record_votes(votes)
        except (OperationalError, InterfaceError) as exc:
            logger.warning(
                "database unavailable (%s); retrying %d votes in %.1fs", exc, len(votes), delay
            )
            connection.close()
            time.sleep(delay)
            delay = min(delay * 2, _DB_RETRY_MAX_SECONDS)
            close_old_connections()
            continue
        logger.info(
            "stored %d votes: %d new, %d changed, %d unchanged, %d ignored, rejected %s",
            len(votes),
            outcome.created,
            outcome.changed,
            outcome.unchanged,
            outcome.ignored,
            dict(outcome.rejected) or "none",
        )
        return outcome
