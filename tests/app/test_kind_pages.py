"""The pages of each kind of question as the server renders them (what a browser without
JavaScript gets): the voting page's inputs, the stored ballot shown back, a refused form
kept as sent, and no inline script or style attribute anywhere (a strict CSP)."""

from __future__ import annotations

import uuid
from html.parser import HTMLParser
from typing import Any

import pytest
from django.conf import settings
from django.test import Client, override_settings
from django.utils import timezone

from polls import kinds, organising
from polls.models import Poll
from polls.pipeline.message import QueuedVote
from polls.pipeline.store import record_votes
from polls.voters import signed_voter_cookie

pytestmark = pytest.mark.django_db
K = Poll.Kind


def kind_poll(kind: str, **options: Any) -> Poll:
    return organising.create_poll(
        slug=f"{kind}-{uuid.uuid4().hex[:6]}",
        question=f"A {kind} question?",
        labels=[] if kind == K.SCALE else ["Red", "Green", "Blue", "Gold"],
        open_now=True,
        kind=kind,
        **options,
    )


def ids(poll: Poll) -> dict[str, int]:
    return {c.label: c.pk for c in poll.choices.all()}


def voter(name: str) -> Client:
    client = Client()
    client.cookies[settings.VOTER_COOKIE_NAME] = signed_voter_cookie(name)
    return client


def stored_ballot(poll: Poll, name: str, ballot: list[int]) -> None:
    """The voter's ballot as the worker stores it."""
    single = ballot[0] if poll.kind == K.SINGLE else None
    vote = QueuedVote(uuid.uuid4(), poll.pk, single, f"anon:{name}", timezone.now(), tuple(ballot))
    assert record_votes([vote]).created == 1


