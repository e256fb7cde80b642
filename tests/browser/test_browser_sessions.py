"""A live session where people meet it, in real Chromium against the site (the front door,
the three roles as processes): one presenter and two phones. The presenter's key moves
both phones to the next question without a reload; a phone's vote moves the presenter's
chart; a lock makes a vote answer with the clear message; a phone without JavaScript
follows on reload; the QR code decodes back to the join link; the embed is live.
Screenshots: the presenter at 1920x1080, a phone at 390x844 (test-artifacts/screenshots/)."""

from __future__ import annotations

import functools
import io
import os
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from playwright.sync_api import BrowserContext, Page, Request, Route, ViewportSize, expect

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
FRAME: ViewportSize = {"width": 800, "height": 450}


@pytest.fixture
def owner() -> User:
    return User.objects.create_user(f"presenter-{os.urandom(3).hex()}", password="pw-present-1")


@pytest.fixture
def session(owner: User) -> LiveSession:
    tag = os.urandom(3).hex()
    polls = [
        organising.create_poll(
            slug=f"room-{tag}", question="Which room should we use next time?",
            labels=["The big hall", "The garden"], open_now=True,
        ),
        organising.create_poll(
            slug=f"talks-{tag}", question="Which talks did you enjoy? (pick any)",
            labels=["Keynote", "Workshop", "Panel"], kind=Poll.Kind.MULTIPLE, open_now=True,
        ),
        organising.create_poll(
            slug=f"rate-{tag}", question="How likely are you to come again?",
            labels=[], kind=Poll.Kind.SCALE, scale_min=1, scale_max=5,
            scale_min_label="Not at all", scale_max_label="Certainly", open_now=True,
        ),
    ]  # fmt: skip
    made = live_sessions.create_session(title="Team day", owner=owner, polls=polls)
    return live_sessions.go_live(made)


def logged_in(context: BrowserContext, user: User, site_url: str) -> None:
    """The presenter's browser with a log-in session (Django's own, in the database)."""
    client = Client()
    client.force_login(user)
    cookie = client.cookies["sessionid"].value
    context.add_cookies([{"name": "sessionid", "value": cookie, "url": site_url}])


def presenter_page(
    contexts: Callable[..., BrowserContext], site: Any, session: LiveSession
) -> Page:
    context = contexts(PROJECTOR)
    logged_in(context, session.owner, site.url)
    page = context.new_page()
    page.goto(f"{site.url}/present/{session.code}/")
    expect(page.locator("#session-live")).to_have_text("live")
    return page


def phone(
    contexts: Callable[..., BrowserContext], site: Any, session: LiveSession, **options: Any
) -> Page:
    page = contexts(PHONE, **options).new_page()
    page.goto(f"{site.url}/join")
    page.get_by_label("The code on the screen").fill(session.code)
    page.get_by_role("button", name="Join").click()
    expect(page).to_have_url(f"{site.url}/s/{session.code}/")
    return page


def note_part_fetch(fetches: list[str], request: Request) -> None:
    if "part=" in request.url:
        fetches.append(request.url)


def ballot(page: Page, label: str) -> Any:
    """A choice's input in the voting form (the results' bars carry the same names)."""
    return page.locator("form.vote").get_by_label(label)


def question(page: Page) -> Any:
    return page.locator("#question")


