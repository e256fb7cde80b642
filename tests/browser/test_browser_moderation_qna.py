"""The moderator's page holds a session's Q&A questions (issues 34 and 35), in real
Chromium against the whole site (front door, the three roles, a real worker): on a board
moderated before, a question asked on a phone waits in the moderator's list live (no
reload) and reaches another phone only when the moderator approves it by key; H hides it
from every phone, a click restores it, C and Enter correct its typo (the original kept).
axe finds nothing; screenshots (test-artifacts/screenshots/moderation-qna-*.png)."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.contrib.auth.models import Group, User
from django.test import Client
from playwright.sync_api import BrowserContext, Page, ViewportSize, expect

from polls import live_sessions, qna, qna_reads
from polls.models import LiveSession, Question
from tests.support import processes
from tests.support.browser import watch_errors

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.processes]

SCREENSHOTS = processes.ARTIFACTS / "screenshots"
LAPTOP: ViewportSize = {"width": 1280, "height": 800}
PHONE: ViewportSize = {"width": 390, "height": 844}


@pytest.fixture
def session() -> LiveSession:
    owner = User.objects.create_user(f"qnamod-{os.urandom(3).hex()}")
    made = live_sessions.create_session(title="Ask the team", owner=owner, polls=[], qna=True)
    session = live_sessions.go_live(made)
    qna.enable(session, moderation="before")
    return session


def phone(contexts: Callable[..., BrowserContext], site: Any, session: LiveSession) -> Page:
    page = contexts(PHONE).new_page()
    page.goto(f"{site.url}/s/{session.code}/")
    expect(page.locator("#session-live")).to_have_text("live")
    return page


def moderator_page(contexts: Callable[..., BrowserContext], site: Any, **options: Any) -> Page:
    user = User.objects.create_user(f"moderator-{os.urandom(3).hex()}")
    user.groups.add(Group.objects.get(name="Moderators"))
    client = Client()
    client.force_login(user)
    context = contexts(LAPTOP, **options)
    context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": site.url}]
    )
    return context.new_page()


def shot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"moderation-qna-{name}.png"), full_page=True,
                    animations="disabled")  # fmt: skip


def test_a_held_question_waits_for_the_moderator_who_approves_hides_restores_and_corrects(
    contexts: Callable[..., BrowserContext], site: Any, session: LiveSession
) -> None:
    queue = moderator_page(contexts, site)
    errors = watch_errors(queue)
    queue.goto(f"{site.url}/moderate/s/{session.code}/")
    section = queue.locator("#mod-qna")
    expect(section.locator("[data-live]")).to_have_text("live")
    asker, watcher = phone(contexts, site, session), phone(contexts, site, session)

    asker.get_by_label("Ask the presenter a question").fill("Wher are the slides?")
    asker.get_by_role("button", name="Ask").click()
    waiting = section.locator('.mod-rows[data-state="pending"] .mod-row')
    expect(waiting).to_have_count(1)  # live: no reload
    expect(waiting.first.locator(".mod-text")).to_have_text("Wher are the slides?")
    expect(section.locator(".mod-counts")).to_contain_text("1 waiting · 0 hidden")
    watched = watcher.locator("#qna-list .qna-question", has_text="Wher are the slides?")
    expect(watched).to_have_count(0)
    shot(queue, "waiting-1280x800-light")

    # By keyboard: A approves the focused question, for every phone.
    waiting.first.focus()
    queue.keyboard.press("a")
    expect(waiting).to_have_count(0)
    expect(watched).to_be_visible()
    expect(queue.locator("#mod-announce")).to_have_text("Approved: the question is shown.")

    # C then Enter corrects the typo; the phones read the correction, the original kept.
    shown = section.locator('.mod-rows[data-state="shown"] .mod-row').first
    shown.focus()
    queue.keyboard.press("c")
    queue.keyboard.type("Where are the slides?")  # C selected the text: typing replaces it
    queue.keyboard.press("Enter")
    corrected = watcher.locator("#qna-list .qna-question", has_text="Where are the slides?")
    expect(corrected).to_be_visible()
    expect(section.locator(".mod-original")).to_have_text("as asked: Wher are the slides?")
    stored = Question.objects.get(board=qna_reads.board_of(session))
    assert (stored.text, stored.original) == ("Where are the slides?", "Wher are the slides?")

    # H hides it from every phone; a click on Restore brings it back.
    section.locator('.mod-rows[data-state="shown"] .mod-row').first.focus()
    queue.keyboard.press("h")
    expect(corrected).to_have_count(0)
    hidden = section.locator('.mod-rows[data-state="hidden"] .mod-row')
    expect(hidden).to_have_count(1)
    expect(section.locator(".mod-counts")).to_contain_text("0 waiting · 1 hidden")
    hidden.first.get_by_role("button", name="Restore").click()
    expect(corrected).to_be_visible()
    expect(hidden).to_have_count(0)

    results = Axe().run(
        queue, options={"resultTypes": ["violations"], "rules": {"target-size": {"enabled": True}}}
    )
    assert [v["id"] for v in results.response["violations"]] == []
    shot(queue, "after-1280x800-light")
    assert errors == []
