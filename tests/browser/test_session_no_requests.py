"""A room of phones makes no request for what the presenter does (issue 42), in real
Chromium against the site (the front door, the three roles as processes): after its vote,
a phone follows the next question, a step back to the question it voted on, a reveal, a
lock and an unlock of a form its kind's script set up, and the results hidden again, all
from what its socket delivers; the network log shows no request from the phone, and it
shows the right question, its own vote and the right results. Without JavaScript a reload
shows the same. Screenshots: test-artifacts/screenshots/audience-back-voted-390x844.png
(its vote stored, no "being stored" left from the page after the vote) and
audience-back-revealed-390x844.png."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import BrowserContext, Page, Request, expect

from polls import live_sessions, organising
from polls.models import LiveSession, Poll
from tests.browser.test_browser_sessions import (
    PHONE,
    SCREENSHOTS,
    ballot,
    phone,
    presenter_page,
    question,
)
from tests.support.browser import watch_errors

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.processes]


@pytest.fixture
def session() -> LiveSession:
    owner = User.objects.create_user(f"presenter-{os.urandom(3).hex()}", password="pw-room-42")
    tag = os.urandom(3).hex()
    polls = [
        organising.create_poll(
            slug=f"talks-{tag}", question="Which talks did you enjoy? (pick any)",
            labels=["Keynote", "Workshop", "Panel"], kind=Poll.Kind.MULTIPLE, open_now=True,
        ),
        organising.create_poll(
            slug=f"room-{tag}", question="Which room should we use next time?",
            labels=["The big hall", "The garden"], open_now=True,
        ),
    ]  # fmt: skip
    made = live_sessions.create_session(title="Room day", owner=owner, polls=polls)
    return live_sessions.go_live(made)


def log_requests(page: Page) -> list[str]:
    """Every request the page makes (documents, fetches, scripts; not its WebSocket's
    frames, which are not requests)."""
    made: list[str] = []

    def note(request: Request) -> None:
        made.append(f"{request.method} {request.url}")

    page.on("request", note)
    return made


def votes_shown(page: Page, poll: Poll, label: str) -> Any:
    choice = poll.choices.get(label=label).pk
    return page.locator(f'#results [data-choice="{choice}"] .votes')


def test_reveal_step_back_lock_and_hide_make_no_request_from_the_phone(
    contexts: Callable[..., BrowserContext], site: Any, session: LiveSession
) -> None:
    first, second = live_sessions.ordered_polls(session)
    presenter = presenter_page(contexts, site, session)
    audience = phone(contexts, site, session)
    errors = watch_errors(audience)
    expect(audience.locator("#session-live")).to_have_text("live")

    # The phone votes on the first question (a form post: the page that follows is drawn
    # with its vote), then watches from here on.
    ballot(audience, "Keynote").check()
    ballot(audience, "Panel").check()
    audience.get_by_role("button", name="Vote").click()
    expect(audience.get_by_text("Vote received")).to_be_visible()
    expect(audience.locator("#session-live")).to_have_text("live")
    audience.wait_for_load_state("networkidle")
    requests = log_requests(audience)

    presenter.keyboard.press("PageDown")
    expect(question(audience)).to_have_text(second.question)
    expect(ballot(audience, "The garden")).to_be_enabled()

    # Back to the question it voted on: its vote is still marked, from what it kept, and
    # stored by now (the part kept after the vote said it was being stored).
    presenter.keyboard.press("PageUp")
    expect(question(audience)).to_have_text(first.question)
    expect(audience.locator(".your-vote")).to_have_text(re.compile(r"^Your vote is stored\."))
    expect(audience.get_by_text("being stored")).to_have_count(0)
    expect(audience.locator("em.current")).to_have_text(["(your vote)", "(your vote)"])
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    audience.set_viewport_size(PHONE)
    audience.screenshot(
        path=str(SCREENSHOTS / "audience-back-voted-390x844.png"),
        full_page=True,
        animations="disabled",
    )
    expect(ballot(audience, "Keynote")).to_be_checked()
    expect(ballot(audience, "Panel")).to_be_checked()
    expect(ballot(audience, "Workshop")).not_to_be_checked()
    expect(audience.get_by_role("button", name="Change my vote")).to_be_visible()
    expect(audience.locator("#announce")).to_contain_text(first.question)

    # The reveal: the results, with the phone's own vote counted.
    presenter.keyboard.press("r")
    expect(audience.locator("#results")).to_be_visible()
    expect(votes_shown(audience, first, "Keynote")).to_have_text("1")
    expect(votes_shown(audience, first, "Panel")).to_have_text("1")
    expect(votes_shown(audience, first, "Workshop")).to_have_text("0")
    expect(audience.locator("#total")).to_have_text("1")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    audience.set_viewport_size(PHONE)
    audience.screenshot(
        path=str(SCREENSHOTS / "audience-back-revealed-390x844.png"),
        full_page=True,
        animations="disabled",
    )

    # A lock and an unlock of a form its kind's script set up (the count of picks): drawn
    # again from the server's markup, the picks kept, the results still shown.
    presenter.keyboard.press("l")
    expect(audience.locator("#locked-note")).to_be_visible()
    expect(audience.get_by_role("button", name="Change my vote")).to_be_disabled()
    presenter.keyboard.press("l")
    expect(audience.locator("#locked-note")).to_be_hidden()
    expect(audience.get_by_role("button", name="Change my vote")).to_be_enabled()
    expect(audience.locator("#picks-count")).to_have_text("2 picked.")
    expect(ballot(audience, "Keynote")).to_be_checked()
    expect(votes_shown(audience, first, "Keynote")).to_have_text("1")

    # Hidden again: the note that they come later is back.
    presenter.keyboard.press("r")
    expect(audience.locator("#results")).to_have_count(0)
    expect(audience.locator(".results-later")).to_be_visible()
    expect(audience.locator("#announce")).to_have_text("The results are hidden.")

    # And the next question again, shown before (nothing voted there): its form, no mark.
    presenter.keyboard.press("PageDown")
    expect(question(audience)).to_have_text(second.question)
    expect(ballot(audience, "The garden")).not_to_be_checked()
    expect(audience.locator(".your-vote")).to_have_count(0)

    assert requests == [], "the phone drew everything from its socket"
    assert errors == []


def test_without_javascript_a_reload_shows_the_step_back_and_the_reveal(
    contexts: Callable[..., BrowserContext], site: Any, session: LiveSession
) -> None:
    first, second = live_sessions.ordered_polls(session)
    audience = phone(contexts, site, session, java_script_enabled=False)
    ballot(audience, "Workshop").check()
    audience.get_by_role("button", name="Vote").click()
    expect(audience.get_by_text("Vote received")).to_be_visible()

    session = live_sessions.move(session, step=1)
    audience.reload()
    expect(question(audience)).to_have_text(second.question)
    session = live_sessions.move(session, step=-1)
    live_sessions.reveal(session)
    audience.reload()
    expect(question(audience)).to_have_text(first.question)
    expect(ballot(audience, "Workshop")).to_be_checked()
    expect(votes_shown(audience, first, "Workshop")).to_have_text("1")
