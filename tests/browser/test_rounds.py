"""The rounds anyone can follow, in real Chromium against the roles as processes: the real
2017 Minneapolis mayoral records imported under the city's rules (tests/support/
public_records.py), their results page read in four languages. Each round's words drawn
live by kinds/ranked.js are the server's (the results API's `described` in the same
language); the round picker works by the keyboard alone; the Sankey draws (an SVG with
nodes and bands); axe finds nothing, light and dark; screenshots at 1920x1080 and on a
phone, light and dark (test-artifacts/rounds-*.png). Then a small poll's words follow its
ballots as they arrive."""

from __future__ import annotations

import os
from typing import Any, cast

import pytest
import requests
from axe_playwright_python.sync_playwright import Axe
from django.utils import translation
from playwright.sync_api import Browser as Chromium
from playwright.sync_api import Page, expect

from polls import organising
from polls.kinds.ranked_words import describe
from polls.models import Poll
from tests.support import processes, public_records
from tests.support.commands import run
from tests.support.rounds import SNAPSHOTS

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.processes,
]

LANGUAGES = ("en", "de", "fr", "es")
SIZES = {"desktop": (1920, 1080), "phone": (390, 844)}


def import_minneapolis(tmp_path: Any) -> str:
    """The city's 2017 mayoral records, imported as test_minneapolis_import does."""
    slug = f"mayor-{os.urandom(3).hex()}"
    path = tmp_path / "2017-mayor-cvr.csv"
    path.write_bytes(public_records.mayor_records())
    run(
        "create_poll", slug, "Mayor of Minneapolis, 2017", "--kind", "ranked", "--open",
        "--choice", "Jacob Frey", "--choice", "Raymond Dehn",
    )  # fmt: skip
    run(
        "import_ballots", slug, str(path), "--create-choices",
        "--overvote-rule", "skip", "--batch", "--tie", "previous_then_lot",
    )  # fmt: skip
    return slug


def words_on(page: Page, selector: str) -> list[str]:
    return [p.strip() for p in page.locator(f"{selector} p").all_inner_texts()]


def drawn(page: Page) -> None:
    """The live script has drawn the snapshot: the Sankey is there (only it draws one)."""
    expect(page.locator("#sankey-chart svg .sankey-node").first).to_be_attached()


def test_the_minneapolis_rounds_read_in_four_languages_with_a_picker_and_a_sankey(
    site: Any, chromium: Chromium, tmp_path: Any
) -> None:
    slug = import_minneapolis(tmp_path)
    url = f"{site.url}/polls/{slug}/results/"
    for language in LANGUAGES:
        api = requests.get(
            f"{site.url}/api/polls/{slug}/results",
            headers={"Accept-Language": language},
            timeout=30,
        ).json()
        assert api["described_language"] == language
        described = api["described"]
        assert len(described) == len(api["rounds"]) == 5  # the batch makes 18 choices 5 rounds
        context = chromium.new_context(viewport={"width": 1280, "height": 900}, locale=language)
        try:
            page = context.new_page()
            page.goto(url)
            drawn(page)
            # The script's words (drawn from the live snapshot) are the server's.
            rounds = page.locator("#rounds > .round")
            expect(rounds).to_have_count(5)
            for number, sentences in enumerate(described, start=1):
                assert words_on(page, f'#rounds [data-round="{number}"] .round-words') == [
                    s.strip() for s in sentences
                ], (language, number)
            assert words_on(page, "#round-detail .round-words") == [
                s.strip() for s in described[-1]
            ]
            # Every band of the Sankey has a node at each end, and the table lists each.
            assert page.locator("#sankey-chart .sankey-node").count() >= 18
            assert page.locator("#sankey-chart .sankey-link").count() >= 18
            assert page.locator("#transfers-table tbody tr").count() >= 18
        finally:
            context.close()

    # Why Frey won, in English: the last round says it with its numbers.
    english = requests.get(f"{site.url}/api/polls/{slug}/results", timeout=30).json()["described"]
    assert english[-1] == [
        (
            "Jacob Frey has more than half of the 81,687 ballots still counting "
            "(46,716, 57.2%) and wins."
        )
    ]
    assert english[0][0] == (
        "1,406 imported ballots ranked no one and count in no round: 37 (overvote), 1,369 (blank)."
    )
    assert "together have" in english[0][2]
    assert "none of them can catch up, so all are eliminated together." in english[0][2]


