"""A Q&A board where people meet it, in real Chromium against the whole site (the front
door, the three roles and a real worker): a session of a Q&A board alone, two phones, a
phone without JavaScript, and the presenter. A question asked on one phone reaches the
other and the presenter; an upvote reorders all of them; the presenter's keys put the top
question on the big screen and mark it answered; the phone without JavaScript asks and
upvotes by reload. axe-core finds nothing; screenshots at 390x844 and 1920x1080."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.contrib.auth.models import User
from django.test import Client
from playwright.sync_api import BrowserContext, Page, ViewportSize, expect

from polls import live_sessions
from polls.models import LiveSession
from tests.support import processes
from tests.support.browser import watch_errors

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.processes]

SCREENSHOTS = processes.ARTIFACTS / "screenshots"
PROJECTOR: ViewportSize = {"width": 1920, "height": 1080}
PHONE: ViewportSize = {"width": 390, "height": 844}


@pytest.fixture
def session() -> LiveSession:
    owner = User.objects.create_user(f"qna-{os.urandom(3).hex()}")  # logged in by its session
    made = live_sessions.create_session(title="Ask the team", owner=owner, polls=[], qna=True)
    return live_sessions.go_live(made)


def presenter(contexts: Callable[..., BrowserContext], site: Any, session: LiveSession) -> Page:
    context = contexts(PROJECTOR)
    client = Client()
    client.force_login(session.owner)
    context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": site.url}]
    )
    page = context.new_page()
    page.goto(f"{site.url}/present/{session.code}/")
    expect(page.locator("#session-live")).to_have_text("live")
    return page


def phone(contexts: Callable[..., BrowserContext], site: Any, session: LiveSession,
          **options: Any) -> Page:  # fmt: skip
    page = contexts(PHONE, **options).new_page()
    page.goto(f"{site.url}/s/{session.code}/")
    return page


def texts(page: Page) -> list[str]:
    return page.locator("#qna-list .qna-text").all_inner_texts()


def item(page: Page, text: str) -> Any:
    return page.locator("#qna-list .qna-question", has_text=text)


def violations(page: Page) -> list[str]:
    page.wait_for_load_state("networkidle")
    results = Axe().run(page, options={"resultTypes": ["violations"],
                                       "rules": {"target-size": {"enabled": True}}})  # fmt: skip
    return [f"{v['id']}: {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
            for v in results.response["violations"]]  # fmt: skip


def shot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"qna-{name}.png"), full_page=True,
                    animations="disabled")  # fmt: skip


def test_phones_ask_and_upvote_live_and_the_presenter_shows_and_answers(
    contexts: Callable[..., BrowserContext], site: Any, session: LiveSession
) -> None:
    stage = presenter(contexts, site, session)
    one, two = phone(contexts, site, session), phone(contexts, site, session)
    errors = [watch_errors(p) for p in (stage, one, two)]
    # A session of a board alone: no poll, so no poll's controls on the presenter's bar.
    for action in ("previous", "next", "lock", "reveal"):
        expect(stage.locator(f'#controls button[data-action="{action}"]')).to_be_hidden()
    for p in (one, two):
        expect(p.locator("#session-live")).to_have_text("live")
    # The same voter on a second page (another tab or device of theirs).
    again = two.context.new_page()
    again.goto(f"{site.url}/s/{session.code}/")
    expect(again.locator("#session-live")).to_have_text("live")

    # A question asked on one phone reaches the other phone and the presenter.
    one.get_by_label("Ask the presenter a question").fill("Where are the slides?")
    one.get_by_role("button", name="Ask").click()
    expect(one.locator("#qna-announce")).to_have_text("Your question was sent.")
    for p in (one, two, stage):
        expect(item(p, "Where are the slides?")).to_be_visible()
    expect(item(one, "Where are the slides?").locator(".qna-yours")).to_be_visible()
    expect(item(two, "Where are the slides?").locator(".qna-yours")).to_be_hidden()

    one.get_by_label("Ask the presenter a question").fill("Is there coffee?")
    one.get_by_role("button", name="Ask").click()
    for p in (one, two, stage):
        expect(item(p, "Is there coffee?")).to_be_visible()

    # An upvote, by the keyboard, reorders all three.
    upvote = item(two, "Where are the slides?").get_by_role("button", name="Upvote")
    upvote.focus()
    two.keyboard.press("Enter")
    expect(upvote).to_have_attribute("aria-pressed", "true")
    for p in (one, two, stage):
        expect(p.locator("#qna-list .qna-text").first).to_have_text("Where are the slides?")
        expect(item(p, "Where are the slides?").locator(".qna-upvotes")).to_have_text("1")
    # The voter's other page shows it as theirs once stored (the push carries their marks).
    also = item(again, "Where are the slides?").get_by_role("button", name="Upvote")
    expect(also).to_have_attribute("aria-pressed", "true")
    expect(
        item(one, "Where are the slides?").get_by_role("button", name="Upvote")
    ).to_have_attribute("aria-pressed", "false")

    # The presenter's keys: Q puts the top question on the big screen, A marks it answered.
    stage.locator("body").press("q")
    expect(stage.locator("#qna-highlight-text")).to_have_text("Where are the slides?")
    shot(stage, "presenter")
    stage.locator("body").press("a")
    expect(stage.locator("#qna-highlight")).to_be_hidden()
    for p in (one, two):
        expect(item(p, "Where are the slides?").locator(".qna-answered")).to_be_visible()
        # Answered, it moves below the unanswered question.
        expect(p.locator("#qna-list .qna-text").first).to_have_text("Is there coffee?")

    # Taking the upvote back (the wanted state, not a toggle).
    item(two, "Where are the slides?").get_by_role("button", name="Upvote").click()
    expect(item(stage, "Where are the slides?").locator(".qna-upvotes")).to_have_text("0")
    expect(also).to_have_attribute("aria-pressed", "false")

    shot(one, "phone")
    assert violations(one) == []
    assert violations(stage) == []
    assert errors == [[], [], []]


def test_a_phone_without_javascript_asks_and_upvotes_by_reload(
    contexts: Callable[..., BrowserContext], site: Any, session: LiveSession
) -> None:
    page = phone(contexts, site, session, java_script_enabled=False)
    page.get_by_label("Ask the presenter a question").fill("Can I ask without scripts?")
    page.get_by_role("button", name="Ask").click()
    expect(page.get_by_text("Your question was sent.")).to_be_visible()
    for _ in range(50):  # stored by the worker within moments: a reload shows it
        if item(page, "Can I ask without scripts?").count():
            break
        page.wait_for_timeout(200)
        page.reload()
    expect(item(page, "Can I ask without scripts?").locator(".qna-yours")).to_be_visible()
    item(page, "Can I ask without scripts?").get_by_role("button", name="Upvote").click()
    for _ in range(50):
        if item(page, "Can I ask without scripts?").locator(".qna-upvotes").inner_text() == "1":
            break
        page.wait_for_timeout(200)
        page.reload()
    upvote = item(page, "Can I ask without scripts?").get_by_role("button", name="Upvote")
    expect(upvote).to_have_attribute("aria-pressed", "true")
    shot(page, "phone-nojs")  # axe needs scripts: the same markup is checked on the JS phone
