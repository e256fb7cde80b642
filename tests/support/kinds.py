"""Polls of each kind of question (multiple choice, ranked choice, rating scale, the text
kinds), open since yesterday, and their choices' ids."""

from __future__ import annotations

import datetime
import uuid
from typing import Any

from django.utils import timezone

from polls import kinds, organising
from polls.models import Poll

OPENS_AT = timezone.now() - datetime.timedelta(days=1)


K = Poll.Kind


def kind_poll(kind: str, slug: str | None = None, **options: Any) -> Poll:
    labels = ["Red", "Green", "Blue", "Gold"] if kinds.kind_for(kind).has_choices else []
    poll = organising.create_poll(
        slug=slug or f"{kind}-{uuid.uuid4().hex[:6]}",
        question=f"A {kind} question?",
        labels=labels,
        open_now=True,
        kind=kind,
        **options,
    )
    Poll.objects.filter(pk=poll.pk).update(opens_at=OPENS_AT)
    return Poll.objects.get(pk=poll.pk)


def ids(poll: Poll) -> list[int]:
    return [c.pk for c in poll.choices.all()]
