"""A quiz in real Chromium against the whole site (issue 36): a presenter and two phones
play two questions. The countdown each page shows is the server's (within a second of
Redis's deadline); one phone answers right, the other wrong; an answer after the deadline
is refused with the message; the reveal marks right and wrong with the points; the
leaderboard orders by score and shows a nickname; axe finds nothing. Screenshots in
test-artifacts/screenshots/: quiz-presenter-countdown, quiz-presenter-leaderboard,
quiz-phone-right, quiz-phone-wrong."""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from playwright.sync_api import BrowserContext, Page, ViewportSize, expect

from polls import live_sessions, organising, quiz
from polls.models import LiveSession, Poll, Vote
from tests.browser.test_accessibility import audit
from tests.browser.test_browser_sessions import (
    PHONE,
    PROJECTOR,
    SCREENSHOTS,
    ballot,
    phone,
    presenter_page,
    question,
)
from tests.support.browser import watch_errors

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.processes]

SECONDS = 5  # the shortest countdown: the test waits for two of them
SMALL_PROJECTOR: ViewportSize = {"width": 1280, "height": 720}


@pytest.fixture
def owner() -> User:
    return User.objects.create_user(f"quizmaster-{os.urandom(3).hex()}", password="pw-quiz-1")


@pytest.fixture
def session(owner: User) -> LiveSession:
    tag = os.urandom(3).hex()
    polls = [
        organising.create_poll(
            slug=f"capital-{tag}", question="What is the capital of France?",
            labels=["Lyon", "Paris", "Nice"], open_now=True,
            options={"quiz_correct": "2", "quiz_seconds": SECONDS},
        ),
        organising.create_poll(
            slug=f"planet-{tag}", question="Which planet is the largest?",
            labels=["Jupiter", "Mars"], open_now=True,
            options={"quiz_correct": "1", "quiz_seconds": SECONDS, "quiz_points": 500},
        ),
    ]  # fmt: skip
    made = live_sessions.create_session(title="Pub quiz", owner=owner, polls=polls)
    return live_sessions.go_live(made)


def shown_left(page: Page) -> int:
    return int(page.locator("[data-countdown]").inner_text())


def assert_server_countdown(page: Page, session: LiveSession) -> None:
    """The seconds the page shows are the server's: within 1 s of Redis's deadline."""
    poll = LiveSession.objects.get(pk=session.pk).current_poll
    assert poll is not None
    clock = quiz.countdown(poll)
    assert clock is not None
    shown = shown_left(page)
    server = math.ceil(clock.left_ms(quiz.now_ms()) / 1000)
    assert abs(shown - server) <= 1, (shown, server)


def vote(page: Page, label: str) -> None:
    ballot(page, label).check()
    page.get_by_role("button", name="Vote").click()
    expect(page.get_by_text("Vote received")).to_be_visible()


def wait_out(session: LiveSession) -> None:
    poll = LiveSession.objects.get(pk=session.pk).current_poll
    assert poll is not None
    clock = quiz.countdown(poll)
    assert clock is not None
    time.sleep(clock.left_ms(quiz.now_ms()) / 1000 + 0.3)