def test_the_presenters_key_moves_every_phone_and_a_phones_vote_moves_the_chart(
    contexts: Callable[..., BrowserContext], site: Any, session: LiveSession
) -> None:
    first, second, third = live_sessions.ordered_polls(session)
    presenter = presenter_page(contexts, site, session)
    presenter_errors = watch_errors(presenter)
    phones = [phone(contexts, site, session), phone(contexts, site, session)]
    phone_errors = [watch_errors(p) for p in phones]
    part_fetches: dict[Page, list[str]] = {p: [] for p in phones}
    for p in phones:
        p.on("request", functools.partial(note_part_fetch, part_fetches[p]))
    for p in phones:
        expect(p.locator("#session-live")).to_have_text("live")
        expect(question(p)).to_have_text(first.question)
        p.evaluate("window.__marker = 'the same page'")
    expect(presenter.locator("#devices")).to_have_text("2")

    # A phone votes: the presenter's chart and count of voters move.
    ballot(phones[0], "The garden").check()
    phones[0].get_by_role("button", name="Vote").click()
    expect(phones[0].get_by_text("Vote received")).to_be_visible()
    garden = first.choices.get(label="The garden").pk
    expect(presenter.locator(f'[data-choice="{garden}"] .votes')).to_have_text("1")
    expect(presenter.locator("#voters")).to_have_text("1")
    phones[0].evaluate("window.__marker = 'the same page'")  # the vote was a form post

    # The presenter presses PageDown: both phones show the next question, no reload.
    started = time.monotonic()
    presenter.keyboard.press("PageDown")
    for p in phones:
        expect(question(p)).to_have_text(second.question)
    took = time.monotonic() - started
    print(f"\nnext question on both phones {took * 1000:.0f} ms after the key")
    expect(question(presenter)).to_have_text(second.question)
    expect(presenter.locator("#position")).to_have_text("Question 2 of 3")
    for p in phones:
        assert p.evaluate("window.__marker") == "the same page", "the phone reloaded"
        assert part_fetches[p] == [], "a new question is drawn by the page, not fetched"
        expect(ballot(p, "Workshop")).to_be_visible()  # the new question's own form
        expect(p.locator("#announce")).to_contain_text(second.question)
    expect(phones[0].get_by_text("Vote received")).to_have_count(0)  # that was the last one

    # The arrow key (a clicker) too, and back with PageUp.
    presenter.keyboard.press("ArrowRight")
    for p in phones:
        expect(question(p)).to_have_text(third.question)
    # The form the page drew itself takes a vote (its token and address are right).
    ballot(phones[0], "4").check()
    phones[0].get_by_role("button", name="Vote").click()
    expect(phones[0].get_by_text("Vote received")).to_be_visible()
    presenter.keyboard.press("PageUp")
    for p in phones:
        expect(question(p)).to_have_text(second.question)

    # Results: R shows them on the phones, live; R again hides them.
    for p in phones:
        part_fetches[p].clear()
    presenter.keyboard.press("r")
    for p in phones:
        expect(p.locator("#results")).to_be_visible()
        assert part_fetches[p] == [], "the results section comes with the message"
    ballot(phones[1], "Keynote").check()
    ballot(phones[1], "Panel").check()
    phones[1].get_by_role("button", name="Vote").click()
    keynote = second.choices.get(label="Keynote").pk
    expect(phones[0].locator(f'[data-choice="{keynote}"] .votes')).to_have_text("1")
    expect(presenter.locator(f'[data-choice="{keynote}"] .votes')).to_have_text("1")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    phones[1].screenshot(
        path=str(SCREENSHOTS / "audience-results-390x844.png"),
        full_page=True,
        animations="disabled",
    )
    presenter.keyboard.press("R")
    for p in phones:
        expect(p.locator("#results")).to_have_count(0)

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    presenter.screenshot(path=str(SCREENSHOTS / "presenter-1920x1080.png"), animations="disabled")
    phones[0].screenshot(path=str(SCREENSHOTS / "audience-390x844.png"), animations="disabled")

    # The help lists the shortcuts on "?"; Escape closes it.
    presenter.keyboard.press("?")
    expect(presenter.get_by_role("dialog", name="Keyboard shortcuts")).to_be_visible()
    expect(presenter.get_by_role("dialog")).to_contain_text("Lock or unlock voting")
    presenter.screenshot(path=str(SCREENSHOTS / "presenter-help.png"), animations="disabled")
    presenter.keyboard.press("Escape")
    expect(presenter.get_by_role("dialog")).to_be_hidden()

    assert presenter_errors == []
    assert phone_errors == [[], []]


def test_a_lock_makes_a_vote_answer_with_the_clear_message(
    contexts: Callable[..., BrowserContext], site: Any, session: LiveSession
) -> None:
    presenter = presenter_page(contexts, site, session)
    audience = phone(contexts, site, session)
    expect(audience.locator("#session-live")).to_have_text("live")
    ballot(audience, "The big hall").check()  # picked before the lock

    presenter.keyboard.press("l")
    expect(presenter.locator("#flag-locked")).to_be_visible()
    expect(audience.locator("#locked-note")).to_have_text(
        "Voting on this question is closed for now."
    )
    expect(audience.locator("#announce")).to_have_text("Voting is locked.")
    expect(audience.get_by_role("button", name="Vote")).to_be_disabled()

    # A phone whose page still shows the form (it missed the lock) posts anyway.
    stale = phone(contexts, site, session, java_script_enabled=False)
    presenter.keyboard.press("l")  # unlock, load the form, then lock again behind it
    expect(audience.get_by_role("button", name="Vote")).to_be_enabled()
    stale.reload()
    ballot(stale, "The big hall").check()
    presenter.keyboard.press("l")
    expect(audience.locator("#locked-note")).to_be_visible()
    stale.get_by_role("button", name="Vote").click()
    expect(stale.get_by_role("alert")).to_have_text(
        "Voting on this question is closed for now: nothing was recorded."
    )
    assert live_sessions.ordered_polls(session)[0].votes.count() == 0


