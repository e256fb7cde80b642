"""The front page: open, scheduled and recently closed polls, each with its state, its
vote count and a link to its results, so a closed poll's final results stay findable."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from polls import organising
from polls.models import Poll
from tests.support.votes import stored_vote

pytestmark = pytest.mark.django_db


def items(page: str) -> dict[str, str]:
    """Each listed poll's question -> its list item's text, squeezed."""
    found = {}
    for item in re.findall(r'<li class="poll-item.*?</li>', page, flags=re.S):
        question = re.search(r'class="poll-link"[^>]*>([^<]+)<', item)
        assert question
        found[question[1]] = " ".join(re.sub(r"<[^>]+>", " ", item).split())
    return found


def test_the_index_lists_open_scheduled_and_recently_closed_polls_with_state_votes_results(
    make_poll: Callable[..., Poll],
) -> None:
    now = timezone.now()
    live = make_poll(slug="live", question="Live one?")
    stored_vote(live, "Cats", "anon:a")
    stored_vote(live, "Dogs", "anon:b")
    make_poll(slug="later", question="Later one?", opens_at=now + timedelta(hours=2))
    done = make_poll(slug="done", question="Done one?")
    stored_vote(done, "Cats", "anon:a")
    organising.close_poll(done)
    old = make_poll(slug="old", question="Old one?")
    Poll.objects.filter(pk=old.pk).update(
        status=Poll.Status.CLOSED, closes_at=now - timedelta(days=40)
    )
    make_poll(slug="draft", question="Draft one?", status=Poll.Status.DRAFT)

    page = Client().get("/").content.decode()
    listed = items(page)
    assert set(listed) == {"Live one?", "Later one?", "Done one?"}
    assert listed["Live one?"].startswith("Live one? open 2 votes")
    assert listed["Later one?"].startswith("Later one? scheduled 0 votes opens")
    assert listed["Done one?"].startswith("Done one? closed 1 vote closed")
    assert "Final results" in listed["Done one?"]
    for slug in ("live", "later", "done"):
        assert f'href="/polls/{slug}/results/"' in page
    # Headings say what each group is; no item is labelled "open" under a heading of its own.
    assert page.index("Open now") < page.index("Live one?") < page.index("Coming up")
    assert page.index("Coming up") < page.index("Later one?") < page.index("Recently closed")
    assert page.index("Recently closed") < page.index("Done one?")


def test_an_empty_index_says_so() -> None:
    page = Client().get("/").content.decode()
    assert "No poll is open, scheduled or recently closed right now." in page
