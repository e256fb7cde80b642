"""Multiple choice, ranked choice and rating scales where people meet them, in real
Chromium against the three roles as processes: the voting page with and without
JavaScript (a ranked ballot by the selects, by the keyboard alone and by drag), the
results page drawn live from each snapshot, and the same page correct without JavaScript
after a reload. Each kind's pages are saved as screenshots at a phone's and a laptop's
size (test-artifacts/)."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pytest
import requests
from playwright.sync_api import Page, expect

from polls import organising
from polls.models import Poll
from tests.support import processes
from tests.support.browser import watch_errors
from tests.support.clients import results_of

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.processes,
]

SIZES = {"phone": (390, 844), "laptop": (1280, 800)}
CITIES = ("Lisbon", "Kraków", "Montréal", "Osaka")


def ranked_poll() -> Poll:
    return organising.create_poll(
        slug=f"cities-{os.urandom(4).hex()}",
        question="Rank these cities: where should we meet next year?",
        labels=CITIES,
        kind=Poll.Kind.RANKED,
        open_now=True,
    )


def toppings_poll() -> Poll:
    return organising.create_poll(
        slug=f"toppings-{os.urandom(4).hex()}",
        question="Which pizza toppings do you like? (pick up to three)",
        labels=["Cheese", "Mushrooms", "Pineapple", "Olives", "Basil"],
        kind=Poll.Kind.MULTIPLE,
        max_picks=3,
        open_now=True,
    )


def nps_poll() -> Poll:
    return organising.create_poll(
        slug=f"talk-{os.urandom(4).hex()}",
        question="How likely are you to recommend this talk to a friend?",
        labels=[],
        kind=Poll.Kind.SCALE,
        scale_min=0,
        scale_max=10,
        scale_min_label="Not at all likely",
        scale_max_label="Extremely likely",
        open_now=True,
    )


def ids(poll: Poll) -> dict[str, int]:
    return {c.label: c.pk for c in poll.choices.all()}


def cast(base: str, poll: Poll, body: dict[str, Any]) -> None:
    """One more voter's ballot through the JSON API."""
    http = requests.Session()
    http.get(f"{base}/api/polls/{poll.slug}", timeout=10)
    answer = http.post(
        f"{base}/api/polls/{poll.slug}/vote",
        json=body,
        headers={"X-CSRFToken": http.cookies.get("csrftoken") or ""},
        timeout=10,
    )
    assert answer.status_code == 202, answer.text


def rank(poll: Poll, *labels: str) -> dict[str, Any]:
    choice = ids(poll)
    return {"ranking": [choice[label] for label in labels]}


def stored(base: str, poll: Poll, total: int) -> None:
    processes.wait_for(
        lambda: results_of(base, poll.slug)["total"] == total, what=f"{total} ballots stored"
    )


def screenshots(page: Page, name: str) -> None:
    for size, (width, height) in SIZES.items():
        page.set_viewport_size({"width": width, "height": height})
        page.wait_for_timeout(600)  # the bars' transition
        path = processes.ARTIFACTS / f"{name}-{size}.png"
        page.screenshot(path=str(path), full_page=True, animations="disabled")


def round_item(page: Page, number: int) -> Any:
    return page.locator(f'#rounds [data-round="{number}"]')


def round_row(page: Page, number: int, poll: Poll, label: str) -> Any:
    return round_item(page, number).locator(f'[data-round-choice="{ids(poll)[label]}"]')


def share(page: Page, bar: Any, part: str = ".fill") -> float:
    """How much of its track a bar's part fills, as the viewer sees it (0..1)."""
    fill = bar.locator(part).bounding_box()
    track = bar.bounding_box()
    assert fill is not None
    assert track is not None
    return float(fill["width"] / track["width"])


def wait_for_share(page: Page, bar: Any, expected: float, part: str = ".fill") -> None:
    processes.wait_for(
        lambda: abs(share(page, bar, part) - expected) < 0.01,
        timeout=20,
        what=f"a bar at {expected:.0%}",
    )


