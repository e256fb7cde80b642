"""The public pages as a new user meets them, in real Chromium (Debian's) through the front
door with every role running: the vote just cast shows at once, the favicon loads, the
radios are big enough, the share link works with the keyboard, and every public page is
photographed at desktop and phone sizes in light and dark (test-artifacts/screenshots/)
without sideways scrolling."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import BrowserContext, Page, expect

from polls import organising
from polls.models import Poll
from polls.responses import error_page
from tests.support import processes
from tests.support.votes import stored_vote

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.processes,
]

SCREENSHOTS = processes.ARTIFACTS / "screenshots"
SIZES = {"desktop": (1280, 800), "phone": (390, 844)}


@pytest.fixture
def open_at(contexts: Callable[..., BrowserContext]) -> Callable[..., Page]:
    """A page in a context of its own (own cookies), at a size and colour scheme."""

    def open_(url: str, size: str = "desktop", scheme: Any = "light", **options: Any) -> Page:
        width, height = SIZES[size]
        page = contexts(
            {"width": width, "height": height}, color_scheme=scheme, **options
        ).new_page()
        page.goto(url)
        return page

    return open_


def choice_label(page: Page, label: str) -> Any:
    return page.locator("label.choice", has_text=label)


def test_after_changing_cats_to_dogs_the_page_shows_dogs_at_once_then_stored_without_reload(
    poll: Poll, open_at: Callable[..., Page], site: Any
) -> None:
    page = open_at(f"{site.url}/polls/{poll.slug}/")
    page.get_by_label("Cats").check()
    page.get_by_role("button", name="Vote").click()
    expect(page.locator("#your-vote")).to_contain_text("Your vote is stored.")
    expect(choice_label(page, "Cats")).to_contain_text("(your vote)")

    # The worker is held, so the change cannot be stored before the page shows.
    site.worker.kill(signal.SIGSTOP)
    try:
        page.get_by_label("Dogs").check()
        page.get_by_role("button", name="Change my vote").click()
        expect(page.get_by_text("Vote received")).to_be_visible()
        expect(page.get_by_label("Dogs")).to_be_checked()
        expect(choice_label(page, "Dogs")).to_contain_text("(your vote, being stored)")
        expect(choice_label(page, "Cats")).not_to_contain_text("your vote")
        expect(page.locator("#your-vote")).to_contain_text("Your vote is being stored")
        expect(page.locator("#your-vote")).to_contain_text("You picked Dogs")
        page.evaluate("window.__marker = 'the same page'")
        time.sleep(1)  # the page keeps asking meanwhile
    finally:
        site.worker.kill(signal.SIGCONT)
    started = time.monotonic()
    expect(page.locator("#your-vote")).to_contain_text("Your vote is stored.")
    print(f"the mark said stored {time.monotonic() - started:.2f} s after the worker resumed")
    expect(choice_label(page, "Dogs")).to_contain_text("(your vote)")
    expect(choice_label(page, "Dogs")).not_to_contain_text("being stored")
    assert page.evaluate("window.__marker") == "the same page", "the page was reloaded"


def test_no_request_of_a_page_load_fails_the_favicon_included(
    poll: Poll, open_at: Callable[..., Page], site: Any
) -> None:
    failed: list[str] = []
    for path in ("/", f"/polls/{poll.slug}/", f"/polls/{poll.slug}/results/"):
        page = open_at("about:blank")
        page.on(
            "response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None
        )
        page.goto(f"{site.url}{path}")
        page.wait_for_load_state("networkidle")
        icon = page.evaluate(
            "fetch(document.querySelector('link[rel=icon]').href).then(r => r.status)"
        )
        assert icon == 200, path
        assert page.evaluate("fetch('/favicon.ico').then(r => r.status)") == 200
    assert failed == []


def test_radio_buttons_are_big_enough_to_see_and_hit(
    poll: Poll, open_at: Callable[..., Page], site: Any
) -> None:
    page = open_at(f"{site.url}/polls/{poll.slug}/", size="phone")
    box = page.get_by_label("Cats").bounding_box()
    assert box is not None
    print(f"radio: {box['width']:.0f}x{box['height']:.0f} px")
    assert box["width"] >= 20
    assert box["height"] >= 20


def test_the_share_link_copies_the_polls_address_with_the_keyboard(
    poll: Poll, open_at: Callable[..., Page], site: Any
) -> None:
    page = open_at(
        f"{site.url}/polls/{poll.slug}/", permissions=["clipboard-read", "clipboard-write"]
    )
    share = page.locator("[data-share-url]")
    has_web_share = page.evaluate("typeof navigator.share === 'function'")
    expect(share).to_have_text("Share this poll" if has_web_share else "Copy link")
    if has_web_share:
        pytest.skip("this Chromium has the Web Share API: sharing opens the system's dialog")
    share.focus()
    page.keyboard.press("Enter")
    address = share.get_attribute("data-share-url")
    expect(page.locator(".share-said")).to_have_text(f"Link copied: {address}")
    assert page.evaluate("navigator.clipboard.readText()") == address
    assert address
    assert address.endswith(f"/polls/{poll.slug}/")


def test_without_javascript_the_share_link_is_a_plain_link_to_the_poll(
    poll: Poll, open_at: Callable[..., Page], site: Any
) -> None:
    page = open_at(f"{site.url}/polls/{poll.slug}/", java_script_enabled=False)
    link = page.get_by_role("link", name="Link to this poll")
    assert (link.get_attribute("href") or "").endswith(f"/polls/{poll.slug}/")
    og = page.locator('meta[property="og:title"]').get_attribute("content")
    assert og == "Cats or dogs?"


def answer_with(status: int, body: str) -> Callable[..., None]:
    def answer(route: Any, request: Any = None) -> None:
        route.fulfill(status=status, body=body, content_type="text/html")

    return answer


def test_screenshots_of_every_public_page_at_both_sizes_in_light_and_dark(
    make_poll: Callable[..., Poll], open_at: Callable[..., Page], site: Any
) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    suffix = os.urandom(3).hex()
    live = make_poll(slug=f"live-{suffix}", question="Which pet suits an office?",
                     labels=("Cats", "Dogs", "Fish"))  # fmt: skip
    for n, label in enumerate(["Cats"] * 9 + ["Dogs"] * 7):
        stored_vote(live, label, f"anon:shot-{n}")
    done = make_poll(slug=f"done-{suffix}", question="Friday lunch: pizza or tacos?",
                     labels=("Pizza", "Tacos"))  # fmt: skip
    for n, label in enumerate(["Pizza"] * 3 + ["Tacos"] * 5):
        stored_vote(done, label, f"anon:shot-{n}")
    organising.close_poll(done)
    get_user_model().objects.create_user("ada", password="correct-horse-battery-9")
    pages = {
        "index": "/",
        "poll": f"/polls/{live.slug}/",
        "results": f"/polls/{live.slug}/results/",
        "closed-poll": f"/polls/{done.slug}/",
        "login": f"/accounts/login/?next=/polls/{live.slug}/",
        # The session's roles run with debug on (Django's own 404 page): the product's
        # error pages, as the run command serves them, are answered by the browser here.
        "not-found": "/no-such-page",
        "server-error": "/a-page-that-failed",
        "unavailable": "/a-page-that-waits",
    }
    errors = {"not-found": 404, "server-error": 500, "unavailable": 503}
    wide: list[str] = []
    for name, path in pages.items():
        for size in SIZES:
            for scheme in ("light", "dark"):
                if name in errors:
                    page = open_at("about:blank", size=size, scheme=scheme)
                    body = error_page(errors[name], "").content.decode()
                    page.route(f"{site.url}{path}", answer_with(errors[name], body))
                    page.goto(f"{site.url}{path}")
                else:
                    page = open_at(f"{site.url}{path}", size=size, scheme=scheme)
                if name == "results":
                    expect(page.locator("#live")).to_have_text("live")
                    expect(page.locator("#updated")).to_have_text("updated just now")
                page.wait_for_load_state("networkidle")
                overflow = page.evaluate(
                    "document.scrollingElement.scrollWidth - window.innerWidth"
                )
                if overflow > 0:
                    wide.append(f"{name} {size} {scheme}: {overflow}px too wide")
                page.screenshot(
                    path=str(SCREENSHOTS / f"{name}-{size}-{scheme}.png"),
                    full_page=True,
                    animations="disabled",
                )
    assert wide == []