def test_without_javascript_the_audience_page_follows_on_reload(
    contexts: Callable[..., BrowserContext], site: Any, session: LiveSession
) -> None:
    first, second, _ = live_sessions.ordered_polls(session)
    audience = phone(contexts, site, session, java_script_enabled=False)
    expect(question(audience)).to_have_text(first.question)
    expect(audience.locator("#session-live")).to_have_text("reload to follow")
    ballot(audience, "The big hall").check()
    audience.get_by_role("button", name="Vote").click()
    expect(audience.get_by_text("Vote received")).to_be_visible()

    live_sessions.move(session, step=1)  # as the admin or `manage.py session_next` would
    audience.reload()
    expect(question(audience)).to_have_text(second.question)
    expect(ballot(audience, "Keynote")).to_be_visible()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    audience.screenshot(path=str(SCREENSHOTS / "audience-no-js-390x844.png"), full_page=True)

    # A vote on the former question (its own page, open since before the move) is refused
    # with the clear message.
    page = audience.context.new_page()
    page.goto(f"{site.url}/polls/{first.slug}/")
    ballot(page, "The garden").check()
    page.get_by_role("button", name="Change my vote").click()
    expect(page.get_by_role("alert")).to_have_text(
        "The presenter has moved on: this question no longer takes votes. Nothing was recorded."
    )


def test_the_qr_code_decodes_to_the_join_link(
    contexts: Callable[..., BrowserContext], site: Any, session: LiveSession
) -> None:
    zxingcpp = pytest.importorskip("zxingcpp")
    image_module = pytest.importorskip("PIL.Image")
    presenter = presenter_page(contexts, site, session)
    shown_link = presenter.locator(".join-link").inner_text().strip()
    assert shown_link.endswith(f"/s/{session.code}/")
    png = presenter.locator("#qr svg").screenshot()  # the server's SVG, drawn by Chromium
    found = zxingcpp.read_barcodes(image_module.open(io.BytesIO(png)))
    assert [code.text for code in found] == [shown_link]
    # And the code on screen is the session's, in two halves to read aloud.
    expect(presenter.locator("#join-code")).to_have_text(f"{session.code[:3]} {session.code[3:]}")


def test_the_session_embed_follows_the_presenter_and_draws_live_results(
    contexts: Callable[..., BrowserContext], site: Any, session: LiveSession
) -> None:
    first, second, _ = live_sessions.ordered_polls(session)
    presenter = presenter_page(contexts, site, session)
    embed = contexts(FRAME).new_page()
    errors = watch_errors(embed)
    embed.goto(f"{site.url}/embed/s/{session.code}/?theme=transparent")
    expect(embed.locator("body")).to_have_class("session-page embed-page theme-transparent")
    expect(question(embed)).to_have_text(first.question)
    expect(embed.locator("#results")).to_have_count(0)  # hidden until the presenter shows

    presenter.keyboard.press("r")
    expect(embed.locator("#results")).to_be_visible()
    audience = phone(contexts, site, session)
    ballot(audience, "The big hall").check()
    audience.get_by_role("button", name="Vote").click()
    hall = first.choices.get(label="The big hall").pk
    expect(embed.locator(f'[data-choice="{hall}"] .votes')).to_have_text("1")

    presenter.keyboard.press("PageDown")
    expect(question(embed)).to_have_text(second.question)
    assert errors == []


def test_the_poll_embed_draws_live_results(
    contexts: Callable[..., BrowserContext], site: Any, session: LiveSession
) -> None:
    first = live_sessions.ordered_polls(session)[0]
    embed = contexts(FRAME).new_page()
    errors = watch_errors(embed)
    embed.goto(f"{site.url}/embed/polls/{first.slug}/?theme=dark")
    expect(embed.locator("#live")).to_have_text("live")
    audience = phone(contexts, site, session)
    ballot(audience, "The garden").check()
    audience.get_by_role("button", name="Vote").click()
    garden = first.choices.get(label="The garden").pk
    expect(embed.locator(f'[data-choice="{garden}"] .votes')).to_have_text("1")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    embed.screenshot(path=str(SCREENSHOTS / "embed-dark.png"), animations="disabled")
    assert errors == []