# Before the voter in the page: five ballots. The runoff: Osaka out (a three-way tie for
# fewest, the last listed goes), its ballot to Montréal; Kraków out, its ballot to
# Lisbon; Lisbon wins 3 to 2 in round 3.
EARLIER = [
    ("Lisbon", "Kraków"),
    ("Lisbon", "Kraków"),
    ("Kraków", "Lisbon"),
    ("Montréal", "Kraków"),
    ("Osaka", "Montréal"),
]


def expect_lisbon_wins_in_round_3(page: Page, poll: Poll) -> None:
    expect(page.locator("#outcome")).to_have_text("Lisbon wins in round 3.")
    expect(page.locator("#rounds > .round")).to_have_count(3)
    expect(round_item(page, 1).locator(".round-note")).to_have_text("Osaka eliminated")
    expect(round_row(page, 1, poll, "Osaka").locator(".tag-out")).to_have_text("out")
    expect(round_row(page, 1, poll, "Osaka").locator(".outflow")).to_have_text(
        "Its ballots go to: Montréal +1"
    )
    expect(round_row(page, 2, poll, "Montréal").locator(".gain")).to_have_text("+1 from Osaka")
    expect(round_row(page, 3, poll, "Lisbon").locator(".gain")).to_have_text("+1 from Kraków")
    expect(round_row(page, 3, poll, "Lisbon").locator(".tag-win")).to_have_text("winner")
    expect(round_row(page, 3, poll, "Lisbon").locator(".percent")).to_have_text("60")


def expect_montreal_wins_in_round_4(page: Page, poll: Poll) -> None:
    """After the ballot Montréal, Osaka, Kraków: Lisbon and Montréal tie 3-3 in round 3,
    Lisbon had fewer in round 2 and goes, and its ballots have no choice left."""
    expect(page.locator("#outcome")).to_have_text("Montréal wins in round 4.")
    expect(page.locator("#rounds > .round")).to_have_count(4)
    expect(round_row(page, 1, poll, "Montréal").locator(".votes")).to_have_text("2")
    expect(round_row(page, 2, poll, "Montréal").locator(".gain")).to_have_text("+1 from Osaka")
    expect(round_item(page, 3).locator(".round-note")).to_have_text("Lisbon eliminated")
    expect(round_row(page, 3, poll, "Lisbon").locator(".outflow")).to_have_text(
        "Its ballots go to: exhausted +3"
    )
    expect(round_item(page, 4).locator(".exhausted")).to_have_text(
        "Inactive ballots (no choice left in the count): 3 +3 from Lisbon"
    )
    expect(round_row(page, 4, poll, "Montréal").locator(".tag-win")).to_have_text("winner")
    expect(round_row(page, 4, poll, "Montréal").locator(".percent")).to_have_text("100")
    # The table says the same, one column per round.
    table = page.locator("#rounds-table")
    expect(table.locator("thead th")).to_have_text(
        ["Choice", "Round 1", "Round 2", "Round 3", "Round 4"]
    )
    lisbon = table.locator(f'[data-table-choice="{ids(poll)["Lisbon"]}"] td')
    expect(lisbon).to_have_text(["2", "2", "3 +1 out", "\u2013 (out)"])
    montreal = table.locator(f'[data-table-choice="{ids(poll)["Montréal"]}"] td')
    expect(montreal).to_have_text(["2", "3 +1", "3", "3 wins"])
    expect(table.locator(".exhausted-row td")).to_have_text(["0", "0", "0", "3"])
    # First preferences and Borda points: Kraków, first for one voter, has the most.
    prefs = page.locator("#prefs-table")
    expect(prefs.locator(f'[data-pref-choice="{ids(poll)["Kraków"]}"] td')).to_have_text(
        ["1 (16.7%)", "10"]
    )
    expect(prefs.locator(f'[data-pref-choice="{ids(poll)["Montréal"]}"] td')).to_have_text(
        ["2 (33.3%)", "8"]
    )