def test_two_phones_play_two_questions_against_the_servers_clock(
    contexts: Callable[..., BrowserContext], site: Any, session: LiveSession
) -> None:
    first, second = live_sessions.ordered_polls(session)
    presenter = presenter_page(contexts, site, session)
    fast, slow = phone(contexts, site, session), phone(contexts, site, session)
    # A phone without JavaScript: its form was loaded while the clock ran.
    plain = contexts(PHONE, java_script_enabled=False).new_page()
    errors = [watch_errors(p) for p in (presenter, fast, slow)]
    for p in (fast, slow):
        expect(p.locator("#session-live")).to_have_text("live")
        expect(p.locator(".quiz-wait")).to_be_visible()
        expect(p.get_by_role("button", name="Vote")).to_be_disabled()

    before_start = audit(slow, "quiz phone before the start")  # the nickname form
    # The fast phone picks a nickname for the leaderboard (before the first question).
    fast.get_by_label("Pick a nickname for the leaderboard (optional)").fill("Speedy")
    fast.get_by_role("button", name="Save nickname").click()
    expect(fast.get_by_text("You play as Speedy.").first).to_be_visible()
    expect(fast.locator("#session-live")).to_have_text("live")

    # Question 1: S starts the countdown; both pages show the server's time left.
    fetched: list[str] = []
    fast.on("request", lambda r: fetched.append(r.url) if "part=" in r.url else None)
    presenter.keyboard.press("s")
    for p in (presenter, fast, slow):
        expect(p.locator("[data-countdown]")).to_be_visible()
        assert_server_countdown(p, session)
    assert fetched == [], "a phone starts the countdown from the event, fetching nothing"
    plain.goto(f"{site.url}/s/{session.code}/")
    assert_server_countdown(plain, session)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    presenter.screenshot(
        path=str(SCREENSHOTS / "quiz-presenter-countdown.png"), animations="disabled"
    )
    vote(fast, "Paris")
    vote(slow, "Nice")
    wait_out(session)
    # Eight more players, all wrong (stored as the worker would): the leaderboard is full.
    stored_answers(first, [f"anon:extra-{n}" for n in range(8)], "Lyon")
    for p in (presenter, fast, slow):
        expect(p.locator("[data-time-up]")).to_be_visible()
    # Time is up: each phone's answer is in (a 202 is counted): no "being stored", and no
    # button to change it.
    for p in (fast, slow):
        expect(p.locator(".your-vote")).to_contain_text("Time is up: your answer is in.")
        expect(p.get_by_text("being stored")).to_have_count(0)
        expect(p.locator("form.vote button[type=submit]")).to_be_hidden()
    fast.screenshot(path=str(SCREENSHOTS / "quiz-phone-time-up.png"), animations="disabled")
    # The late answer: refused at admission, with the message.
    plain.locator("form.vote").get_by_label("Paris").check()
    plain.get_by_role("button", name="Vote").click()
    expect(plain.get_by_text("Time is up: this answer came after the countdown.")).to_be_visible()

    # R reveals: the projector marks the answer; each phone says right or wrong, from its
    # own part of the message (its socket picked it for its voter): no phone fetches.
    slow.on("request", lambda r: fetched.append(r.url) if "part=" in r.url else None)
    presenter.keyboard.press("r")
    expect(presenter.locator(".quiz-correct")).to_contain_text("Paris")
    for p in (presenter, fast, slow):  # the chart marks the correct choice
        expect(p.locator("#results .quiz-right")).to_contain_text("Paris ✓ correct answer")
    expect(fast.locator(".quiz-result.right")).to_contain_text("Correct! +")
    expect(fast.locator(".quiz-standing")).to_contain_text("place 1")
    expect(slow.locator(".quiz-result.wrong")).to_have_text("Not correct: 0 points.")
    expect(slow.locator(".quiz-standing")).to_contain_text("place 2")
    for p in (fast, slow):
        expect(p.locator("#results")).to_be_visible()
    assert fetched == [], "each phone's result comes with the reveal's message, no fetch"
    fast.screenshot(path=str(SCREENSHOTS / "quiz-phone-right.png"), animations="disabled")
    slow.screenshot(path=str(SCREENSHOTS / "quiz-phone-wrong.png"), animations="disabled")
    # The projector: the leaderboard beside the chart, both above the fold on either screen.
    for size in (PROJECTOR, SMALL_PROJECTOR):
        presenter.set_viewport_size(size)
        for box in ("#leaderboard-box", "#results", ".quiz-correct"):
            assert_on_screen(presenter, box)
        presenter.screenshot(
            path=str(SCREENSHOTS / f"quiz-presenter-leaderboard-{size['width']}.png"),
            animations="disabled",
        )
    presenter.set_viewport_size(PROJECTOR)

    # Question 2: "next" before nothing else; the slow phone is right this time.
    presenter.keyboard.press("PageDown")
    for p in (fast, slow):
        expect(question(p)).to_have_text(second.question)
    presenter.keyboard.press("s")
    for p in (fast, slow):
        expect(p.locator("[data-countdown]")).to_be_visible()
    vote(slow, "Jupiter")
    vote(fast, "Mars")
    wait_out(session)
    fetched.clear()
    presenter.keyboard.press("r")

    # The leaderboard orders by score, as the scores computed from stored answers say.
    table = quiz.standings(LiveSession.objects.get(pk=session.pk))
    assert [row.score > 0 for row in table] == [True, True] + [False] * 8
    fast_key = Vote.objects.get(poll=first, choice__label="Paris").voter_key
    assert table[0].player == fast_key, "1,000-point question right beats 500-point one"
    # The last quiz question ends the quiz: the podium on the projector (the fast phone
    # first, the slow one second, as the scores computed from stored answers say)...
    steps = presenter.locator(".podium .step")
    expect(steps).to_have_count(2)
    expect(steps.nth(0)).to_contain_text("Place 1")
    expect(steps.nth(0)).to_contain_text("Speedy")
    expect(steps.nth(0)).to_contain_text(f"{table[0].score} points")
    expect(steps.nth(1)).to_contain_text("Place 2")
    expect(steps.nth(1)).to_contain_text(quiz.player_name(table[1].player))
    expect(presenter.locator(".podium-players")).to_have_text("10 players in all.")
    # The players off the podium (no points) follow it, with their shared place.
    expect(presenter.locator(".final-rest li")).to_have_count(8)
    expect(presenter.locator(".final-rest li").first).to_contain_text("3.")
    for size in (PROJECTOR, SMALL_PROJECTOR):
        presenter.set_viewport_size(size)
        for box in ("#podium-box", "#results"):
            assert_on_screen(presenter, box)
        presenter.screenshot(
            path=str(SCREENSHOTS / f"quiz-presenter-podium-{size['width']}.png"),
            animations="disabled",
        )
    presenter.set_viewport_size(PROJECTOR)
    # ... and on each phone its own final place, with the podium, from the reveal's message.
    expect(fast.locator(".quiz-standing")).to_contain_text("place 1")
    expect(slow.locator(".quiz-standing")).to_contain_text("place 2")
    expect(fast.locator(".quiz-final")).to_have_text(
        f"The quiz is over: you finished in place 1 of 10 with {table[0].score} points."
    )
    expect(slow.locator(".quiz-final")).to_contain_text("place 2 of 10")
    expect(slow.locator(".podium .step").first).to_contain_text("Speedy")
    assert fetched == [], "the podium comes with the reveal's message too"
    slow.screenshot(path=str(SCREENSHOTS / "quiz-phone-podium.png"), animations="disabled")
    # T hides the board (the answer alone on the projector), and shows it again.
    presenter.keyboard.press("t")
    expect(presenter.locator("#podium-box")).to_be_hidden()
    expect(presenter.locator(".quiz-correct")).to_be_visible()
    presenter.keyboard.press("t")
    expect(presenter.locator("#podium-box")).to_be_visible()

    violations = before_start + audit(presenter, "quiz presenter") + audit(fast, "quiz phone")
    # The session ends: the phones keep their final place and the podium.
    live_sessions.end(LiveSession.objects.get(pk=session.pk))
    expect(slow.get_by_text("This session has ended. Thank you!")).to_be_visible()
    expect(slow.locator(".quiz-final")).to_contain_text("place 2 of 10")
    expect(slow.locator(".podium")).to_be_visible()
    assert violations == []
    assert errors == [[], [], []]


def stored_answers(poll: Poll, voter_keys: list[str], label: str) -> None:
    """Answers stored one second into the countdown, as the worker stores them."""
    clock = quiz.countdown(poll)
    assert clock is not None
    choice = poll.choices.get(label=label).pk
    for key in voter_keys:
        Vote.objects.create(poll=poll, voter_key=key, choice_id=choice, ballot=[choice],
                            cast_at=timezone.now(), admitted_ms=clock.opens_ms + 1000)  # fmt: skip


def assert_on_screen(page: Page, selector: str) -> None:
    """The element is wholly within the window, not below the fold (nor beside it)."""
    box = page.locator(selector).bounding_box()
    size = page.viewport_size
    assert box is not None, selector
    assert size is not None
    assert box["y"] >= 0, (selector, box)
    assert box["y"] + box["height"] <= size["height"], (selector, box, size)
    assert box["x"] >= 0, (selector, box)
    assert box["x"] + box["width"] <= size["width"], (selector, box, size)
