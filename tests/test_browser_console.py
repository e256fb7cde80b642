"""No console error anywhere a person uses a live session, in real Chromium through the
front door: joining by typing the code (its field's pattern must be valid under the
v-flag Chromium compiles it with), voting on each kind the session holds, and the
presenter's keys. Errors are watched from each page's first load."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, expect

from polls import live_sessions
from polls.models import LiveSession
from tests import test_browser_sessions as sessions
from tests.test_browser_kinds import watch_errors

chromium = sessions.chromium
contexts = sessions.contexts
owner = sessions.owner
session = sessions.session

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser, pytest.mark.processes]


def test_no_console_error_while_joining_voting_each_kind_and_presenting(
    contexts: Callable[..., BrowserContext], site: Any, session: LiveSession
) -> None:
    _first, second, third = live_sessions.ordered_polls(session)
    context = contexts(sessions.PROJECTOR)
    sessions.logged_in(context, session.owner, site.url)
    presenter = context.new_page()
    presenter_errors = watch_errors(presenter)
    presenter.goto(f"{site.url}/present/{session.code}/")
    expect(presenter.locator("#session-live")).to_have_text("live")

    phone = contexts(sessions.PHONE).new_page()
    phone_errors = watch_errors(phone)
    phone.goto(f"{site.url}/join")
    field = phone.get_by_label("The code on the screen")
    field.fill(f"{session.code[:3]} {session.code[3:]}")  # as read aloud: with a space
    assert field.evaluate("f => f.validity.valid")
    phone.get_by_role("button", name="Join").click()
    expect(phone).to_have_url(f"{site.url}/s/{session.code}/")

    sessions.ballot(phone, "The garden").check()  # one choice
    phone.get_by_role("button", name="Vote").click()
    expect(phone.get_by_text("Vote received")).to_be_visible()
    presenter.keyboard.press("PageDown")
    expect(sessions.question(phone)).to_have_text(second.question)
    sessions.ballot(phone, "Keynote").check()  # several choices
    sessions.ballot(phone, "Panel").check()
    phone.get_by_role("button", name="Vote").click()
    expect(phone.get_by_text("Vote received")).to_be_visible()
    presenter.keyboard.press("ArrowRight")
    expect(sessions.question(phone)).to_have_text(third.question)
    sessions.ballot(phone, "4").check()  # a scale
    phone.get_by_role("button", name="Vote").click()
    expect(phone.get_by_text("Vote received")).to_be_visible()
    for key in ["r", "l", "l", "R", "PageUp", "?", "Escape"]:
        presenter.keyboard.press(key)
    expect(sessions.question(phone)).to_have_text(second.question)
    assert phone_errors == []
    assert presenter_errors == []