def tab_to(page: Page, name: str, *, back: bool = False, presses: int = 40) -> None:
    """Presses Tab (or Shift+Tab) until the focused element's name starts with `name`."""
    for _ in range(presses):
        page.keyboard.press("Shift+Tab" if back else "Tab")
        focused = page.evaluate(
            "(() => { const e = document.activeElement;"
            " return e.getAttribute('aria-label') || e.textContent.trim(); })()"
        )
        if focused.startswith(name):
            return
    raise AssertionError(f"Tab never reached {name!r}")


def test_a_ranked_ballot_by_the_selects_without_javascript(
    open_page: Callable[..., Page], worker: Any, voting: Any, results: Any
) -> None:
    poll = ranked_poll()
    page = open_page(f"{voting.url}/polls/{poll.slug}/", java_script_enabled=False)
    # One select per rank, each listing every choice; the page says what to do.
    selects = page.locator(".rank-selects select")
    expect(selects).to_have_count(4)
    for number, label in enumerate(["1st choice", "2nd choice", "3rd choice", "4th choice"]):
        select = page.get_by_label(label)
        expect(select).to_be_visible()
        expect(select.locator("option")).to_have_count(5)  # "none", then the four
        assert selects.nth(number).get_attribute("name") == f"rank{number + 1}"
    expect(page.locator("#ranks-hint")).to_contain_text("best first")

    # A gap is refused with a clear message, and the page keeps what the voter chose.
    page.get_by_label("1st choice").select_option(label="Kraków")
    page.get_by_label("3rd choice").select_option(label="Lisbon")
    page.get_by_role("button", name="Vote").click()
    expect(page.get_by_role("alert")).to_have_text(
        "Fill the ranks in order: rank 2 is empty, a later one is not."
    )
    expect(page.get_by_label("1st choice")).to_have_value(str(ids(poll)["Kraków"]))
    expect(page.get_by_label("3rd choice")).to_have_value(str(ids(poll)["Lisbon"]))

    page.get_by_label("3rd choice").select_option("")
    page.get_by_label("2nd choice").select_option(label="Lisbon")
    page.get_by_role("button", name="Vote").click()
    expect(page.get_by_text("Vote received")).to_be_visible()
    stored(results.url, poll, 1)

    # The stored ballot is shown: the selects hold it, and the page says it.
    page.reload()
    expect(page.locator(".your-vote")).to_contain_text("Your ranking: 1st Kraków, 2nd Lisbon")
    expect(page.get_by_label("1st choice")).to_have_value(str(ids(poll)["Kraków"]))
    expect(page.get_by_label("2nd choice")).to_have_value(str(ids(poll)["Lisbon"]))
    expect(page.get_by_label("3rd choice")).to_have_value("")
    expect(page.get_by_role("button", name="Change my vote")).to_be_visible()
    screenshots(page, "voting-ranked-no-js")


