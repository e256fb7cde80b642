"""Word clouds and open answers where people meet them, in real Chromium against the site
(the front door, the three roles as processes): three phones send words, the presenter's
cloud grows without a reload and a word once placed does not move when others are added;
the answer wall gets its cards, newest or most common first, one shown big; the audience
sees the cloud after the reveal. Screenshots (test-artifacts/screenshots/, looked at):
the projector at 1920x1080 (dark, as the presenter's view always is), the results page at
1920x1080 and a phone at 390x844, light and dark."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
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
PHONE: ViewportSize = {"width": 390, "height": 844}


@pytest.fixture
def session() -> LiveSession:
    tag = os.urandom(3).hex()
    owner = User.objects.create_user(f"presenter-{tag}", password="pw-present-1")
    polls = [
        organising.create_poll(
            slug=f"words-{tag}", question="One word for today?", labels=[],
            kind=Poll.Kind.WORDCLOUD, max_entries=3, open_now=True,
        ),
        organising.create_poll(
            slug=f"ideas-{tag}", question="What should we do better next time?", labels=[],
            kind=Poll.Kind.OPENANSWER, open_now=True,
        ),
    ]  # fmt: skip
    made = live_sessions.create_session(title="Team day", owner=owner, polls=polls)
    return live_sessions.go_live(made)


def presenter_page(
    contexts: Callable[..., BrowserContext], site: Any, session: LiveSession
) -> Page:
    context = contexts(PROJECTOR)
    client = Client()
    client.force_login(session.owner)
    cookie = client.cookies["sessionid"].value
    context.add_cookies([{"name": "sessionid", "value": cookie, "url": site.url}])
    page = context.new_page()
    page.goto(f"{site.url}/present/{session.code}/")
    expect(page.locator("#session-live")).to_have_text("live")
    return page


def phone(
    contexts: Callable[..., BrowserContext], site: Any, session: LiveSession, **options: Any
) -> Page:
    page = contexts(PHONE, **options).new_page()
    page.goto(f"{site.url}/s/{session.code}/")
    expect(page.locator("#session-live")).to_have_text("live")
    return page


def send_words(page: Page, *words: str) -> None:
    inputs = page.locator("form.vote input[name='entry']")
    for n, word in enumerate(words):
        inputs.nth(n).fill(word)
    page.locator("form.vote button[type='submit']").click()
    expect(page.get_by_text("Vote received")).to_be_visible()


def placed(page: Page) -> dict[str, tuple[float, float]]:
    """Where each word of the presenter's cloud is, by its key."""
    return page.evaluate(
        """() => Object.fromEntries(Array.from(
            document.querySelectorAll('#cloud-words span[data-key]'),
            s => [s.dataset.key, [s.offsetLeft, s.offsetTop]]))"""
    )


def shot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / name), animations="disabled")


