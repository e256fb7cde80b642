"""What organisers do to polls: create, open, close, reset and recount them, and the demo.

The admin, the manage.py commands and the tests all call these; each change that viewers
must see bumps the poll's seq and is pushed to them once its transaction commits.
"""

from __future__ import annotations

import dataclasses
import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from polls.live import publisher
from polls.models import Choice, Poll, PollCounter, PollReset, Tally, Vote

logger = logging.getLogger(__name__)

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
    publisher.announce_after_commit([poll_id])


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
        publisher.announce_after_commit([poll.pk])
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
        publisher.announce_after_commit([poll.pk])
    logger.warning("poll %s recounted: %d tallies fixed", poll.pk, len(differences))
    return report