def test_a_ranked_ballot_by_keyboard_alone_changes_the_rounds_live_in_another_page(
    open_page: Callable[..., Page], worker: Any, voting: Any, results: Any
) -> None:
    poll = ranked_poll()
    viewer = open_page(f"{results.url}/polls/{poll.slug}/results/")
    viewer_errors = watch_errors(viewer)
    viewer.reload()
    expect(viewer.locator("#live")).to_have_text("live")
    expect(viewer.locator("#outcome")).to_have_text("No ballots yet.")
    expect(viewer.locator("#runoff")).to_be_hidden()
    viewer.evaluate("window.__marker = 'the same page'")

    # The rounds appear as the first ballots are stored.
    for ballot in EARLIER:
        cast(voting.url, poll, rank(poll, *ballot))
    expect(viewer.locator("#total")).to_have_text(str(len(EARLIER)))
    expect_lisbon_wins_in_round_3(viewer, poll)

    voter = open_page(f"{voting.url}/polls/{poll.slug}/")
    voter_errors = watch_errors(voter)
    voter.reload()
    # With JavaScript the selects give way to a list (they stay in the form, hidden).
    expect(voter.locator(".rank-selects")).to_be_hidden()
    expect(voter.locator(".ranked-empty")).to_have_text("Nothing ranked yet.")
    status = voter.locator("#ranker-status")
    expect(status).to_have_attribute("role", "status")  # a live region: announced

    # Keyboard only: Enter ranks the focused choice, the arrow keys move it.
    tab_to(voter, "Osaka, not ranked")
    voter.keyboard.press("Enter")
    expect(status).to_have_text("Osaka ranked 1st.")
    # The focus stays among the choices not yet ranked, on the next one.
    expect(voter.locator(":focus")).to_have_attribute("aria-label", "Montréal, not ranked")
    voter.keyboard.press("Enter")
    expect(status).to_have_text("Montréal ranked 2nd.")
    expect(voter.locator(":focus")).to_have_attribute("aria-label", "Kraków, not ranked")
    voter.keyboard.press("Enter")
    expect(status).to_have_text("Kraków ranked 3rd.")
    tab_to(voter, "Montréal, 2nd choice", back=True)
    voter.keyboard.press("ArrowUp")
    expect(status).to_have_text("Montréal moved to 1st choice.")
    expect(voter.locator(":focus")).to_have_attribute("aria-label", "Montréal, 1st choice")
    voter.keyboard.press("ArrowUp")
    expect(status).to_have_text("Montréal is already 1st.")
    expect(voter.locator(".ranked .rank-name")).to_have_text(["Montréal", "Osaka", "Kraków"])
    expect(voter.locator(".unranked .rank-name")).to_have_text(["Lisbon"])
    # The hidden selects follow, so the form posts what a person without script posts.
    choice = ids(poll)
    for name, expected in [
        ("rank1", str(choice["Montréal"])),
        ("rank2", str(choice["Osaka"])),
        ("rank3", str(choice["Kraków"])),
        ("rank4", ""),
    ]:
        expect(voter.locator(f'select[name="{name}"]')).to_have_value(expected)
    tab_to(voter, "Vote")
    voter.keyboard.press("Enter")
    expect(voter.get_by_text("Vote received")).to_be_visible()

    # The other page redraws the rounds from the new snapshot, without a reload.
    expect(viewer.locator("#total")).to_have_text("6")
    expect(viewer.locator("#total-unit")).to_have_text("ballots")
    expect_montreal_wins_in_round_4(viewer, poll)
    wait_for_share(viewer, round_row(viewer, 2, poll, "Montréal").locator(".bar"), 2 / 6)
    # Its gain from Osaka drawn apart, right after what it had: 1 of 6 ballots.
    wait_for_share(
        viewer, round_row(viewer, 2, poll, "Montréal").locator(".bar"), 1 / 6, ".fill-gain"
    )
    assert viewer.evaluate("window.__marker") == "the same page", "the page was reloaded"

    # Once stored, the voting page shows the ranking back, in the list.
    processes.wait_for(lambda: results_of(results.url, poll.slug)["total"] == 6, what="stored")
    voter.reload()
    expect(voter.locator(".ranked .rank-name")).to_have_text(["Montréal", "Osaka", "Kraków"])
    expect(voter.locator(".your-vote")).to_contain_text(
        "Your ranking: 1st Montréal, 2nd Osaka, 3rd Kraków"
    )
    assert voter_errors == []
    assert viewer_errors == []
    screenshots(voter, "voting-ranked")
    screenshots(viewer, "results-ranked")