class Page(HTMLParser):
    """The parts of a page these tests read: the ballot's inputs and selects (not the
    language switcher's), and what breaks a strict CSP."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.inputs: list[dict[str, str | None]] = []
        self.selects: list[dict[str, Any]] = []
        self.csp_problems: list[str] = []
        self.scripts: list[str] = []  # each script's src, in the page's order
        self._script_has_src = True
        self._in_switcher = False
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if "style" in found:
            self.csp_problems.append(f"<{tag} style=...>")
        self.csp_problems += [f"<{tag} {name}=...>" for name in found if name.startswith("on")]
        if tag == "form" and "languages" in (found.get("class") or "").split():
            self._in_switcher = True
        if tag == "script":
            self._script_has_src = "src" in found
            self.scripts += [found["src"] or ""] if "src" in found else []
        elif self._in_switcher:
            pass
        elif tag == "input":
            self.inputs.append(found)
        elif tag == "select":
            self.selects.append({**found, "options": [], "selected": ""})
        elif tag == "option" and self.selects:
            self.selects[-1]["options"].append(found.get("value"))
            if "selected" in found:
                self.selects[-1]["selected"] = found.get("value")

    def handle_data(self, data: str) -> None:
        if not self._script_has_src and data.strip():
            self.csp_problems.append(f"inline script {data.strip()[:40]!r}")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._script_has_src = True
        elif tag == "form":
            self._in_switcher = False

    def named(self, name: str) -> list[dict[str, str | None]]:
        return [i for i in self.inputs if i.get("name") == name]


def page_of(client: Client, url: str, status: int = 200) -> tuple[str, Page]:
    response = client.get(url)
    assert response.status_code == status
    html = response.content.decode()
    return html, Page(html)


def test_a_multiple_choice_page_has_a_checkbox_per_choice_and_says_how_many_to_pick() -> None:
    poll = kind_poll(K.MULTIPLE, max_picks=2)
    html, page = page_of(Client(), f"/polls/{poll.slug}/")
    boxes = page.named("choices")
    assert [b["type"] for b in boxes] == ["checkbox"] * 4
    assert [b["value"] for b in boxes] == [str(i) for i in ids(poll).values()]
    assert "Pick up to 2." in html
    for options, hint in [
        ({}, "Pick as many as you like."),
        ({"min_picks": 2}, "Pick at least 2."),
        ({"min_picks": 2, "max_picks": 3}, "Pick from 2 to 3."),
        ({"min_picks": 2, "max_picks": 2}, "Pick exactly 2."),
    ]:
        assert hint in page_of(Client(), f"/polls/{kind_poll(K.MULTIPLE, **options).slug}/")[0]


def test_a_ranked_page_has_one_select_per_rank_allowed_each_listing_every_choice() -> None:
    poll = kind_poll(K.RANKED, max_ranks=3)
    html, page = page_of(Client(), f"/polls/{poll.slug}/")
    assert [s["name"] for s in page.selects] == ["rank1", "rank2", "rank3"]
    for select in page.selects:
        assert select["options"] == ["", *[str(i) for i in ids(poll).values()]]
    assert ">1st choice<" in html
    assert ">3rd choice<" in html
    assert "Rank up to 3 of the choices, best first." in html
    assert "required" in html.split('name="rank1"')[1].split(">")[0]  # the 1st, at least
    assert "required" not in html.split('name="rank2"')[1].split(">")[0]


def test_a_scale_page_has_a_radio_per_value_with_the_end_labels() -> None:
    poll = kind_poll(
        K.SCALE, scale_min=1, scale_max=5, scale_min_label="Poor", scale_max_label="Great"
    )
    html, page = page_of(Client(), f"/polls/{poll.slug}/")
    radios = page.named("value")
    assert [(r["type"], r["value"]) for r in radios] == [("radio", str(v)) for v in range(1, 6)]
    assert "1: Poor" in html
    assert "5: Great" in html
    assert '<span class="sr-only"> (Poor)</span>' in html  # read with the value


@pytest.mark.parametrize(
    ("kind", "ballot", "says"),
    [
        (K.MULTIPLE, ["Blue", "Red"], "You picked Red, Blue"),
        (K.RANKED, ["Gold", "Red"], "Your ranking: 1st Gold, 2nd Red"),
        (K.SCALE, [4], "You gave 4"),
    ],
)
def test_the_voting_page_shows_the_voters_stored_ballot(kind, ballot, says) -> None:
    poll = kind_poll(kind)
    choice = ids(poll)
    items = [choice[b] if isinstance(b, str) else b for b in ballot]
    stored_ballot(poll, "alice", items)
    html, page = page_of(voter("alice"), f"/polls/{poll.slug}/")
    assert says in html
    assert "Change my vote" in html
    if kind == K.MULTIPLE:
        checked = {b["value"] for b in page.named("choices") if "checked" in b}
        assert checked == {str(choice["Red"]), str(choice["Blue"])}
    elif kind == K.RANKED:
        selected = [s["selected"] for s in page.selects]
        assert selected == [str(choice["Gold"]), str(choice["Red"]), "", ""]
    else:
        assert [b["value"] for b in page.named("value") if "checked" in b] == ["4"]
    # Another voter sees a blank ballot.
    other = page_of(voter("bob"), f"/polls/{poll.slug}/")[0]
    assert says not in other
    assert "Change my vote" not in other


@pytest.mark.usefixtures("own_queue")
@override_settings(RATELIMIT_ENABLE=False)
def test_a_refused_ranked_form_comes_back_as_the_voter_filled_it() -> None:
    poll = kind_poll(K.RANKED)
    choice = ids(poll)
    response = Client().post(
        f"/polls/{poll.slug}/vote/", {"rank1": choice["Blue"], "rank3": choice["Red"]}
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "Fill the ranks in order: rank 2 is empty, a later one is not." in html
    page = Page(html)
    assert [s["selected"] for s in page.selects] == [
        str(choice["Blue"]),
        "",
        str(choice["Red"]),
        "",
    ]


@pytest.mark.usefixtures("own_queue")
@override_settings(RATELIMIT_ENABLE=False)
def test_a_refused_multiple_choice_form_keeps_the_boxes_ticked() -> None:
    poll = kind_poll(K.MULTIPLE, max_picks=2)
    choice = ids(poll)
    picked = [choice["Red"], choice["Green"], choice["Gold"]]
    response = Client().post(f"/polls/{poll.slug}/vote/", {"choices": picked})
    assert response.status_code == 400
    page = Page(response.content.decode())
    assert {b["value"] for b in page.named("choices") if "checked" in b} == {str(c) for c in picked}


@pytest.mark.parametrize("kind", [K.SINGLE, K.MULTIPLE, K.RANKED, K.SCALE])
def test_a_closed_polls_page_leads_with_its_final_results_and_takes_no_ballot(kind) -> None:
    poll = kind_poll(kind)
    stored_ballot(poll, "alice", [3] if kind == K.SCALE else list(ids(poll).values())[:1])
    organising.close_poll(poll)
    html, _ = page_of(Client(), f"/polls/{poll.slug}/")
    main = html[html.index("<main") :]
    # The final results come first, straight after the heading: no grey form to wade through.
    assert main.index("Final results") < main.index("</h1>") + 400
    assert '<h2 id="final-title">Final results</h2>' in main
    assert "<strong>1</strong>" in main  # the total
    assert "<form" not in main.split("</section>")[0]
    assert f'action="/polls/{poll.slug}/vote/"' not in html
    assert "Voting has ended." in html


@pytest.mark.parametrize("kind", [K.SINGLE, K.MULTIPLE, K.RANKED, K.SCALE])
def test_no_page_of_any_kind_has_an_inline_script_or_style_attribute(kind) -> None:
    poll = kind_poll(kind)
    c = list(ids(poll).values())
    ballots = (
        [[2], [5]] if kind == K.SCALE else [c[:1], c[1:2]] if kind == K.SINGLE else [c[:3], c[::-1]]
    )
    for n, ballot in enumerate(ballots):
        stored_ballot(poll, f"voter{n}", ballot)
    for url in (f"/polls/{poll.slug}/", f"/polls/{poll.slug}/results/"):
        _, page = page_of(voter("voter0"), url)
        assert page.csp_problems == [], url


@pytest.mark.parametrize("kind", [K.SINGLE, K.MULTIPLE, K.RANKED, K.SCALE])
def test_results_shown_after_a_vote_are_shown_to_a_voter_of_any_kind(kind) -> None:
    poll = kind_poll(kind, results_visibility=Poll.ResultsVisibility.AFTER_VOTE)
    stored_ballot(poll, "alice", [3] if kind == K.SCALE else list(ids(poll).values())[:1])
    for url in (f"/polls/{poll.slug}/results/", f"/api/polls/{poll.slug}/results"):
        assert voter("alice").get(url).status_code == 200, url
        assert voter("bob").get(url).status_code == 403, url


@pytest.mark.parametrize("kind", list(K))
def test_each_page_of_a_kind_loads_the_scripts_its_own_builds_on_once_and_before_it(kind) -> None:
    text = kind in (K.WORDCLOUD, K.OPENANSWER)
    poll = organising.create_poll(
        slug=f"{kind}-{uuid.uuid4().hex[:6]}", question="Scripts?", open_now=True, kind=kind,
        labels=[] if text or kind == K.SCALE else ["Red", "Green"],
    )  # fmt: skip
    wanted = kinds.kind_for(poll).scripts
    # The text kinds share the character count and the totals (polls/text-entries.js).
    assert (wanted[0] == "polls/text-entries.js") is text
    assert wanted[-1] == f"polls/kinds/{kind}.js"
    for url in (f"/polls/{poll.slug}/", f"/polls/{poll.slug}/results/"):
        _, page = page_of(voter("anna"), url)
        where = [
            [n for n, src in enumerate(page.scripts) if src.endswith(f"/static/{script}")]
            for script in wanted
        ]
        assert all(len(found) == 1 for found in where), (url, page.scripts)
        assert where == sorted(where), (url, page.scripts)