# Keeps the page's sockets reachable from the test, before the page's own script runs.
KEEP_SOCKETS = """
(() => {
  const Real = window.WebSocket;
  window.__sockets = [];
  window.WebSocket = class extends Real {
    constructor(...args) {
      super(...args);
      window.__sockets.push(this);
    }
  };
})();
"""


def test_a_phone_that_lost_its_connection_catches_up_when_it_is_back(
    contexts: Callable[..., BrowserContext], site: Any, session: LiveSession
) -> None:
    first, _, third = live_sessions.ordered_polls(session)
    context = contexts(PHONE)
    context.add_init_script(KEEP_SOCKETS)
    audience = context.new_page()
    audience.goto(f"{site.url}/s/{session.code}/")
    expect(audience.locator("#session-live")).to_have_text("live")
    expect(question(audience)).to_have_text(first.question)

    # The network drops (the socket closes under the page) while the presenter moves on
    # twice and locks: the page says so, and comes back on the current state.
    context.set_offline(True)
    audience.evaluate("window.__sockets.forEach((s) => s.close())")
    expect(audience.locator("#session-live")).to_have_text("reconnecting…")
    session = live_sessions.move(session, step=1)
    session = live_sessions.move(session, step=1)
    live_sessions.lock(session, locked=True)
    context.set_offline(False)
    audience.evaluate("window.dispatchEvent(new Event('online'))")  # as the browser does
    expect(audience.locator("#session-live")).to_have_text("live")
    expect(question(audience)).to_have_text(third.question)
    expect(audience.locator("#locked-note")).to_be_visible()
    assert audience.evaluate("window.__sockets.length") >= 2  # it opened a new socket


# The form's controls and hints, as (what, name, value, required) rows, from the page's
# own part and from the server's drawing of it (?part=poll) parsed in the same page.
FORM_OF = """
async () => {
  const rows = (root) => [
    ...[...root.querySelectorAll("form.vote [name]")].map((n) =>
      [n.tagName, n.type || "", n.name, n.name === "csrfmiddlewaretoken" ? "" : n.value,
       n.tagName === "SELECT" ? null : n.required]),  // kinds/ranked.js un-requires its selects
    ...[...root.querySelectorAll("form.vote select option")].map((o) =>
      ["OPTION", "", o.parentNode.name, o.value, o.textContent.trim()]),
    ...[...root.querySelectorAll(".hint, label, legend, h1, .eyebrow")]
      .filter((n) => !n.closest(".rank-list, .ranker") && n.id !== "picks-count")
      // (a label's text as a person reads it: the template's line breaks aside)
      .map((n) => ["TEXT", n.className, n.id,
                   n.textContent.replace(/\\s+/g, n.tagName === "LABEL" ? "" : " ").trim(), ""]),
  ];
  const html = await (await fetch(location.pathname + "?part=poll")).text();
  const server = document.createElement("template");
  server.innerHTML = html;
  return { page: rows(document.getElementById("session-poll")), server: rows(server.content) };
}
"""


def test_a_question_the_page_draws_itself_is_the_one_the_server_draws(
    contexts: Callable[..., BrowserContext], site: Any, owner: User
) -> None:
    tag = os.urandom(3).hex()
    polls = [
        organising.create_poll(slug=f"a-{tag}", question="First?", labels=["Yes", "No"],
                               open_now=True),
        organising.create_poll(slug=f"b-{tag}", question="Pick two of these", kind="multiple",
                               labels=["Red", "Green", "Blue"], min_picks=2, max_picks=2,
                               open_now=True),
        organising.create_poll(slug=f"c-{tag}", question="Rank two cities", kind="ranked",
                               labels=["Lisbon", "Osaka", "Lima"], max_ranks=2, open_now=True),
        organising.create_poll(slug=f"d-{tag}", question="Recommend us?", kind="scale",
                               labels=[], scale_min=0, scale_max=10, scale_min_label="Never",
                               scale_max_label="Surely", open_now=True),
        organising.create_poll(slug=f"e-{tag}", question="Last one?", labels=["A", "B"],
                               open_now=True),
    ]  # fmt: skip
    session = live_sessions.go_live(
        live_sessions.create_session(title="Kinds", owner=owner, polls=polls)
    )
    audience = phone(contexts, site, session)
    expect(audience.locator("#session-live")).to_have_text("live")
    errors = watch_errors(audience)
    for poll in polls[1:]:
        session = live_sessions.move(session, step=1)
        expect(question(audience)).to_have_text(poll.question)
        drawn = audience.evaluate(FORM_OF)
        assert drawn["page"] == drawn["server"], poll.kind
    assert errors == []