def test_a_ranked_choice_moves_by_drag_and_by_its_buttons(
    open_page: Callable[..., Page], voting: Any
) -> None:
    poll = ranked_poll()
    page = open_page(f"{voting.url}/polls/{poll.slug}/")
    errors = watch_errors(page)
    page.reload()
    for label in ("Lisbon", "Kraków", "Montréal"):  # a tap ranks a choice next
        page.locator(".unranked .rank-item", has_text=label).click()
    ranked = page.locator(".ranked .rank-name")
    expect(ranked).to_have_text(["Lisbon", "Kraków", "Montréal"])

    # Montréal's grip dragged above Lisbon.
    grip = page.locator(".ranked .rank-item", has_text="Montréal").locator(".grip")
    top = page.locator(".ranked .rank-item", has_text="Lisbon").bounding_box()
    box = grip.bounding_box()
    assert top is not None
    assert box is not None
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    for step in range(1, 11):
        y = box["y"] + (top["y"] + 4 - box["y"]) * step / 10
        page.mouse.move(box["x"] + box["width"] / 2, y)
    page.mouse.up()
    expect(ranked).to_have_text(["Montréal", "Lisbon", "Kraków"])
    expect(page.locator("#ranker-status")).to_have_text("Montréal moved to 1st choice.")
    expect(page.locator('select[name="rank1"]')).to_have_value(str(ids(poll)["Montréal"]))

    # The buttons: down, and out of the ranking.
    page.get_by_role("button", name="Move Montréal down").click()
    expect(ranked).to_have_text(["Lisbon", "Montréal", "Kraków"])
    page.get_by_role("button", name="Take Kraków out of your ranking").click()
    expect(ranked).to_have_text(["Lisbon", "Montréal"])
    expect(page.locator('select[name="rank3"]')).to_have_value("")
    assert errors == []


def test_a_multiple_choice_ballot_in_the_page_updates_its_results_live(
    open_page: Callable[..., Page], worker: Any, voting: Any, results: Any
) -> None:
    poll = toppings_poll()
    viewer = open_page(f"{results.url}/polls/{poll.slug}/results/")
    errors = watch_errors(viewer)
    viewer.reload()
    expect(viewer.locator("#live")).to_have_text("live")
    expect(viewer.locator("#shares-note")).to_contain_text("can add up to more than 100%")
    viewer.evaluate("window.__marker = 'the same page'")

    def row(label: str) -> Any:
        return viewer.locator(f'[data-choice="{ids(poll)[label]}"]')

    alice = open_page(f"{voting.url}/polls/{poll.slug}/")
    expect(alice.locator("#picks-hint")).to_have_text("Pick up to 3.")
    for label in ("Cheese", "Olives", "Basil"):
        alice.get_by_label(label).check()
    # With the most picked, the other boxes wait; the server would refuse a fourth.
    expect(alice.get_by_label("Mushrooms")).to_be_disabled()
    expect(alice.locator("#picks-count")).to_have_text("3 picked: that is the most you can pick.")
    alice.get_by_role("button", name="Vote").click()
    expect(alice.get_by_text("Vote received")).to_be_visible()

    expect(viewer.locator("#total")).to_have_text("1")
    expect(viewer.locator("#total-unit")).to_have_text("voter")
    expect(row("Cheese").locator(".percent")).to_have_text("100")
    expect(row("Cheese").locator(".votes-unit")).to_have_text("voter")

    bob = open_page(f"{voting.url}/polls/{poll.slug}/")
    bob.get_by_label("Cheese").check()
    bob.get_by_label("Mushrooms").check()
    bob.get_by_role("button", name="Vote").click()
    expect(bob.get_by_text("Vote received")).to_be_visible()

    # Shares of the 2 voters: 100 + 50 + 50 + 50 = 250%.
    expect(viewer.locator("#total")).to_have_text("2")
    expect(viewer.locator("#shares-note .voters")).to_have_text("2")
    expect(row("Cheese").locator(".votes")).to_have_text("2")
    expect(row("Cheese").locator(".votes-unit")).to_have_text("voters")
    for label, percent in [("Cheese", "100"), ("Mushrooms", "50"), ("Olives", "50")]:
        expect(row(label).locator(".percent")).to_have_text(percent)
    expect(row("Pineapple").locator(".percent")).to_have_text("0")
    wait_for_share(viewer, row("Cheese").locator(".bar"), 1.0)
    wait_for_share(viewer, row("Basil").locator(".bar"), 0.5)
    assert viewer.evaluate("window.__marker") == "the same page", "the page was reloaded"

    # Alice's ballot is shown back to her, once stored.
    stored(results.url, poll, 2)
    alice.reload()
    for label in ("Cheese", "Olives", "Basil"):
        expect(alice.get_by_label(label)).to_be_checked()
    expect(alice.get_by_label("Mushrooms")).not_to_be_checked()
    expect(alice.locator(".your-vote")).to_contain_text("You picked Cheese, Olives, Basil")
    assert errors == []
    screenshots(alice, "voting-multiple")
    screenshots(viewer, "results-multiple")