def test_the_round_picker_works_by_keyboard_and_the_page_passes_axe(
    site: Any, chromium: Chromium, tmp_path: Any
) -> None:
    slug = import_minneapolis(tmp_path)
    api = requests.get(f"{site.url}/api/polls/{slug}/results", timeout=30).json()
    for scheme in ("light", "dark"):
        context = chromium.new_context(
            viewport={"width": 1920, "height": 1080}, color_scheme=scheme
        )
        try:
            page = context.new_page()
            page.goto(f"{site.url}/polls/{slug}/results/")
            drawn(page)
            picker = page.locator("#round-picker")
            expect(picker).to_be_visible()
            pressed = picker.locator('[aria-pressed="true"]')
            expect(pressed).to_have_text("5")
            # Tab reaches the picker (one stop); arrows, Home and End move within it.
            page.locator("#transfer-title").click()
            for _ in range(10):
                page.keyboard.press("Tab")
                if page.evaluate("document.activeElement.classList.contains('round-pick')"):
                    break
            assert page.evaluate("document.activeElement.dataset.round") == "5"
            page.keyboard.press("ArrowLeft")
            expect(pressed).to_have_text("4")
            expect(page.locator("#round-detail-title")).to_have_text("Round 4 in words")
            page.keyboard.press("Home")
            expect(pressed).to_have_text("1")
            assert words_on(page, "#round-detail .round-words") == [
                s.strip() for s in api["described"][0]
            ]
            expect(page.locator('#sankey-chart [data-column="1"]')).to_have_class("picked")
            page.keyboard.press("End")
            expect(pressed).to_have_text("5")
            assert page.evaluate("document.activeElement.dataset.round") == "5"

            results = Axe().run(
                page,
                options={
                    "resultTypes": ["violations"],
                    "rules": {"target-size": {"enabled": True}},
                },
            )
            found = [
                f"{scheme}: {v['id']} {v['help']} {[n['target'] for n in v['nodes']][:3]}"
                for v in results.response["violations"]
            ]
            assert not found, "\n".join(found)
            for size, (width, height) in SIZES.items():
                page.set_viewport_size({"width": width, "height": height})
                page.wait_for_timeout(300)
                page.locator("#transfer-view").scroll_into_view_if_needed()
                page.screenshot(
                    path=str(processes.ARTIFACTS / f"rounds-minneapolis-{size}-{scheme}.png"),
                    full_page=False,
                )
        finally:
            context.close()


def test_the_words_follow_the_ballots_as_they_arrive(site: Any, chromium: Chromium) -> None:
    poll = organising.create_poll(
        slug=f"lunch-{os.urandom(3).hex()}",
        question="Where do we eat?",
        labels=["Noodles", "Tacos", "Salad"],
        kind=Poll.Kind.RANKED,
        open_now=True,
    )
    ids = {c.label: c.pk for c in poll.choices.all()}
    context = chromium.new_context(viewport={"width": 1000, "height": 800})
    try:
        page = context.new_page()
        page.goto(f"{site.url}/polls/{poll.slug}/results/")
        for ranking in (["Noodles"], ["Tacos", "Noodles"], ["Salad", "Tacos"], ["Noodles"]):
            http = requests.Session()
            http.get(f"{site.url}/api/polls/{poll.slug}", timeout=10)
            answer = http.post(
                f"{site.url}/api/polls/{poll.slug}/vote",
                json={"ranking": [ids[label] for label in ranking]},
                headers={"X-CSRFToken": http.cookies.get("csrftoken") or ""},
                timeout=10,
            )
            assert answer.status_code == 202, answer.text
        # Noodles 2, Tacos 1, Salad 1 (then Tacos): Salad goes on position, Tacos ties 2-2
        # in round 2 and had fewer before... the words say it, live, without a reload.
        detail = page.locator("#round-detail")
        expect(page.locator("#round-detail")).to_have_attribute("aria-live", "polite")

        def all_four_counted() -> dict[str, Any] | None:
            said = requests.get(f"{site.url}/api/polls/{poll.slug}/results", timeout=30).json()
            return said if said["total"] == 4 else None

        said = cast(
            dict[str, Any],
            processes.wait_for(all_four_counted, timeout=30, what="the four ballots stored"),
        )
        # The page follows: its words become the last snapshot's (an earlier one also ends
        # "and wins.", with fewer ballots).
        expect(detail).to_contain_text(said["described"][-1][-1].strip())
        assert words_on(page, "#round-detail .round-words") == [
            s.strip() for s in said["described"][-1]
        ]
        assert words_on(page, '#rounds [data-round="1"] .round-words') == [
            s.strip() for s in said["described"][0]
        ]
    finally:
        context.close()


def test_the_script_says_every_rule_as_the_server_does_in_four_languages(
    site: Any, chromium: Chromium
) -> None:
    """kinds/ranked.js's describe, given the same snapshots (ties by earlier rounds, by
    position and by lot, a batch with imported inactive ballots, until two remain, all
    tied), says what polls/kinds/ranked_words.py says, word for word, per language."""
    poll = organising.create_poll(
        slug=f"words-{os.urandom(3).hex()}",
        question="Any ranked poll: its results page loads the kind's script",
        labels=["A", "B"],
        kind=Poll.Kind.RANKED,
        open_now=True,
    )
    for language in LANGUAGES:
        context = chromium.new_context(locale=language)
        try:
            page = context.new_page()
            page.goto(f"{site.url}/polls/{poll.slug}/results/")
            page.wait_for_function("window.PollKinds && window.PollKinds.ranked")
            for name, snapshot in SNAPSHOTS.items():
                scripted = page.evaluate("(s) => window.PollKinds.ranked.describe(s)", snapshot)
                with translation.override(language):
                    assert scripted == describe(snapshot), (language, name)
        finally:
            context.close()
