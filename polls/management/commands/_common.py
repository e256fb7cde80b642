"""What the poll commands share: finding a poll and reading times from arguments."""

from __future__ import annotations

from datetime import datetime

from django.core.management.base import CommandError
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from polls import selectors
from polls.models import Poll


def poll_or_error(slug: str) -> Poll:
    poll = selectors.poll_by_slug(slug=slug)
    if poll is None:
        raise CommandError(f"No poll with slug '{slug}'.")
    return poll


def parse_time(value: str | None, *, name: str) -> datetime | None:
    """An ISO 8601 time; without a zone it is taken in the site's time zone."""
    if value is None:
        return None
    try:
        parsed = parse_datetime(value)
    except ValueError:
        parsed = None
    if parsed is None:
        raise CommandError(f"{name}: '{value}' is not a time like 2026-05-01T18:00 or ...+02:00.")
    return timezone.make_aware(parsed) if timezone.is_naive(parsed) else parsed