def test_phones_send_words_and_the_presenters_cloud_grows_in_place(
    contexts: Callable[..., BrowserContext], site: Any, session: LiveSession
) -> None:
    presenter = presenter_page(contexts, site, session)
    errors = watch_errors(presenter)
    presenter.evaluate("window.__marker = 'the same page'")
    phones = [phone(contexts, site, session) for _ in range(3)]

    send_words(phones[0], "Python", "Django", "Celery")
    cloud = presenter.locator("#cloud-words")
    for key in ("python", "django", "celery"):
        expect(cloud.locator(f'span[data-key="{key}"]')).to_be_visible()
    expect(presenter.locator("#voters")).to_have_text("1")
    before = placed(presenter)

    # More words, each said once: every word keeps its size step, so none moves.
    send_words(phones[1], "Redis", "Postgres", "Channels")
    send_words(phones[2], "Kubernetes", "nginx")
    for key in ("redis", "postgres", "channels", "kubernetes", "nginx"):
        expect(cloud.locator(f'span[data-key="{key}"]')).to_be_visible()
    after = placed(presenter)
    assert {key: after[key] for key in before} == before, "a placed word moved"
    assert len(after) == 8
    # The text alternative: the ranked list with counts, as the page without JavaScript.
    expect(presenter.locator("#terms .term")).to_have_count(8)
    expect(presenter.locator("#cloud-entries")).to_have_text("8")
    assert presenter.evaluate("window.__marker") == "the same page", "the presenter reloaded"

    # A word given twice: the largest count doubles, so every word changes its size step
    # (and is laid out again); "python" is the largest.
    send_words(phone(contexts, site, session), "python")
    expect(cloud.locator('span[data-key="python"]')).to_have_attribute("data-step", "5")
    expect(cloud.locator('span[data-key="nginx"]')).to_have_attribute("data-step", "4")
    expect(presenter.locator('#terms .term[data-key="python"] .term-count')).to_have_text("2")
    shot(presenter, "wordcloud-projector-1920x1080-dark.png")
    assert errors == []

    # The reveal: phones draw the cloud too, light and dark.
    presenter.keyboard.press("r")
    for scheme in ("light", "dark"):
        seen = phone(contexts, site, session, color_scheme=scheme)
        expect(seen.locator('#cloud-words span[data-key="python"]')).to_be_visible()
        shot(seen, f"wordcloud-phone-{scheme}.png")


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_results_page_draws_the_cloud_live_and_lists_it_without_javascript(
    contexts: Callable[..., BrowserContext], site: Any, session: LiveSession, scheme: str
) -> None:
    poll = live_sessions.ordered_polls(session)[0]
    page = contexts(PROJECTOR, color_scheme=scheme).new_page()
    errors = watch_errors(page)
    page.goto(f"{site.url}/polls/{poll.slug}/results/")
    expect(page.locator("#live")).to_have_text("live")
    voter = phone(contexts, site, session)
    send_words(voter, "Kraków", "Montréal", "Zürich")
    expect(page.locator('#cloud-words span[data-key="kraków"]')).to_be_visible()
    expect(page.locator("#terms .term")).to_have_count(3)
    shot(page, f"wordcloud-results-1920x1080-{scheme}.png")
    assert errors == []
    # Without JavaScript: the ranked list with counts, and no cloud.
    plain = contexts(PHONE, java_script_enabled=False, color_scheme=scheme).new_page()
    plain.goto(f"{site.url}/polls/{poll.slug}/results/")
    expect(plain.locator("#terms .term")).to_have_count(3)
    expect(plain.locator("#cloud-words")).to_be_hidden()
    shot(plain, f"wordcloud-results-phone-no-js-{scheme}.png")


def test_answers_appear_as_cards_newest_or_most_common_first_and_one_shows_big(
    contexts: Callable[..., BrowserContext], site: Any, session: LiveSession
) -> None:
    presenter = presenter_page(contexts, site, session)
    errors = watch_errors(presenter)
    presenter.keyboard.press("PageDown")
    expect(presenter.locator("#question")).to_have_text("What should we do better next time?")
    phones = [phone(contexts, site, session) for _ in range(3)]
    for page, text in zip(phones, ["More breaks", "More breaks", "more breaks!"], strict=True):
        page.locator("form.vote textarea[name='answer']").fill(text)
        page.locator("form.vote button[type='submit']").click()
        expect(page.get_by_text("Vote received")).to_be_visible()
    cards = presenter.locator("#cards .answer-card")
    expect(cards).to_have_count(2)
    expect(cards.first.locator(".answer-text")).to_have_text("more breaks!")  # the newest
    presenter.get_by_role("button", name="Most common first").click()
    expect(cards.first.locator(".answer-text")).to_have_text("More breaks")
    expect(cards.first.locator(".answer-count")).to_contain_text("given 2 times")
    shot(presenter, "answers-projector-1920x1080-dark.png")
    cards.first.get_by_role("button").click()
    expect(presenter.locator("#spotlight .spotlight-text")).to_have_text("More breaks")
    shot(presenter, "answers-spotlight-1920x1080-dark.png")
    presenter.keyboard.press("Escape")
    expect(presenter.locator("#spotlight")).to_have_count(0)
    expect(presenter.locator("#question")).to_have_text("What should we do better next time?")
    assert errors == []
    # A phone's counter counts what people see: an emoji with a skin tone is one.
    typing = phones[0]
    typing.reload()
    typing.locator("form.vote textarea[name='answer']").fill("\U0001f44d\U0001f3fd ok")
    expect(typing.locator(".text-count")).to_have_text("4/280")
    shot(typing, "answers-phone-light.png")
