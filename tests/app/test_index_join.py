"""The index's "Join with a code" box: the join page's own form (the same view, so the same
lenient reading of codes and the same budget of wrong ones), at the top of the index above
the polls, working without JavaScript."""

from __future__ import annotations

import random
import re
import uuid
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client, override_settings
from django.urls import resolve

from polls import live_sessions, organising, session_views
from polls.models import LiveSession

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def live() -> LiveSession:
    owner = User.objects.create_user(f"o-{uuid.uuid4().hex[:8]}", password="pw-o-12345")
    poll = organising.create_poll(
        slug=f"ix-{uuid.uuid4().hex[:6]}", question="Tea or coffee?", labels=["Tea", "Coffee"],
        open_now=True,
    )  # fmt: skip
    session = live_sessions.create_session(title="Index", owner=owner, polls=[poll])
    return live_sessions.go_live(session)


def join_form(page: str) -> dict[str, Any]:
    """The index's join box: its form's method, action and fields (a browser's view of it)."""
    box = re.search(r'<section class="join-box.*?</section>', page, flags=re.S)
    assert box, "no join box on the index"
    form = re.search(r'<form method="(\w+)" action="([^"]+)"', box[0])
    assert form
    fields = dict(re.findall(r'<input[^>]*name="(\w+)"[^>]*value="([^"]*)"', box[0]))
    label = re.search(r'<label for="code">([^<]+)</label>', box[0])
    return {"box": box[0], "method": form[1], "action": form[2], "fields": fields,
            "label": label[1] if label else None}  # fmt: skip


def test_the_index_opens_with_a_join_box_that_posts_to_the_join_page(live: LiveSession) -> None:
    page = Client().get("/").content.decode()
    form = join_form(page)
    assert "Join with a code" in form["box"]
    assert form["label"] == "The code on the screen"
    assert form["method"] == "post"
    assert resolve(form["action"]).func is session_views.join  # the join page's view
    # At the top: before the polls' heading and the polls.
    assert page.index('class="join-box') < page.index("<h1>Polls</h1>")
    assert page.index("<h1>Polls</h1>") < page.index("Tea or coffee?")


def test_a_code_typed_in_the_index_box_reaches_the_session_without_javascript(
    live: LiveSession,
) -> None:
    browser = Client(enforce_csrf_checks=True)  # as a browser: the token from the page
    form = join_form(browser.get("/").content.decode())
    spaced = f"{live.code[:3]} {live.code[3:]}"  # read leniently, as on the join page
    answer = browser.post(form["action"], {**form["fields"], "code": spaced})
    assert answer.status_code == 302
    assert answer["Location"] == f"/s/{live.code}/"
    assert "Tea or coffee?" in browser.get(answer["Location"]).content.decode()


def test_a_wrong_code_gets_the_join_pages_message_and_counts_against_its_budget(
    live: LiveSession, redis_client: Any
) -> None:
    address = f"10.41.{random.randrange(256)}.{random.randrange(1, 255)}"
    browser = Client(HTTP_X_FORWARDED_FOR=address)
    form = join_form(browser.get("/").content.decode())
    wrong = "000000" if live.code != "000000" else "111111"
    limits = {"TRUSTED_PROXY_HOPS": 1, "JOIN_MISS_RATE_PER_ADDRESS": "2/m",
              "JOIN_MISS_RATE_PER_NETWORK": "1000/m", "JOIN_MISS_RATE_SITE": "1000/m"}  # fmt: skip
    with override_settings(**limits):
        first = browser.post(form["action"], {**form["fields"], "code": wrong})
        assert first.status_code == 404
        assert "No live session has that code" in first.content.decode()
        browser.post(form["action"], {**form["fields"], "code": wrong})
        refused = browser.post(form["action"], {**form["fields"], "code": live.code})
    assert refused.status_code == 429  # the join page's budget: the index box is no way round
    assert refused["Retry-After"]