def test_a_control_the_server_cannot_carry_out_is_said_plainly_and_the_page_resyncs(
    contexts: Callable[..., BrowserContext], site: Any, session: LiveSession
) -> None:
    """A store outage's 503 (JSON with its code, as tests/roles/test_outages.py shows the real
    control answering with Postgres down) and a refusal (409): the presenter reads what
    happened, and the page asks the socket for the whole state again after either."""
    context = contexts(PROJECTOR)
    logged_in(context, session.owner, site.url)
    presenter = context.new_page()
    sent: list[str] = []

    def note(frame: str | bytes) -> None:
        sent.append(str(frame))

    presenter.on("websocket", lambda ws: ws.on("framesent", note))
    presenter.goto(f"{site.url}/present/{session.code}/")
    expect(presenter.locator("#session-live")).to_have_text("live")
    error = presenter.locator("#control-error")

    body = '{"error": "This is unavailable for a moment.", "code": "unavailable"}'

    def database_down(route: Route) -> None:
        route.fulfill(status=503, headers={"Retry-After": "5"}, body=body,
                      content_type="application/json")  # fmt: skip

    def syncs() -> int:
        return sum('"sync"' in str(frame) for frame in sent)

    presenter.route("**/control", database_down)
    presenter.keyboard.press("PageDown")
    expect(error).to_have_text("The server's database is not answering; nothing changed.")
    shot = SCREENSHOTS / "presenter-database-down.png"
    presenter.screenshot(path=str(shot), animations="disabled")
    expect(presenter.locator("#position")).to_have_text("Question 1 of 3")
    processes.wait_for(lambda: syncs() == 1, timeout=5, what="a resync after the 503")

    presenter.unroute("**/control")
    presenter.keyboard.press("PageUp")  # the first question already: refused, 409
    expect(error).to_have_text("This is the first poll.")
    processes.wait_for(lambda: syncs() == 2, timeout=5, what="a resync after the 409")
    assert session.current_poll == live_sessions.ordered_polls(session)[0]


# --- No console error anywhere a person uses a live session: joining by typing the code
# (its field's pattern must be valid under the v-flag Chromium compiles it with), voting
# on each kind the session holds, and the presenter's keys; watched from first load.


def test_no_console_error_while_joining_voting_each_kind_and_presenting(
    contexts: Callable[..., BrowserContext], site: Any, session: LiveSession
) -> None:
    _first, second, third = live_sessions.ordered_polls(session)
    context = contexts(PROJECTOR)
    logged_in(context, session.owner, site.url)
    presenter = context.new_page()
    presenter_errors = watch_errors(presenter)
    presenter.goto(f"{site.url}/present/{session.code}/")
    expect(presenter.locator("#session-live")).to_have_text("live")

    phone = contexts(PHONE).new_page()
    phone_errors = watch_errors(phone)
    phone.goto(f"{site.url}/join")
    field = phone.get_by_label("The code on the screen")
    field.fill(f"{session.code[:3]} {session.code[3:]}")  # as read aloud: with a space
    assert field.evaluate("f => f.validity.valid")
    phone.get_by_role("button", name="Join").click()
    expect(phone).to_have_url(f"{site.url}/s/{session.code}/")

    ballot(phone, "The garden").check()  # one choice
    phone.get_by_role("button", name="Vote").click()
    expect(phone.get_by_text("Vote received")).to_be_visible()
    presenter.keyboard.press("PageDown")
    expect(question(phone)).to_have_text(second.question)
    ballot(phone, "Keynote").check()  # several choices
    ballot(phone, "Panel").check()
    phone.get_by_role("button", name="Vote").click()
    expect(phone.get_by_text("Vote received")).to_be_visible()
    presenter.keyboard.press("ArrowRight")
    expect(question(phone)).to_have_text(third.question)
    ballot(phone, "4").check()  # a scale
    phone.get_by_role("button", name="Vote").click()
    expect(phone.get_by_text("Vote received")).to_be_visible()
    for key in ["r", "l", "l", "R", "PageUp", "?", "Escape"]:
        presenter.keyboard.press(key)
    expect(question(phone)).to_have_text(second.question)
    assert phone_errors == []
    assert presenter_errors == []
