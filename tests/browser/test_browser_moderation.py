"""Moderation (issue 34) where people meet it, in real Chromium against the whole site
(front door, the three roles, a real worker): a rude German word sent by a phone waits in
the moderator's queue and reaches neither the projector nor another phone until a
moderator approves it by key; hiding a term removes it from every open page without a
reload; the presenter's panel counts what waits. axe finds nothing on the moderator's
page; screenshots (test-artifacts/screenshots/moderation-*.png, looked at)."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.contrib.auth.models import Group, User
from django.test import Client
from playwright.sync_api import BrowserContext, Page, ViewportSize, expect

from polls import live_sessions, organising
from polls.models import LiveSession, Poll
from tests.support import processes
from tests.support.browser import watch_errors

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.processes,
]

SCREENSHOTS = processes.ARTIFACTS / "screenshots"
PROJECTOR: ViewportSize = {"width": 1920, "height": 1080}
LAPTOP: ViewportSize = {"width": 1280, "height": 800}
PHONE: ViewportSize = {"width": 390, "height": 844}


@pytest.fixture
def session() -> LiveSession:
    tag = os.urandom(3).hex()
    owner = User.objects.create_user(f"presenter-{tag}", password="pw-present-1")
    poll = organising.create_poll(
        slug=f"words-{tag}", question="One word for today?", labels=[],
        kind=Poll.Kind.WORDCLOUD, max_entries=3, open_now=True,
    )  # fmt: skip
    made = live_sessions.create_session(title="Team day", owner=owner, polls=[poll])
    return live_sessions.go_live(made)


def logged_in(context: BrowserContext, site: Any, user: User) -> BrowserContext:
    client = Client()
    client.force_login(user)
    cookie = client.cookies["sessionid"].value
    context.add_cookies([{"name": "sessionid", "value": cookie, "url": site.url}])
    return context


def phone(contexts: Callable[..., BrowserContext], site: Any, session: LiveSession) -> Page:
    page = contexts(PHONE).new_page()
    page.goto(f"{site.url}/s/{session.code}/")
    expect(page.locator("#session-live")).to_have_text("live")
    return page


def send_words(page: Page, *words: str) -> None:
    inputs = page.locator("form.vote input[name='entry']")
    for n, word in enumerate(words):
        inputs.nth(n).fill(word)
    page.locator("form.vote button[type='submit']").click()
    expect(page.get_by_text("Vote received")).to_be_visible()


def shot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / name), animations="disabled", full_page=True)


def test_a_caught_word_waits_for_the_moderator_and_hiding_removes_a_word_everywhere(
    contexts: Callable[..., BrowserContext], site: Any, session: LiveSession
) -> None:
    presenter = logged_in(contexts(PROJECTOR), site, session.owner).new_page()
    presenter.goto(f"{site.url}/present/{session.code}/")
    expect(presenter.locator("#session-live")).to_have_text("live")
    presenter.keyboard.press("r")  # the results on the phones too
    errors = watch_errors(presenter)
    moderator = User.objects.create_user(f"moderator-{os.urandom(3).hex()}")
    moderator.groups.add(Group.objects.get(name="Moderators"))
    queue = logged_in(contexts(LAPTOP), site, moderator).new_page()
    mod_errors = watch_errors(queue)
    queue.goto(f"{site.url}/moderate/s/{session.code}/")
    expect(queue.locator("[data-live]")).to_have_text("live")
    watcher = phone(contexts, site, session)
    voter = phone(contexts, site, session)

    send_words(voter, "Python", "Arschloch")
    waiting = queue.locator('.mod-rows[data-state="pending"] .mod-row')
    expect(waiting).to_have_count(1)  # live: no reload
    expect(waiting.first.locator(".mod-text")).to_have_text("Arschloch")
    cloud, seen = presenter.locator("#cloud-words"), watcher.locator("#cloud-words")
    expect(cloud.locator('span[data-key="python"]')).to_be_visible()
    expect(seen.locator('span[data-key="python"]')).to_be_visible()
    for page in (presenter, watcher):
        expect(page.locator('#terms .term[data-key="arschloch"]')).to_have_count(0)
    panel = presenter.locator("#moderation-panel")
    expect(panel).to_be_visible()
    expect(panel.locator(".mod-counts")).to_contain_text("1 waiting")
    expect(presenter.locator("body")).not_to_contain_text("Arschloch")  # the room sees this
    voter.reload()
    expect(voter.locator(".your-ballot")).to_contain_text("Arschloch (waiting for a moderator)")
    shot(queue, "moderation-queue-1280x800-light.png")
    presenter.screenshot(
        path=str(SCREENSHOTS / "moderation-presenter-panel-1920x1080-dark.png"),
        animations="disabled",
    )
    # The panel sits in the join panel's column: the projector's page is no taller for it.
    height = "document.documentElement.scrollHeight"
    with_panel = presenter.evaluate(height)
    panel.evaluate("p => { p.hidden = true; }")
    assert presenter.evaluate(height) == with_panel
    panel.evaluate("p => { p.hidden = false; }")

    # By keyboard: Tab reaches the first waiting row; A approves it, for every voter.
    waiting.first.focus()
    queue.keyboard.press("a")
    expect(waiting).to_have_count(0)
    expect(cloud.locator('span[data-key="arschloch"]')).to_be_visible()
    expect(seen.locator('span[data-key="arschloch"]')).to_be_visible()
    expect(queue.locator("#mod-announce")).to_have_text("Approved: 1 shown.")

    # Hide by key: gone from the projector and the phones, listed as hidden.
    shown = queue.locator('.mod-rows[data-state="shown"] .mod-row[data-value="python"]')
    shown.focus()
    queue.keyboard.press("h")
    expect(cloud.locator('span[data-key="python"]')).to_have_count(0)
    expect(seen.locator('span[data-key="python"]')).to_have_count(0)
    hidden = queue.locator('.mod-rows[data-state="hidden"] .mod-row[data-value="python"]')
    expect(hidden).to_have_count(1)
    # ... and restored by click.
    hidden.get_by_role("button", name="Restore").click()
    expect(cloud.locator('span[data-key="python"]')).to_be_visible()
    expect(seen.locator('span[data-key="python"]')).to_be_visible()

    results = Axe().run(
        queue, options={"resultTypes": ["violations"], "rules": {"target-size": {"enabled": True}}}
    )
    assert [v["id"] for v in results.response["violations"]] == []
    shot(queue, "moderation-queue-after-1280x800-light.png")
    assert errors == []
    assert mod_errors == []


def test_the_moderators_page_in_dark_on_a_phone_passes_axe(
    contexts: Callable[..., BrowserContext], site: Any, session: LiveSession
) -> None:
    voter = phone(contexts, site, session)
    send_words(voter, "Scheiße", "Kaffee")
    page = logged_in(contexts(PHONE, color_scheme="dark"), site, session.owner).new_page()
    page.goto(f"{site.url}/moderate/s/{session.code}/")
    expect(page.locator('.mod-rows[data-state="pending"] .mod-row')).to_have_count(1)
    results = Axe().run(
        page, options={"resultTypes": ["violations"], "rules": {"target-size": {"enabled": True}}}
    )
    assert [v["id"] for v in results.response["violations"]] == []
    shot(page, "moderation-queue-phone-dark.png")