def test_a_rating_in_the_page_updates_the_distribution_and_summary_live(
    open_page: Callable[..., Page], worker: Any, voting: Any, results: Any
) -> None:
    poll = nps_poll()
    viewer = open_page(f"{results.url}/polls/{poll.slug}/results/")
    errors = watch_errors(viewer)
    viewer.reload()
    expect(viewer.locator("#live")).to_have_text("live")
    expect(viewer.locator("#scale-mean")).to_have_text("\u2013")  # a dash: none yet
    expect(viewer.locator("#values > li")).to_have_count(11)
    viewer.evaluate("window.__marker = 'the same page'")

    def column(value: int) -> Any:
        return viewer.locator(f'[data-value="{value}"]')

    def height(value: int) -> float:
        fill = column(value).locator(".fill").bounding_box()
        track = column(value).locator(".col-bar").bounding_box()
        assert fill is not None
        assert track is not None
        return float(fill["height"] / track["height"])

    alice = open_page(f"{voting.url}/polls/{poll.slug}/")
    # One radio per value; the ends are read with their labels.
    expect(alice.locator('input[name="value"]')).to_have_count(11)
    expect(alice.locator(".scale-ends .end-min")).to_have_text("0: Not at all likely")
    expect(alice.locator(".scale-ends .end-max")).to_have_text("10: Extremely likely")
    alice.get_by_label("10 (Extremely likely)").check()
    alice.get_by_role("button", name="Vote").click()
    expect(alice.get_by_text("Vote received")).to_be_visible()
    expect(viewer.locator("#total")).to_have_text("1")
    expect(viewer.locator("#total-unit")).to_have_text("rating")
    expect(viewer.locator("#scale-nps")).to_have_text("+100")

    bob = open_page(f"{voting.url}/polls/{poll.slug}/")
    bob.get_by_label("4", exact=True).check()
    bob.get_by_role("button", name="Vote").click()
    expect(bob.get_by_text("Vote received")).to_be_visible()
    carol = open_page(f"{voting.url}/polls/{poll.slug}/")
    carol.get_by_label("4", exact=True).check()
    carol.get_by_role("button", name="Vote").click()
    expect(carol.get_by_text("Vote received")).to_be_visible()

    # 10, 4, 4: mean 6, median 4, one promoter and two detractors of three.
    expect(viewer.locator("#total")).to_have_text("3")
    expect(viewer.locator("#scale-mean")).to_have_text("6")
    expect(viewer.locator("#scale-median")).to_have_text("4")
    expect(viewer.locator("#scale-nps")).to_have_text("\u221233")  # a minus sign
    expect(column(4).locator(".votes")).to_have_text("2")
    expect(column(4).locator(".percent")).to_have_text("66.7")
    expect(column(10).locator(".votes")).to_have_text("1")
    processes.wait_for(lambda: abs(height(4) - 1.0) < 0.02, timeout=20, what="4 full height")
    processes.wait_for(lambda: abs(height(10) - 0.5) < 0.02, timeout=20, what="10 half")
    assert height(7) == 0
    assert viewer.evaluate("window.__marker") == "the same page", "the page was reloaded"

    stored(results.url, poll, 3)
    alice.reload()
    expect(alice.get_by_label("10 (Extremely likely)")).to_be_checked()
    expect(alice.locator(".your-vote")).to_contain_text("You gave 10")
    assert errors == []
    screenshots(alice, "voting-scale")
    screenshots(viewer, "results-scale")


