"""The site's public pages, as the URL configuration has them: each route (converters left
as <name>), the content that fills their parameters (a poll of every kind, a closed one,
one with hidden results, one needing a log-in, a live session), and the concrete paths.
A page added later is found without editing a test. The `content` fixture (tests/conftest.py)
makes the content."""

from __future__ import annotations

import re
import uuid
from typing import Any

from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from polls import kinds, live_sessions, organising
from polls.models import Poll
from polls.pipeline.message import QueuedVote
from polls.pipeline.store import record_votes

KINDS = ("single", "multiple", "ranked", "scale", "wordcloud", "openanswer")
# Questions without a word of the site's catalogues (the languages test looks for those).
QUESTIONS = {"wordcloud": "Three words for Kraków?", "openanswer": "Thoughts on Zürich?"}

NOT_PUBLIC = ("admin/", "metrics", "readyz", "healthz", "api/")
PASSWORD = "pw-a11y-12345"


def patterns() -> list[str]:
    """Each route of the URLconf, its converters left as <name>."""
    found: list[str] = []

    def walk(entries: list[Any], prefix: str) -> None:
        for entry in entries:
            route = prefix + str(entry.pattern)
            if isinstance(entry, URLResolver):
                walk(entry.url_patterns, route)
            elif isinstance(entry, URLPattern):
                found.append(route)

    walk(get_resolver().url_patterns, "")
    return [r for r in found if not r.startswith(NOT_PUBLIC) and not r.startswith("^")]


def public_content(django_user_model: Any) -> dict[str, str]:
    """A poll of every kind, a closed one, one with hidden results, one needing a log-in,
    and a live session: the values a page's parameters are filled from."""
    tag = uuid.uuid4().hex[:6]
    polls = {
        kind: organising.create_poll(slug=f"a11y-{tag}-{kind}",
                                     question=QUESTIONS.get(kind, f"Best {kind}?"),
                                     labels=["Cats", "Dogs", "Fish"] if has_choices(kind) else [],
                                     open_now=True, kind=kind)
        for kind in KINDS
    }  # fmt: skip
    some_entries(polls["wordcloud"], [["Python", "Django"], ["python", "Redis", "Celery"]])
    some_entries(polls["openanswer"], [["More demos, please!"], ["Shorter talks"]])
    closed = organising.create_poll(slug=f"a11y-{tag}-closed", question="Closed?",
                                    labels=["Yes", "No"], open_now=True)  # fmt: skip
    organising.close_poll(closed)
    hidden = organising.create_poll(slug=f"a11y-{tag}-hidden", question="Hidden?",
                                    labels=["Yes", "No"], open_now=True,
                                    results_visibility=Poll.ResultsVisibility.HIDDEN)  # fmt: skip
    login = organising.create_poll(
        slug=f"a11y-{tag}-login", question="Members?", labels=["Yes", "No"], open_now=True,
        login_required=True,
    )  # fmt: skip
    Poll.objects.filter(slug__startswith=f"a11y-{tag}").update(opens_at=None)
    owner = django_user_model.objects.create_superuser(f"owner-{tag}", password=PASSWORD)
    draft = live_sessions.create_session(
        title="All hands", owner=owner, polls=[polls["single"], polls["scale"]]
    )
    session = live_sessions.go_live(draft)
    return {
        "slugs": ",".join(
            [*(p.slug for p in polls.values()), closed.slug, hidden.slug, login.slug]
        ),
        "code": session.code,
        "owner": owner.username,
    }


def has_choices(kind: str) -> bool:
    return kinds.kind_for(kind).has_choices


def some_entries(poll: Poll, ballots: list[list[str]]) -> None:
    """Text ballots stored as the worker stores them, so the results show a cloud, cards."""
    record_votes([
        QueuedVote(uuid.uuid4(), poll.pk, None, f"anon:page-{n}", timezone.now(),
                   kinds.normalise(poll, [], texts))
        for n, texts in enumerate(ballots)
    ])  # fmt: skip


def urls_for(route: str, content: dict[str, str]) -> list[str]:
    """Concrete paths for a route: one per poll for a slug, the session's code for a code."""
    names = re.findall(r"<(?:\w+:)?(\w+)>", route)
    if not names:
        return ["/" + route]
    if names == ["slug"]:
        return ["/" + re.sub(r"<[^>]+>", slug, route) for slug in content["slugs"].split(",")]
    if names == ["code"]:
        return ["/" + re.sub(r"<[^>]+>", content["code"], route)]
    raise AssertionError(f"no value to fill {route!r} with: teach urls_for its parameters")
