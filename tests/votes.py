"""Casting, storing and reading votes in tests, by choice label."""

from __future__ import annotations

import uuid
from typing import Any

from django.utils import timezone

from polls.models import Poll, Tally
from polls.services import QueuedVote, record_votes


def stored_vote(poll: Poll, label: str, voter: str) -> None:
    """A vote the worker has stored (its service, called directly)."""
    choice = poll.choices.get(label=label)
    record_votes([QueuedVote(uuid.uuid4(), poll.pk, choice.pk, voter, timezone.now())])


def api_vote(client: Any, poll: Poll, label: str) -> Any:
    """A vote through the JSON API with Django's test client."""
    return client.post(
        f"/api/polls/{poll.slug}/vote",
        {"choice": poll.choices.get(label=label).pk},
        content_type="application/json",
    )


def tallies(poll: Poll) -> dict[str, int]:
    """The stored tallies by choice label."""
    rows = Tally.objects.filter(poll=poll).select_related("choice")
    return {t.choice.label: t.votes for t in rows}