@pytest.mark.parametrize("kind", ["multiple", "ranked", "scale"])
def test_each_kinds_results_page_is_correct_without_javascript(
    kind: str, open_page: Callable[..., Page], worker: Any, voting: Any, results: Any
) -> None:
    if kind == "ranked":
        poll = ranked_poll()
        ballots = [rank(poll, *b) for b in [*EARLIER, ("Montréal", "Osaka", "Kraków")]]
    elif kind == "multiple":
        poll = toppings_poll()
        choice = ids(poll)
        ballots = [
            {"choices": [choice["Cheese"], choice["Basil"]]},
            {"choices": [choice["Cheese"]]},
            {"choices": [choice["Olives"], choice["Basil"], choice["Cheese"]]},
            {"choices": [choice["Mushrooms"]]},
        ]
    else:
        poll = nps_poll()
        ballots = [{"value": v} for v in (9, 10, 7, 3, 9)]
    page = open_page(f"{results.url}/polls/{poll.slug}/results/", java_script_enabled=False)
    expect(page.locator("#total")).to_have_text("0")
    if kind == "ranked":  # no rounds to show yet
        expect(page.locator("#outcome")).to_have_text("No ballots yet.")
        expect(page.locator("#runoff")).to_be_hidden()
    for ballot in ballots:
        cast(voting.url, poll, ballot)
    stored(results.url, poll, len(ballots))

    page.reload()
    expect(page.locator("#live")).to_have_text("reload for current totals")
    expect(page.locator("#total")).to_have_text(str(len(ballots)))
    if kind == "ranked":
        expect(page.locator("#total-unit")).to_have_text("ballots")
        expect_montreal_wins_in_round_4(page, poll)
        # The bars are <progress> elements: round 2, Montréal 3 of 6 continuing ballots.
        meter = round_row(page, 2, poll, "Montréal").locator("progress")
        assert (meter.get_attribute("value"), meter.get_attribute("max")) == ("3", "6")
        assert meter.is_visible()
    elif kind == "multiple":
        expect(page.locator("#total-unit")).to_have_text("voters")
        cheese = page.locator(f'[data-choice="{ids(poll)["Cheese"]}"]')
        expect(cheese.locator(".percent")).to_have_text("75")
        expect(cheese.locator(".votes-unit")).to_have_text("voters")
        expect(page.locator("#shares-note")).to_have_text(
            "Each share is of the 4 voters. A voter may pick more than one choice, "
            "so the shares can add up to more than 100%."
        )
        meter = cheese.locator("progress")
        assert (meter.get_attribute("value"), meter.get_attribute("max")) == ("3", "4")
        assert meter.is_visible()
    else:
        expect(page.locator("#total-unit")).to_have_text("ratings")
        # 3, 7, 9, 9, 10: mean 7.6, median 9, NPS (3 promoters - 1 detractor) / 5 = +40.
        expect(page.locator("#scale-mean")).to_have_text("7.6")
        expect(page.locator("#scale-median")).to_have_text("9")
        expect(page.locator("#scale-nps")).to_have_text("+40")
        nine = page.locator('[data-value="9"]')
        expect(nine.locator(".votes")).to_have_text("2")
        meter = nine.locator("progress")
        assert (meter.get_attribute("value"), meter.get_attribute("max")) == ("2", "2")
        assert meter.is_visible()
        box = meter.bounding_box()
        assert box is not None
        assert box["height"] > box["width"], "the distribution's bars stand up"
    screenshots(page, f"results-{kind}-no-js")
