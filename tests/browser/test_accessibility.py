"""Every public page, as people meet it, checked by axe-core in real Chromium: zero
violations at any impact, in light and dark, before and after voting.

The pages come from the URL configuration (each pattern that answers a GET with HTML),
so a page added later is checked without editing this file; a pattern that needs a value
this file cannot supply fails the test instead of being skipped.
"""

from __future__ import annotations

import itertools
import re
import time
import uuid
from typing import Any, Literal

import pytest
import requests
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser as Chromium
from playwright.sync_api import Page, expect

from polls import organising
from tests.support import clients, processes
from tests.support.pages import PASSWORD, patterns, urls_for

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.processes,
]

SHOTS = processes.ARTIFACTS / "accessibility"


def audit(page: Page, label: str) -> list[str]:
    """axe-core's violations on the page as it is now, one line each; a screenshot."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(SHOTS / f"{re.sub(r'[^a-z0-9]+', '-', label.lower())}.png"))
    # target-size (WCAG 2.2 AA: 24x24 px) is off in axe's defaults: asked for by name.
    results = Axe().run(
        page, options={"resultTypes": ["violations"], "rules": {"target-size": {"enabled": True}}}
    )
    return [
        f"{label}: {v['id']} ({v['impact']}) {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in results.response["violations"]
    ]


@pytest.mark.parametrize("who", ["anonymous", "logged-in"])
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_every_public_page_has_no_accessibility_violations(
    site: Any,
    content: dict[str, str],
    chromium: Chromium,
    scheme: Literal["light", "dark"],
    who: Literal["anonymous", "logged-in"],
) -> None:
    found: list[str] = []
    audited = 0
    context = chromium.new_context(viewport={"width": 390, "height": 844}, color_scheme=scheme)
    try:
        page = context.new_page()
        if who == "logged-in":
            # The session's owner logs in as a voter does (/accounts/login/): the owner's
            # pages (the presenter) and the log-in-only poll then show what they show them.
            page.goto(site.url + "/accounts/login/")
            page.get_by_label("Username").fill(content["owner"])
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name=re.compile("Log in")).click()
            page.wait_for_load_state("networkidle")
            assert page.get_by_role("button", name=re.compile("Log out")).count(), "not logged in"
        paths = [u for route in patterns() for u in urls_for(route, content)]
        paths.append(f"/no-such-page-{uuid.uuid4().hex[:6]}/")  # the 404 page
        for path in paths:
            answer = requests.get(site.url + path, timeout=30, allow_redirects=True)
            if "text/html" not in answer.headers.get("Content-Type", "") or not answer.content:
                continue  # not a page (a control endpoint, a form's POST target: 405)
            page.goto(site.url + path)
            label = f"{scheme} {who} {path}"
            found += audit(page, label)
            audited += 1
            vote_button = page.get_by_role("button", name=re.compile("^(Vote|Change my vote)$"))
            if (path.startswith(("/polls/", "/s/")) and vote_button.count()
                    and vote_button.is_enabled() and choose_something(page)):  # fmt: skip
                vote_button.click()
                page.wait_for_load_state("networkidle")
                found += audit(page, f"{label} after voting")
    finally:
        context.close()
    print(f"{audited} pages audited in {scheme}, {who}")
    assert audited >= 10, "the URLconf walk found too few pages"
    assert not found, "\n".join(found)


def choose_something(page: Page) -> bool:
    """Fill a ballot the way a person would: the first option of each input it shows, a
    word or an answer where it asks for text, or on a ranked ballot drawn by its script the
    first "Rank" button."""
    typed = page.locator("input[name=entry]:visible, textarea[name=answer]:visible")
    if typed.count():
        typed.first.fill("Accessible")
        return True
    rank = page.get_by_role("button", name=re.compile("^Rank "))
    if rank.count():
        rank.first.click()
        return True
    for kind in ("input[type=radio]", "input[type=checkbox]"):
        inputs = page.locator(f"{kind}:visible")
        if inputs.count():
            inputs.first.check()
            return True
    selects = page.locator("select:visible")
    for i in range(selects.count()):
        selects.nth(i).select_option(index=i + 1)
    return selects.count() > 0


ANNOUNCE_EVERY_S = 5  # polls/static/polls/results.js: ANNOUNCE_EVERY_MS


def test_live_results_are_announced_as_a_summary_at_most_every_few_seconds(
    site: Any, chromium: Chromium
) -> None:
    poll = organising.create_poll(
        slug=f"a11y-live-{uuid.uuid4().hex[:6]}", question="Pets?", labels=["Cats", "Dogs"],
        open_now=True,
    )  # fmt: skip
    ids = {c.label: c.pk for c in poll.choices.all()}
    context = chromium.new_context(viewport={"width": 390, "height": 844})
    try:
        page = context.new_page()
        page.goto(f"{site.url}/polls/{poll.slug}/results/")
        expect(page.locator("#live")).to_have_text("live", timeout=30_000)
        region = page.locator("#results-announce")
        assert region.get_attribute("aria-live") == "polite"
        # What the region says, and when, as a screen reader would hear it.
        page.evaluate("""() => {
            window.said = [];
            const region = document.getElementById("results-announce");
            new MutationObserver(() => window.said.push([Date.now(), region.textContent]))
                .observe(region, {childList: true, characterData: true, subtree: true});
        }""")  # fmt: skip
        # 16 voters through the real pipeline (API, Redis, worker, Postgres, daphne), a
        # vote every 0.6 s: many updates, which must come out as a few summaries.
        for n in range(16):
            voter = clients.Browser(site.url)
            answer = voter.vote_api(poll.slug, ids["Cats" if n % 4 else "Dogs"])
            assert answer.status_code == 202, answer.text
            time.sleep(0.6)
        expect(region).to_have_text(re.compile(r", 16 votes$"), timeout=60_000)
        said: list[list[Any]] = page.evaluate("window.said")
    finally:
        context.close()
    texts = [text for _, text in said if text]
    gaps = [round((b[0] - a[0]) / 1000, 2) for a, b in itertools.pairwise(said)]
    print(f"announced {len(texts)} times for 16 votes, gaps {gaps} s: {texts}")
    assert texts[-1] == "Cats 75%, Dogs 25%, 16 votes"
    assert all(re.fullmatch(r"Cats \d+(\.\d)?%, Dogs \d+(\.\d)?%, \d+ votes?", t) for t in texts)
    assert len(texts) < 16, "every update was announced"
    assert all(gap >= ANNOUNCE_EVERY_S - 0.5 for gap in gaps), (
        "announced more often than the interval"
    )
    assert all(a != b for a, b in itertools.pairwise(texts)), "a summary was repeated"


def test_focus_moves_to_the_confirmation_after_voting_by_keyboard(
    site: Any, chromium: Chromium
) -> None:
    poll = organising.create_poll(
        slug=f"a11y-focus-{uuid.uuid4().hex[:6]}", question="Pets?", labels=["Cats", "Dogs"],
        open_now=True,
    )  # fmt: skip
    context = chromium.new_context(viewport={"width": 390, "height": 844})
    try:
        page = context.new_page()
        page.goto(f"{site.url}/polls/{poll.slug}/")
        page.get_by_label("Cats").focus()
        page.keyboard.press("Space")
        page.keyboard.press("Enter")  # submits the form
        page.wait_for_load_state("networkidle")
        focused = page.evaluate("document.activeElement.id")
        confirmation = page.locator("#messages")
        expect(confirmation).to_contain_text("Vote received")
        assert focused == "messages", f"focus is on #{focused or document_body(page)}"
        outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
        assert outline != "none", "the focused confirmation shows no focus ring"
    finally:
        context.close()


def document_body(page: Page) -> str:
    return str(page.evaluate("document.activeElement.tagName"))


# What a voter reads after voting, and the check's answer, per language.
RECEIPT_WORDS = {
    "en": ("Your receipt:", "counted."),
    "de": ("Ihre Quittung:", "gezählt."),
    "fr": ("Votre reçu :", "compté."),
    "es": ("Tu recibo:", "contado."),
}
RECEIPT = re.compile(r"^[0-9A-HJKMNP-TV-Z]{5}-[0-9A-HJKMNP-TV-Z]{5}$")


@pytest.mark.parametrize("language", list(RECEIPT_WORDS))
def test_a_voter_sees_a_receipt_finds_it_on_the_board_after_the_close_and_checks_it(
    site: Any, chromium: Chromium, language: str
) -> None:
    from polls.models import Vote

    poll = organising.create_poll(
        slug=f"receipt-{language}-{uuid.uuid4().hex[:6]}", question="Pets?",
        labels=["Cats", "Dogs"], open_now=True, ballot_secrecy="public",
    )  # fmt: skip
    yours, counted = RECEIPT_WORDS[language]
    context = chromium.new_context(
        viewport={"width": 390, "height": 844},
        locale=language,
        extra_http_headers={"Accept-Language": language},
    )
    found: list[str] = []
    try:
        page = context.new_page()
        page.goto(f"{site.url}/polls/{poll.slug}/")
        page.locator("input[type=radio]").first.check()
        page.locator("form.vote button[type=submit]").click()
        page.wait_for_load_state("networkidle")
        expect(page.locator("#your-receipt")).to_contain_text(yours)
        code = page.locator(".receipt-code").inner_text().strip()
        assert RECEIPT.match(code), code
        expect(page.locator(".copy-receipt")).to_be_visible()  # the script shows the button
        found += audit(page, f"receipt {language} after voting")

        stored = code.replace("-", "")
        processes.wait_for(
            lambda: Vote.objects.filter(poll=poll, receipt=stored).exists(),
            timeout=30,
            what=lambda: f"the vote with receipt {code} stored",
        )
        organising.close_poll(poll)
        page.goto(f"{site.url}/polls/{poll.slug}/board/")
        row = page.locator("table.board tbody tr", has_text=code)
        expect(row).to_have_count(1)
        expect(row).to_contain_text("Cats")  # a public-ballot poll shows the ballot
        found += audit(page, f"receipt {language} board")

        page.goto(f"{site.url}/polls/{poll.slug}/receipt/")
        page.locator("#receipt-input").fill(code.lower().replace("-", " "))
        page.locator("form.receipt-check button[type=submit]").click()
        page.wait_for_load_state("networkidle")
        expect(page.locator("#receipt-answer")).to_contain_text(counted)
        found += audit(page, f"receipt {language} checked")
    finally:
        context.close()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_a_ranked_poll_with_its_rounds_in_words_and_its_sankey_has_no_violations(
    site: Any, chromium: Chromium, scheme: Literal["light", "dark"]
) -> None:
    """The public walk's ranked poll has no ballots yet: here one with rounds (a batch, a
    tie drawn by lot, inactive ballots), its results page and its embed once the script
    has drawn the round picker and the Sankey, on a phone and a projector's 1920x1080."""
    poll = organising.create_poll(
        slug=f"a11y-rounds-{uuid.uuid4().hex[:6]}",
        question="Which park gets the new playground?",
        labels=["Elm", "Oak", "Pine", "Birch", "Ash"],
        kind="ranked",
        open_now=True,
        batch=True,
        tie="previous_then_lot",
    )
    ids = {c.label: c.pk for c in poll.choices.all()}
    for ranking in (["Elm"], ["Elm"], ["Elm", "Oak"], ["Oak", "Elm"], ["Oak"], ["Oak"],
                    ["Pine", "Oak"], ["Birch"], ["Ash", "Birch", "Elm"]):  # fmt: skip
        http = requests.Session()
        http.get(f"{site.url}/api/polls/{poll.slug}", timeout=10)
        answer = http.post(
            f"{site.url}/api/polls/{poll.slug}/vote",
            json={"ranking": [ids[label] for label in ranking]},
            headers={"X-CSRFToken": http.cookies.get("csrftoken") or ""},
            timeout=10,
        )
        assert answer.status_code == 202, answer.text
    processes.wait_for(
        lambda: clients.results_of(site.url, poll.slug)["total"] == 9, what="9 ballots stored"
    )
    found: list[str] = []
    for width, height in ((390, 844), (1920, 1080)):
        context = chromium.new_context(
            viewport={"width": width, "height": height}, color_scheme=scheme
        )
        try:
            page = context.new_page()
            for path in (f"/polls/{poll.slug}/results/", f"/embed/polls/{poll.slug}/"):
                page.goto(site.url + path)
                if "results" in path:
                    expect(page.locator("#sankey-chart svg .sankey-link").first).to_be_attached()
                    expect(page.locator("#round-picker")).to_be_visible()
                found += audit(page, f"{scheme} {width} rounds {path}")
        finally:
            context.close()


