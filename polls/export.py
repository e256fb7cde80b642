"""Exporting results: the rows the admin's CSV action and `manage.py export_results` write."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import IO, Any

from django.utils import timezone

from .models import Poll
from .selectors import tally_rows

EXPORT_FIELDS = ["poll", "question", "status", "choice", "votes", "percent", "total"]


def export_rows(*, polls: Iterable[Poll]) -> list[dict[str, Any]]:
    """One row per choice of each poll, in EXPORT_FIELDS; the same for admin and command."""
    now = timezone.now()
    rows: list[dict[str, Any]] = []
    for poll in polls:
        total, tallies = tally_rows(poll=poll)
        rows.extend(
            {
                "poll": poll.slug,
                "question": poll.question,
                "status": poll.state_at(now),
                "choice": row.label,
                "votes": row.votes,
                "percent": row.percent,
                "total": total,
            }
            for row in tallies
        )
    return rows


def write_csv(rows: Iterable[dict[str, Any]], out: IO[str]) -> None:
    writer = csv.DictWriter(out, fieldnames=EXPORT_FIELDS)
    writer.writeheader()
    writer.writerows(rows)
