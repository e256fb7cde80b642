"""The results page in real Chromium (Debian's, driven by Playwright) against the three
roles running as separate processes: it changes live, survives a results server restart
and is still correct without JavaScript."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from polls.models import Poll
from tests.support import processes
from tests.support.browser import EVENTUALLY_MS
from tests.support.clients import Browser, results_of, results_socket

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.processes,
]

SCREENSHOT = processes.ARTIFACTS / "results-page.png"
NO_JS_SCREENSHOT = processes.ARTIFACTS / "results-page-no-js.png"


def row(page: Page, poll: Poll, label: str) -> Any:
    return page.locator(f'[data-choice="{poll.choices.get(label=label).pk}"]')


def bar_share(page: Page, poll: Poll, label: str) -> float:
    """How much of its track a choice's bar fills, as the viewer sees it (0..1)."""
    fill = row(page, poll, label).locator(".fill").bounding_box()
    track = row(page, poll, label).locator(".bar").bounding_box()
    assert fill is not None
    assert track is not None
    return float(fill["width"] / track["width"])


def wait_for_share(page: Page, poll: Poll, label: str, share: float) -> None:
    """Waits out the bar's CSS transition."""
    processes.wait_for(
        lambda: abs(bar_share(page, poll, label) - share) < 0.01,
        timeout=EVENTUALLY_MS / 1000,
        what=f"the {label} bar at {share:.0%}",
    )


def vote_in_page(page: Page, label: str) -> None:
    """A person picks a choice and submits the form (the voting page needs no script)."""
    page.get_by_label(label).check()
    page.get_by_role("button", name="Vote").click()
    expect(page.get_by_text("Vote received")).to_be_visible()


def test_a_vote_in_one_page_moves_the_bars_in_another_without_a_reload(
    poll: Poll, open_page: Callable[..., Page], worker: Any, voting: Any, results: Any
) -> None:
    viewer = open_page(f"{results.url}/polls/{poll.slug}/results/")
    errors: list[str] = []  # script errors and CSP violations alike
    viewer.on("pageerror", lambda error: errors.append(str(error)))
    viewer.on(
        "console",
        lambda m: (
            errors.append(f"{m.text} {m.location.get('url')}")
            if m.type == "error" and not m.location.get("url", "").endswith("/favicon.ico")
            else None
        ),
    )
    viewer.reload()
    expect(viewer.locator("#live")).to_have_text("live")
    expect(viewer.locator("#total")).to_have_text("0")
    assert bar_share(viewer, poll, "Cats") == 0
    viewer.evaluate("window.__marker = 'the same page'")
    first_seal = viewer.locator("#seal-hash").get_attribute("data-hash")

    alice = open_page(f"{voting.url}/polls/{poll.slug}/")
    results_link = alice.get_by_role("link", name="See the live results")
    assert (results_link.get_attribute("href") or "").endswith(f"/polls/{poll.slug}/results/")
    vote_in_page(alice, "Cats")

    expect(row(viewer, poll, "Cats").locator(".votes")).to_have_text("1")
    expect(row(viewer, poll, "Cats").locator(".percent")).to_have_text("100")
    expect(viewer.locator("#total")).to_have_text("1")
    expect(viewer.locator("#total-unit")).to_have_text("vote")
    wait_for_share(viewer, poll, "Cats", 1.0)
    # The poll's seal moves with the ballot, in the same update (seal.js).
    expect(viewer.locator("#seal-hash")).not_to_have_attribute("data-hash", first_seal or "")

    bob = open_page(f"{voting.url}/polls/{poll.slug}/")
    vote_in_page(bob, "Dogs")
    expect(viewer.locator("#total")).to_have_text("2")
    expect(row(viewer, poll, "Dogs").locator(".votes")).to_have_text("1")
    expect(row(viewer, poll, "Cats").locator(".percent")).to_have_text("50")
    wait_for_share(viewer, poll, "Cats", 0.5)
    wait_for_share(viewer, poll, "Dogs", 0.5)

    carol = open_page(f"{voting.url}/polls/{poll.slug}/")
    vote_in_page(carol, "Cats")
    expect(row(viewer, poll, "Cats").locator(".percent")).to_have_text("66.7")
    expect(row(viewer, poll, "Dogs").locator(".percent")).to_have_text("33.3")
    wait_for_share(viewer, poll, "Cats", 2 / 3)

    expect(viewer.locator("#live")).to_have_text("live")
    expect(viewer.locator("#poll-status")).to_have_text("open")
    assert viewer.evaluate("window.__marker") == "the same page", "the page was reloaded"
    # And back to the vote from the results page.
    back = viewer.get_by_role("link", name="Back to the vote")
    assert (back.get_attribute("href") or "").endswith(f"/polls/{poll.slug}/")

    assert errors == []
    viewer.screenshot(path=str(SCREENSHOT), full_page=True, animations="disabled")