def test_the_presenters_cloud_and_answer_wall_have_no_accessibility_violations(
    site: Any, chromium: Chromium, django_user_model: Any
) -> None:
    """The presenter's view of a word cloud (drawn by wordcloud2.js) and of open answers,
    with a card shown big: axe finds nothing; the cloud's text alternative is the list."""
    from django.test import Client

    from polls import live_sessions
    from tests.support.pages import some_entries

    tag = uuid.uuid4().hex[:6]
    owner = django_user_model.objects.create_user(f"a11y-text-{tag}", password=PASSWORD)
    cloud = organising.create_poll(slug=f"a11y-cloud-{tag}", question="One word?", labels=[],
                                   kind="wordcloud", open_now=True)  # fmt: skip
    answers = organising.create_poll(slug=f"a11y-wall-{tag}", question="Ideas?", labels=[],
                                     kind="openanswer", open_now=True)  # fmt: skip
    some_entries(cloud, [["Python", "Django"], ["python", "Redis"], ["Celery"]])
    some_entries(answers, [["More breaks"], ["more breaks"], ["A longer lunch, please"]])
    session = live_sessions.go_live(
        live_sessions.create_session(title="Text", owner=owner, polls=[cloud, answers])
    )
    client = Client()
    client.force_login(owner)
    found: list[str] = []
    context = chromium.new_context(viewport={"width": 1920, "height": 1080})
    try:
        context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value,
                              "url": site.url}])  # fmt: skip
        page = context.new_page()
        page.goto(f"{site.url}/present/{session.code}/")
        expect(page.locator('#cloud-words span[data-key="python"]')).to_be_visible()
        expect(page.get_by_role("list", name="Words, the most given first")).to_be_attached()
        found += audit(page, "presenter word cloud")
        page.keyboard.press("PageDown")
        expect(page.locator("#cards .answer-card")).to_have_count(2)
        found += audit(page, "presenter answer wall")
        page.locator("#cards .answer-spotlight").first.click()
        expect(page.locator("#spotlight")).to_be_visible()
        found += audit(page, "presenter answer shown big")
    finally:
        context.close()
    assert not found, "\n".join(found)
