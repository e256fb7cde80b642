"""The organiser's first ten minutes, in real Chromium from a fresh database: log in to the
admin, build a session of three questions of different kinds on one page, go live from
it, open the presenter's view from its button, and a phone joins from the index's box.
It prints the pages visited and the forms submitted, saves screenshots
(test-artifacts/screenshots/organiser-*.png), and axe checks the admin pages this issue
changed (zero violations)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.contrib.auth.models import User
from playwright.sync_api import Browser as Chromium
from playwright.sync_api import BrowserContext, Page, Request, Response, expect

from polls.models import LiveSession, Poll
from tests.support import processes
from tests.support.browser import EVENTUALLY_MS, watch_errors

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.browser,
    pytest.mark.processes,
]

SHOTS = processes.ARTIFACTS / "screenshots"
PASSWORD = "pw-organiser-2718"


class Journey:
    """Counts what people do across their tabs: pages shown (documents loaded, a
    redirect's target once, a new tab too) and forms submitted (POSTs that navigate)."""

    def __init__(self) -> None:
        self.pages: list[str] = []
        self.submissions: list[str] = []

    def follow(self, context: BrowserContext) -> None:
        context.on("request", self._request)
        context.on("response", self._response)

    def _response(self, response: Response) -> None:
        if response.request.is_navigation_request() and not 300 <= response.status < 400:
            self.pages.append(response.url)

    def _request(self, request: Request) -> None:
        if request.is_navigation_request() and request.method == "POST":  # no frames here
            self.submissions.append(request.url)


@pytest.fixture
def journey(chromium: Chromium) -> Iterator[tuple[Journey, list[BrowserContext]]]:
    made: list[BrowserContext] = []
    yield Journey(), made
    for context in made:
        context.close()


def axe(page: Page, label: str) -> list[str]:
    page.wait_for_load_state("networkidle")
    results = Axe().run(
        page, options={"resultTypes": ["violations"], "rules": {"target-size": {"enabled": True}}}
    )
    return [
        f"{label}: {v['id']} ({v['impact']}) {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in results.response["violations"]
    ]


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(
        path=str(SHOTS / f"organiser-{name}.png"), full_page=True, animations="disabled"
    )


def test_a_new_organiser_has_a_live_session_on_the_projector_and_a_phone_joins(
    site: Any, chromium: Chromium, journey: tuple[Journey, list[BrowserContext]]
) -> None:
    steps, contexts = journey
    User.objects.create_superuser("organiser", password=PASSWORD)  # as scripts/run makes one
    organiser = chromium.new_context(viewport={"width": 1280, "height": 900})
    organiser.set_default_timeout(EVENTUALLY_MS)
    contexts.append(organiser)
    steps.follow(organiser)
    page = organiser.new_page()
    errors = watch_errors(page)
    violations: list[str] = []

    # Log in to /admin/: the admin says the product's name.
    page.goto(f"{site.url}/admin/")
    page.get_by_label("Username").fill("organiser")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#site-name")).to_have_text("Live votes")
    expect(page.get_by_role("heading", level=1)).to_have_text("Your polls and live sessions")
    violations += axe(page, "admin home")

    # A new session, three questions of three kinds written on its page, one save.
    page.locator('a.addlink[href$="/livesession/add/"]').click()
    page.get_by_label("Title").fill("Team day")
    questions = [
        ("Which room should we use next time?", "single", "The big hall\nThe garden", {}),
        ("Which talks did you enjoy?", "multiple", "Keynote\nWorkshop\nPanel", {"max_picks": "2"}),
        ("How likely are you to come again?", "scale", "", {"scale_min": "0", "scale_max": "10"}),
    ]
    for n, (text, kind, choices, options) in enumerate(questions):
        form = f"#id_entries-2-{n}-"
        page.locator(form + "question").fill(text)
        page.locator(form + "question_kind").select_option(kind)
        if choices:
            page.locator(form + "choices").fill(choices)
        for name, value in options.items():
            page.locator(form + name).fill(value)
    violations += axe(page, "session add page")
    shot(page, "1-session-add")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".messagelist")).to_contain_text("was added successfully")
    session = LiveSession.objects.get(title="Team day")
    assert [p.kind for p in [e.poll for e in session.entries.select_related("poll")]] == [
        "single", "multiple", "scale"
    ]  # fmt: skip

    # The session's page: go live from its button.
    page.get_by_role("button", name="Go live").click()
    expect(page.locator(".messagelist")).to_contain_text("is live: the join code is")
    session.refresh_from_db()
    code = session.code
    assert re.fullmatch(r"\d{6}", code)
    violations += axe(page, "session change page (live)")
    shot(page, "2-session-live")

    # A question as a phone shows it (the preview link of the second question).
    with organiser.expect_page() as opened:
        page.get_by_role("link", name="preview as a phone").nth(1).click()
    preview = opened.value
    preview.set_viewport_size({"width": 390, "height": 844})
    expect(preview.get_by_role("heading", level=1)).to_have_text("Which talks did you enjoy?")
    expect(preview.locator("form.vote").get_by_label("Workshop")).to_be_visible()
    violations += axe(preview, "question preview")
    shot(preview, "3-preview-390x844")
    preview.close()

    # The presenter's view, from the admin's button, on the projector.
    with organiser.expect_page() as opened:
        page.get_by_role("link", name="Open the presenter view").click()
    presenter = opened.value
    presenter.set_viewport_size({"width": 1920, "height": 1080})
    expect(presenter).to_have_url(f"{site.url}/present/{code}/")
    expect(presenter.locator("#session-live")).to_have_text("live")
    expect(presenter.locator("#question")).to_have_text(questions[0][0])

    # A phone joins from the index's box and votes; the projector counts the voter.
    phone = chromium.new_context(viewport={"width": 390, "height": 844})
    phone.set_default_timeout(EVENTUALLY_MS)
    contexts.append(phone)
    steps.follow(phone)
    mobile = phone.new_page()
    mobile_errors = watch_errors(mobile)
    mobile.goto(f"{site.url}/")
    shot(mobile, "4-index-390x844")
    mobile.get_by_label("The code on the screen").fill(f"{code[:3]} {code[3:]}")
    mobile.get_by_role("button", name="Join").click()
    expect(mobile).to_have_url(f"{site.url}/s/{code}/")
    mobile.locator("form.vote").get_by_label("The garden").check()
    mobile.get_by_role("button", name="Vote").click()
    expect(presenter.locator("#voters")).to_have_text("1")
    shot(presenter, "5-presenter-1920x1080")

    organiser_pages = [u for u in steps.pages if "/admin/" in u or "/present/" in u]
    phone_pages = [u for u in steps.pages if u not in organiser_pages]
    print(
        f"\norganiser: {len(organiser_pages)} pages visited, "
        f"{sum('/admin/' in u for u in steps.submissions)} forms submitted "
        f"(log in, save the session, go live); phone: {len(phone_pages)} pages, "
        f"{sum('/admin/' not in u for u in steps.submissions)} forms (join, vote)"
    )
    for url in steps.pages:
        print("  page", url.removeprefix(site.url))
    assert not violations, "\n".join(violations)
    assert not errors, errors
    assert not mobile_errors, mobile_errors
    assert Poll.objects.filter(status=Poll.Status.OPEN).count() == 3