def test_without_javascript_the_page_shows_current_totals_after_a_reload(
    poll: Poll, open_page: Callable[..., Page], worker: Any, voting: Any, results: Any
) -> None:
    page = open_page(f"{results.url}/polls/{poll.slug}/results/", java_script_enabled=False)
    expect(page.locator("#total")).to_have_text("0")
    expect(page.locator("#live")).to_have_text("reload for current totals")

    dogs = poll.choices.get(label="Dogs")
    assert Browser(voting.url).vote_api(poll.slug, dogs.pk).status_code == 202
    processes.wait_for(lambda: results_of(results.url, poll.slug)["total"] == 1, what="the vote")

    page.reload()
    expect(page.locator("#total")).to_have_text("1")
    expect(row(page, poll, "Dogs").locator(".votes")).to_have_text("1")
    expect(row(page, poll, "Dogs").locator(".percent")).to_have_text("100")
    expect(row(page, poll, "Cats").locator(".percent")).to_have_text("0")
    # The bar itself: a <progress> filled to the vote's share, drawn without any script.
    meter = row(page, poll, "Dogs").locator("progress")
    assert meter.get_attribute("value") == "1"
    assert meter.get_attribute("max") == "1"
    assert meter.is_visible()
    page.screenshot(path=str(NO_JS_SCREENSHOT), full_page=True)


def test_the_page_reconnects_after_a_results_server_restart_and_catches_up(
    poll: Poll, open_page: Callable[..., Page], worker: Any, voting: Any
) -> None:
    port = processes.free_port()
    server = processes.results_server(port=port).start().wait_ready()
    replacement: processes.WebServer | None = None
    try:
        page = open_page(f"{server.url}/polls/{poll.slug}/results/")
        expect(page.locator("#live")).to_have_text("live")
        page.evaluate("window.__marker = 'the same page'")

        server.stop()
        expect(page.locator("#live")).to_have_text("reconnecting…")

        # Votes stored while no results server runs are pushed to nobody...
        cats = poll.choices.get(label="Cats")
        for _ in range(2):
            assert Browser(voting.url).vote_api(poll.slug, cats.pk).status_code == 202
        processes.wait_for(
            lambda: results_of(voting.url, poll.slug)["total"] == 2, what="the votes stored"
        )
        expect(page.locator("#total")).to_have_text("0")

        # ...and still show once the page is back: it re-syncs from a fresh snapshot.
        replacement = processes.results_server(port=port).start().wait_ready()
        expect(page.locator("#live")).to_have_text("live")
        expect(page.locator("#total")).to_have_text("2")
        expect(row(page, poll, "Cats").locator(".votes")).to_have_text("2")
        assert page.evaluate("window.__marker") == "the same page", "the page was reloaded"
    finally:
        server.stop()
        if replacement is not None:
            replacement.stop()


def test_a_page_whose_socket_is_refused_for_too_many_from_its_address_says_so_and_retries(
    poll: Poll, open_page: Callable[..., Page]
) -> None:
    server = processes.results_server(env={"WS_SOCKETS_PER_ADDRESS": "1"}).start().wait_ready()
    try:
        with results_socket(server.url, poll.slug):  # the address's one socket
            page = open_page(f"{server.url}/polls/{poll.slug}/results/")
            refused = "too many from your network: trying again…"
            expect(page.locator("#live")).to_have_text(refused)
        # Tried again by itself (within 8 s, then 10 s): live once there is room.
        expect(page.locator("#live")).to_have_text("live", timeout=25_000)
    finally:
        server.stop()


