"""Casting, storing and reading votes in tests, by choice label."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

import redis
from django.utils import timezone

from polls.counting import receipts as codes
from polls.models import Poll, Tally
from polls.pipeline.ledger import PENDING_KEY, queued_messages
from polls.pipeline.message import QueuedVote, canonical_json
from polls.pipeline.store import record_votes


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


def pipeline_drained(client: redis.Redis, poll: Poll) -> bool:
    """Every vote queued for the poll has been handled: nothing waits in the queue or in a
    worker's hands (unacknowledged), and none of the poll's votes is left on the ledger,
    which the worker strikes a vote off only once its transaction has committed."""
    if queued_messages(client):
        return False
    members: list[Any] = client.zrange(PENDING_KEY, 0, -1)
    return not any(json.loads(m).get("poll_id") == poll.pk for m in members)


def receipted_ballot(
    poll: Poll, voter_key: str, label: str, cast_at: datetime, **fields: Any
) -> QueuedVote:
    """A single-choice ballot with its receipt and nonce, as the web side would queue it."""
    choice = poll.choices.get(label=label).pk
    vote_id, nonce = uuid.uuid4(), codes.new_nonce()
    receipt = codes.receipt_for(poll.pk, str(vote_id), canonical_json([choice]), nonce)
    return QueuedVote(
        vote_id, poll.pk, choice, voter_key, cast_at, receipt=receipt, nonce=nonce, **fields
    )
