"""The results snapshot: one statement over the tallies, never a count of votes."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from polls.models import Poll, Tally


def poll_results(*, poll: Poll) -> dict[str, Any]:
    """Totals of a poll with a `seq` that grows with every change to them.

    One SQL statement reads the tallies and the counter, so they are consistent:
    a snapshot with a higher seq never has older totals.
    """
    tallies = list(
        Tally.objects.filter(poll_id=poll.pk)
        .select_related("choice", "poll__counter")
        .order_by("choice__position", "choice_id")
    )
    counter = tallies[0].poll.counter if tallies else None
    return {
        "type": "results",
        "poll": poll.slug,
        "question": poll.question,
        "status": poll.state_at(timezone.now()),
        "total": counter.total if counter else 0,
        "seq": counter.seq if counter else 0,
        "choices": [
            {"id": t.choice_id, "label": t.choice.label, "votes": t.votes} for t in tallies
        ],
    }