# Wraps the page's WebSocket to note when each socket is opened and when it closes
# (performance.now(), in ms), before the page's own script runs.
COUNT_SOCKETS = """
(() => {
  const Real = window.WebSocket;
  const log = (window.__sockets = { opened: [], closed: [] });
  window.WebSocket = class extends Real {
    constructor(...args) {
      super(...args);
      log.opened.push(performance.now());
      this.addEventListener("close", () => log.closed.push(performance.now()));
    }
  };
})();
"""
# docs/live-results.md: the n-th retry (n from 0) waits a random delay in
# [0, min(10 s, 0.5 s x 2^n)], and n starts from 0 again once a snapshot arrives.
BACKOFF_FIRST_MS = 500
BACKOFF_MAX_MS = 10_000
TIMER_SLACK_MS = 250  # a timer fires a little late, never early
OUTAGE_MS = 10_000


def socket_log(page: Page) -> dict[str, list[float]]:
    log: dict[str, list[float]] = page.evaluate("window.__sockets")
    return log


def retry_delays(log: dict[str, list[float]], down: int) -> list[tuple[float, float]]:
    """(delay, cap) of each retry after socket number `down` closed: the time from one
    socket's close to the next socket's opening, and what the backoff allows for it."""
    opened, closed = log["opened"], log["closed"]
    return [
        (opened[i] - closed[i - 1], min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** (i - down - 1)))
        for i in range(down + 1, len(opened))
    ]


def test_while_the_results_server_is_down_the_page_retries_with_growing_random_delays(
    poll: Poll, open_page: Callable[..., Page]
) -> None:
    port = processes.free_port()
    server = processes.results_server(port=port).start().wait_ready()
    try:
        page = open_page(f"{server.url}/polls/{poll.slug}/results/", init_script=COUNT_SOCKETS)
        expect(page.locator("#live")).to_have_text("live")
        assert len(socket_log(page)["opened"]) == 1

        server.stop()
        expect(page.locator("#live")).to_have_text("reconnecting…")
        down_at = socket_log(page)["closed"][0]
        # (Under load the stop itself may outlast the window: then there is nothing to wait.)
        time.sleep(
            max(0.0, (down_at + OUTAGE_MS - page.evaluate("performance.now()")) / 1000 + 0.1)
        )
        log = socket_log(page)
        retries = [t for t in log["opened"][1:] if t <= down_at + OUTAGE_MS]
        delays = retry_delays(log, down=0)
        # Backoff, not a loop: each delay within its growing cap (so a fixed delay
        # longer than the first cap fails here)...
        assert all(delay <= cap + TIMER_SLACK_MS for delay, cap in delays), delays
        # ...and at most a dozen tries in 10 s (on average 0.25 s, 0.5 s, 1 s, 2 s, 4 s,
        # then 5 s apart; a fixed delay under 0.8 s, or none, makes more), yet it keeps
        # trying (the caps add up to 7.5 s by the fourth try).
        assert 3 <= len(retries) <= 12, delays

        # Back, and a snapshot arrives: the next outage starts again from the first cap.
        server = processes.results_server(port=port).start().wait_ready()
        page.evaluate("window.dispatchEvent(new Event('online'))")  # retry now, not later
        expect(page.locator("#live")).to_have_text("live")
        live_socket = len(socket_log(page)["opened"]) - 1
        server.stop()
        processes.wait_for(
            lambda: len(socket_log(page)["opened"]) >= live_socket + 3,
            timeout=15,
            what="two retries after the reset",
        )
        after_reset = retry_delays(socket_log(page), down=live_socket)[:2]
        assert [cap for _, cap in after_reset] == [500, 1000]
        assert all(delay <= cap + TIMER_SLACK_MS for delay, cap in after_reset), after_reset
    finally:
        server.stop()
