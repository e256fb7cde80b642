"""Reads for the voting pages and API (writes live in services)."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone

from .models import Poll, Vote


def poll_for_voting(*, slug: str) -> Poll:
    """The poll with its choices; Http404 for an unknown slug or a draft."""
    poll = Poll.objects.prefetch_related("choices").filter(slug=slug).first()
    if poll is None or poll.status == Poll.Status.DRAFT:
        raise Http404("No such poll.")
    return poll


def polls_listed() -> QuerySet[Poll]:
    """Polls a visitor can find on the front page: open now, or scheduled."""
    now = timezone.now()
    return Poll.objects.exclude(status__in=[Poll.Status.DRAFT, Poll.Status.CLOSED]).exclude(
        closes_at__lte=now
    )


def current_choice_id(*, poll: Poll, voter_key: str) -> int | None:
    """The choice the worker has stored for this voter, if any."""
    return (
        Vote.objects.filter(poll=poll, voter_key=voter_key)
        .values_list("choice_id", flat=True)
        .first()
    )
