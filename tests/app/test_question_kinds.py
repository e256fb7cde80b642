"""Multiple choice, ranked choice and rating scales: the same guarantees as a single choice
(one current ballot per voter, the one cast last wins, duplicates change nothing, a ballot
cast after close is refused, aggregates exact in the ballot's own transaction), as tables
of cases for the worker and for the web side, and as properties over random streams."""

from __future__ import annotations

import datetime
import random
import uuid
from collections import Counter
from typing import Any

import pytest
from django.test import Client, override_settings
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from pref_voting.profiles import Profile
from pref_voting.voting_methods import instant_runoff as library_runoff

from polls import organising
from polls.models import Poll, PollCounter, RankingCount, Tally, ValueCount, Vote
from polls.pipeline.message import QueuedVote
from polls.pipeline.store import RecordOutcome, record_votes
from polls.selectors import poll_results
from tests.support.commands import run
from tests.support.kinds import K, ids, kind_poll

pytestmark = pytest.mark.django_db


def ballot(
    poll: Poll, voter: str, items: list[int], *, at: datetime.datetime | None = None
) -> QueuedVote:
    single = items[0] if poll.kind == K.SINGLE else None
    return QueuedVote(
        uuid.uuid4(), poll.pk, single, f"anon:{voter}", at or timezone.now(), tuple(items)
    )


def store(*votes: QueuedVote) -> RecordOutcome:
    return record_votes(list(votes))


def aggregates(poll: Poll) -> dict[str, Any]:
    return {
        "tallies": dict(Tally.objects.filter(poll=poll).values_list("choice_id", "votes")),
        "rankings": {
            tuple(r): n
            for r, n in RankingCount.objects.filter(poll=poll, votes__gt=0).values_list(
                "ranking", "votes"
            )
        },
        "values": dict(
            ValueCount.objects.filter(poll=poll, votes__gt=0).values_list("value", "votes")
        ),
        "total": PollCounter.objects.get(poll=poll).total,
    }


def counted_from_ballots(poll: Poll) -> dict[str, Any]:
    """The aggregates recomputed from the stored ballots, by the kind's own rule."""
    tallies: Counter[int] = Counter(dict.fromkeys(ids(poll), 0))
    rankings: Counter[tuple[int, ...]] = Counter()
    values: Counter[int] = Counter()
    ballots = [tuple(b) for b in Vote.objects.filter(poll=poll).values_list("ballot", flat=True)]
    for stored in ballots:
        if poll.kind == K.SCALE:
            values[stored[0]] += 1
        elif poll.kind == K.RANKED:
            tallies[stored[0]] += 1
            rankings[stored] += 1
        else:
            tallies.update(stored)
    return {
        "tallies": dict(tallies),
        "rankings": dict(rankings),
        "values": dict(values),
        "total": len(ballots),
    }


def stored_ballot(poll: Poll, voter: str) -> tuple[int, ...] | None:
    found = Vote.objects.filter(poll=poll, voter_key=f"anon:{voter}").values_list(
        "ballot", flat=True
    )
    return tuple(found[0]) if found else None


# --- The worker's rules, per kind ---------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "options", "first", "change"),
    [
        (K.MULTIPLE, {"max_picks": 3}, [0, 2], [1, 2, 3]),
        (K.RANKED, {}, [2, 0, 1], [1]),
        (K.SCALE, {"scale_min": 0, "scale_max": 10}, [7], [10]),
    ],
)
def test_first_ballot_change_repeat_duplicate_and_out_of_order(
    kind, options, first, change
) -> None:
    poll = kind_poll(kind, **options)
    choice = ids(poll)

    def items(picks: list[int]) -> list[int]:
        return picks if kind == K.SCALE else [choice[i] for i in picks]

    early = timezone.now() - datetime.timedelta(seconds=10)
    one = ballot(poll, "ana", items(first), at=early)
    assert store(one).created == 1
    assert aggregates(poll) == counted_from_ballots(poll)

    two = ballot(poll, "ana", items(change))
    assert store(two).changed == 1
    assert stored_ballot(poll, "ana") == tuple(
        sorted(items(change)) if kind == K.MULTIPLE else items(change)
    )
    assert aggregates(poll) == counted_from_ballots(poll)
    after_change = aggregates(poll)

    assert store(ballot(poll, "ana", items(change))).unchanged == 1  # the same ballot again
    assert store(two, two).ignored == 2  # duplicate delivery of a stored vote
    assert store(one).ignored == 1  # an older vote arriving late
    assert aggregates(poll) == after_change
    assert after_change["total"] == 1

    # Out of order inside one batch: the one cast last wins.
    older, newer = ballot(poll, "bo", items(first), at=early), ballot(poll, "bo", items(change))
    store(newer, older)
    assert stored_ballot(poll, "bo") == stored_ballot(poll, "ana")
    assert aggregates(poll) == counted_from_ballots(poll)
    assert organising.recount_poll(poll, check=True).matches


@pytest.mark.parametrize(
    ("kind", "options", "bad", "why"),
    [
        (K.MULTIPLE, {"max_picks": 2}, [0, 1, 2], "ballot against the rules"),  # too many
        (K.MULTIPLE, {"min_picks": 2}, [0], "ballot against the rules"),  # too few
        (K.MULTIPLE, {}, [0, 0], "ballot against the rules"),  # the same choice twice
        (K.RANKED, {}, [0, 1, 0], "ballot against the rules"),  # a duplicate rank
        (K.RANKED, {"max_ranks": 2}, [0, 1, 2], "ballot against the rules"),
        (K.RANKED, {}, [0, 99], "unknown choice"),
        (K.SCALE, {}, [6], "ballot against the rules"),  # 1-5 by default
        (K.SCALE, {}, [3, 4], "ballot against the rules"),
    ],
)
def test_the_worker_refuses_a_ballot_against_its_polls_rules(kind, options, bad, why) -> None:
    poll = kind_poll(kind, **options)
    choice = ids(poll)
    items = bad if kind == K.SCALE else [choice[i] if i < len(choice) else i for i in bad]
    outcome = store(ballot(poll, "cy", items))
    assert outcome.rejected == {why: 1}
    assert aggregates(poll)["total"] == 0


@pytest.mark.parametrize("kind", [K.MULTIPLE, K.RANKED, K.SCALE])
def test_a_ballot_cast_after_close_is_refused(kind) -> None:
    poll = kind_poll(kind)
    organising.close_poll(poll)
    items = [3] if kind == K.SCALE else ids(poll)[:1]
    outcome = store(ballot(poll, "late", items, at=timezone.now() + datetime.timedelta(seconds=1)))
    assert outcome.rejected == {"poll not open when cast": 1}


def test_a_no_change_poll_keeps_the_first_ballot_of_any_kind() -> None:
    poll = kind_poll(K.RANKED, allow_vote_change=False)
    a, b, *_ = ids(poll)
    store(ballot(poll, "dee", [a, b]))
    outcome = store(ballot(poll, "dee", [b, a]))
    assert outcome.rejected == {"vote change not allowed": 1}
    assert stored_ballot(poll, "dee") == (a, b)


def test_a_single_choice_vote_is_stored_with_its_ballot_and_choice() -> None:
    poll = kind_poll(K.SINGLE)
    red = ids(poll)[0]
    store(QueuedVote(uuid.uuid4(), poll.pk, red, "anon:sol", timezone.now()))
    vote = Vote.objects.get(poll=poll)
    assert (vote.choice_id, vote.ballot) == (red, [red])


# --- Results -----------------------------------------------------------------------------


def test_multiple_choice_results_count_voters_per_choice() -> None:
    poll = kind_poll(K.MULTIPLE)
    red, green, blue, _ = ids(poll)
    store(ballot(poll, "a", [red, green]), ballot(poll, "b", [red]), ballot(poll, "c", [blue]))
    snapshot = poll_results(poll=poll)
    assert snapshot["kind"] == "multiple"
    assert snapshot["total"] == 3  # voters, not picks
    assert {c["id"]: c["votes"] for c in snapshot["choices"]}[red] == 2


def test_ranked_results_have_first_preferences_rounds_winner_and_borda() -> None:
    poll = kind_poll(K.RANKED)
    red, green, blue, gold = ids(poll)
    store(
        *[ballot(poll, f"r{n}", [red, green]) for n in range(4)],
        *[ballot(poll, f"g{n}", [green, red]) for n in range(3)],
        *[ballot(poll, f"b{n}", [blue, green]) for n in range(2)],
    )
    snapshot = poll_results(poll=poll)
    assert [(c["id"], c["votes"]) for c in snapshot["choices"]] == [
        (red, 4), (green, 3), (blue, 2), (gold, 0)
    ]  # fmt: skip
    rounds = snapshot["rounds"]
    assert rounds[0]["eliminated"] == gold
    assert rounds[1]["eliminated"] == blue
    assert rounds[1]["transfers"] == [{"id": green, "votes": 2}]
    assert rounds[2]["counts"] == [
        {"id": red, "votes": 4, "percent": 44.4},
        {"id": green, "votes": 5, "percent": 55.6},
    ]
    assert snapshot["winner"] == green
    borda = {c["id"]: c["borda"] for c in snapshot["choices"]}
    assert borda == {red: 4 * 3 + 3 * 2, green: 4 * 2 + 3 * 3 + 2 * 2, blue: 2 * 3, gold: 0}


def test_scale_results_have_the_distribution_mean_median_and_nps() -> None:
    poll = kind_poll(K.SCALE, scale_min=0, scale_max=10)
    store(*[ballot(poll, f"v{n}", [value]) for n, value in enumerate([10, 10, 9, 7, 3])])
    snapshot = poll_results(poll=poll)
    assert snapshot["kind"] == "scale"
    assert len(snapshot["values"]) == 11
    assert {v["value"]: v["votes"] for v in snapshot["values"] if v["votes"]} == {
        10: 2, 9: 1, 7: 1, 3: 1
    }  # fmt: skip
    assert (snapshot["mean"], snapshot["median"], snapshot["nps"]) == (7.8, 9.0, 40)


def test_a_single_choice_snapshot_is_as_it_always_was() -> None:
    poll = kind_poll(K.SINGLE)
    assert set(poll_results(poll=poll)) == {
        "type", "poll", "question", "status", "total", "seq", "choices",
        "seal",  # the sealed chain's head (issue 38): added, nothing changed
    }  # fmt: skip


# --- The web side: shapes and rules, answered at once -------------------------------------


def api(poll: Poll, body: Any) -> Any:
    return Client().post(f"/api/polls/{poll.slug}/vote", body, content_type="application/json")


@pytest.mark.usefixtures("own_queue")
@override_settings(RATELIMIT_ENABLE=False)
@pytest.mark.parametrize(
    ("kind", "options", "body", "status", "message"),
    [
        (K.MULTIPLE, {}, {"choice": 1}, 400, 'send {"choices": [<choice id>, ...]}'),
        (K.MULTIPLE, {"max_picks": 2}, {"choices": [0, 1, 2]}, 400, "Pick from 1 to 2"),
        (K.MULTIPLE, {}, {"choices": "1,2"}, 400, "'choices' must be a list"),
        (K.MULTIPLE, {}, {"choices": [0, 2]}, 202, ""),
        (K.RANKED, {}, {"choices": [0]}, 400, 'send {"ranking": [<choice id>, ...], best first}'),
        (K.RANKED, {}, {"ranking": [1, 1]}, 400, "Rank each choice at most once"),
        (K.RANKED, {}, {"ranking": [3, 0, 1, 2]}, 202, ""),
        (K.SCALE, {}, {"value": 9}, 400, "Give one value from 1 to 5"),
        (K.SCALE, {}, {"value": "four"}, 400, "The value must be a whole number"),
        (K.SCALE, {}, {"value": 4}, 202, ""),
        (K.SCALE, {}, {"ranking": [4]}, 400, 'send {"value": <number>}'),
    ],
)
def test_api_ballots_of_the_wrong_shape_or_against_the_rules_get_400_saying_so(
    kind, options, body, status, message
) -> None:
    poll = kind_poll(kind, **options)
    choice = ids(poll)
    for field in ("choices", "ranking"):
        if isinstance(body.get(field), list) and choice:
            body = {**body, field: [choice[i] for i in body[field]]}
    response = api(poll, body)
    assert response.status_code == status, response.content
    if message:
        assert message in response.json()["error"]


@pytest.mark.usefixtures("own_queue")
@override_settings(RATELIMIT_ENABLE=False)
@pytest.mark.parametrize(
    ("ranks", "status", "message"),
    [
        ({"rank1": 2, "rank2": 0}, 303, ""),
        ({"rank1": 2, "rank3": 0}, 400, "Fill the ranks in order: rank 2 is empty"),
        ({"rank1": 2, "rank2": 2}, 400, "Rank each choice at most once"),
        ({}, 400, "Choose your 1st choice at least"),
    ],
)
def test_the_ranked_form_takes_one_select_per_rank(ranks, status, message) -> None:
    poll = kind_poll(K.RANKED)
    choice = ids(poll)
    client = Client()
    data = {name: choice[i] for name, i in ranks.items()}
    response = client.post(f"/polls/{poll.slug}/vote/", data)
    assert response.status_code == status
    if message:
        assert message in response.content.decode()


@pytest.mark.usefixtures("own_queue")
@override_settings(RATELIMIT_ENABLE=False)
def test_the_multiple_choice_form_takes_checkboxes_and_checks_min_and_max() -> None:
    poll = kind_poll(K.MULTIPLE, min_picks=2, max_picks=3)
    red, _, blue, _ = ids(poll)
    client = Client()
    assert client.post(f"/polls/{poll.slug}/vote/", {"choices": [red, blue]}).status_code == 303
    refused = client.post(f"/polls/{poll.slug}/vote/", {"choices": [red]})
    assert refused.status_code == 400
    assert "Pick from 2 to 3 of the choices." in refused.content.decode()


def test_a_polls_kind_cannot_change_once_it_has_ballots() -> None:
    poll = kind_poll(K.MULTIPLE)
    assert organising.kind_change_problem(poll) == ""
    store(ballot(poll, "e", ids(poll)[:1]))
    poll.kind = K.RANKED
    assert "has ballots" in organising.kind_change_problem(poll)


# --- Properties: random streams of ballots and changes ------------------------------------


EXAMPLES = hsettings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def random_ballot(kind: str, choice: list[int], rng: random.Random) -> list[int]:
    if kind == K.SCALE:
        return [rng.randint(1, 5)]
    if kind == K.MULTIPLE:
        return rng.sample(choice, rng.randint(1, len(choice)))
    if kind == K.RANKED:
        return rng.sample(choice, rng.randint(1, len(choice)))
    return [rng.choice(choice)]


@EXAMPLES
@given(
    kind=st.sampled_from([K.SINGLE, K.MULTIPLE, K.RANKED, K.SCALE]),
    seed=st.integers(0, 2**32),
    batches=st.integers(1, 5),
)
def test_stored_aggregates_equal_those_recomputed_from_the_ballots(kind, seed, batches) -> None:
    rng = random.Random(seed)
    poll = kind_poll(kind)
    choice = ids(poll)
    start = timezone.now() - datetime.timedelta(hours=1)
    stream = [
        ballot(poll, f"v{rng.randint(1, 6)}", random_ballot(kind, choice, rng),
               at=start + datetime.timedelta(seconds=rng.randint(0, 3000)))
        for _ in range(rng.randint(1, 25))
    ]  # fmt: skip
    rng.shuffle(stream)
    cut = sorted(rng.sample(range(1, len(stream) + 1), min(batches, len(stream))))
    for begin, end in zip([0, *cut], cut, strict=False):
        store(*stream[begin:end])
    store(*stream[cut[-1] :])
    assert aggregates(poll) == counted_from_ballots(poll)
    last: dict[str, QueuedVote] = {}
    for vote in stream:
        if vote.voter_key not in last or vote.order > last[vote.voter_key].order:
            last[vote.voter_key] = vote
    for key, vote in last.items():
        want = tuple(sorted(vote.ballot)) if kind == K.MULTIPLE else vote.ballot
        assert stored_ballot(poll, key.removeprefix("anon:")) == want


@EXAMPLES
@given(seed=st.integers(0, 2**32))
def test_the_runoff_from_distinct_rankings_is_the_librarys_from_every_ballot(seed) -> None:
    rng = random.Random(seed)
    poll = kind_poll(K.RANKED)
    choice = ids(poll)
    ballots = [rng.sample(choice, len(choice)) for _ in range(rng.randint(1, 30))]  # complete
    store(*[ballot(poll, f"w{n}", b) for n, b in enumerate(ballots)])
    snapshot = poll_results(poll=poll)
    if any(_tied_for_last(r) for r in snapshot["rounds"] if r["eliminated"] is not None):
        return  # pref-voting drops tied-last choices together: the rules differ there
    index = {cid: n for n, cid in enumerate(choice)}
    profile = Profile([tuple(index[c] for c in b) for b in ballots])  # one entry per ballot
    assert library_runoff(profile) == [index[snapshot["winner"]]]


def _tied_for_last(counted: dict[str, Any]) -> bool:
    votes = [c["votes"] for c in counted["counts"]]
    return votes.count(min(votes)) > 1


# --- The admin ---------------------------------------------------------------------------


def admin_form(poll: Poll | None, labels: list[str], **fields: Any) -> dict[str, Any]:
    """The poll add/change form as the admin posts it, choices inline."""
    data: dict[str, Any] = {
        "question": poll.question if poll else "Which colours?",
        "slug": poll.slug if poll else "which-colours",
        "status": Poll.Status.OPEN,
        "results_visibility": "always",
        "ballot_secrecy": "secret",
        "allow_vote_change": "on",
        "opens_at_0": "", "opens_at_1": "", "closes_at_0": "", "closes_at_1": "",
        "choices-TOTAL_FORMS": str(len(labels)),
        "choices-INITIAL_FORMS": "0",
        "choices-MIN_NUM_FORMS": "0",
        "choices-MAX_NUM_FORMS": "1000",
        "resets-TOTAL_FORMS": "0", "resets-INITIAL_FORMS": "0",
        "resets-MIN_NUM_FORMS": "0", "resets-MAX_NUM_FORMS": "1000",
        **{k: "" if v is None else v for k, v in fields.items()},
    }  # fmt: skip
    if poll is not None:
        existing = list(poll.choices.all())
        data["choices-INITIAL_FORMS"] = str(len(existing))
        data["choices-TOTAL_FORMS"] = str(len(existing))
        for n, choice in enumerate(existing):
            data |= {f"choices-{n}-id": choice.pk, f"choices-{n}-poll": poll.pk,
                     f"choices-{n}-label": choice.label, f"choices-{n}-position": n}  # fmt: skip
    else:
        for n, label in enumerate(labels):
            data |= {f"choices-{n}-label": label, f"choices-{n}-position": n}
    return data


def test_the_admin_creates_a_poll_of_each_kind_with_its_options(admin_client) -> None:
    form = admin_form(None, ["Red", "Green", "Blue"], kind="multiple", min_picks=1, max_picks=2)
    response = admin_client.post("/admin/polls/poll/add/", form)
    assert response.status_code == 302, response.content.decode()[-3000:]
    poll = Poll.objects.get(slug="which-colours")
    assert (poll.kind, poll.min_picks, poll.max_picks) == ("multiple", 1, 2)


@pytest.mark.parametrize(
    ("labels", "fields", "message"),
    [
        (["Red", "Green"], {"kind": "multiple", "max_picks": 3}, "is more than the 2 choices"),
        (["Red", "Green"], {"kind": "ranked", "max_ranks": 5}, "is more than the 2 choices"),
        (["Red"], {"kind": "scale", "scale_min": 1, "scale_max": 5}, "values, not choices"),
        ([], {"kind": "scale", "scale_min": 5, "scale_max": 1}, "must be above the lowest"),
    ],
)
def test_the_admin_refuses_options_that_do_not_fit_with_a_clear_message(
    admin_client, labels, fields, message
) -> None:
    response = admin_client.post("/admin/polls/poll/add/", admin_form(None, labels, **fields))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Poll.objects.filter(slug="which-colours").exists()


def test_the_admin_refuses_to_change_the_kind_of_a_poll_with_ballots(admin_client) -> None:
    poll = kind_poll(K.MULTIPLE)
    url = f"/admin/polls/poll/{poll.pk}/change/"
    assert admin_client.post(url, admin_form(poll, [], kind="ranked")).status_code == 302
    poll.refresh_from_db()
    assert poll.kind == "ranked"  # no ballots yet: it may change
    store(ballot(poll, "f", ids(poll)[:2]))
    response = admin_client.post(url, admin_form(poll, [], kind="multiple"))
    assert response.status_code == 200
    assert "This poll has ballots, which would not fit another kind" in response.content.decode()
    poll.refresh_from_db()
    assert poll.kind == "ranked"


# --- Commands ----------------------------------------------------------------------------


def test_create_poll_makes_each_kind_from_its_options() -> None:
    run("create_poll", "picks", "Which?", "--choice", "A", "--choice", "B", "--choice", "C",
        "--kind", "multiple", "--min-picks", "1", "--max-picks", "2", "--open")  # fmt: skip
    run("create_poll", "ranks", "Rank?", "--choice", "A", "--choice", "B", "--kind", "ranked")
    out = run("create_poll", "stars", "How was it?", "--kind", "scale", "--scale", "0", "10",
              "--scale-labels", "Awful", "Superb")  # fmt: skip
    assert "rating scale" in out
    assert "0 to 10" in out
    picks, ranks, stars = (Poll.objects.get(slug=s) for s in ("picks", "ranks", "stars"))
    assert (picks.kind, picks.min_picks, picks.max_picks, picks.status) == (
        "multiple",
        1,
        2,
        "open",
    )
    assert ranks.kind == "ranked"
    assert (stars.kind, stars.scale_range, stars.scale_min_label) == ("scale", (0, 10), "Awful")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--kind", "multiple", "--max-picks", "5"], "max_picks: 5 is more than the 2 choices"),
        (["--kind", "ranked", "--max-ranks", "3"], "max_ranks: 3 is more than the 2 choices"),
        (["--kind", "scale", "--scale", "1", "5"], "A rating scale has values, not choices"),
    ],
)
def test_create_poll_refuses_options_that_do_not_fit(args, message) -> None:
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match=message):
        run("create_poll", "bad", "Bad?", "--choice", "A", "--choice", "B", *args)


def test_export_writes_ranked_ballots_in_rank_columns_that_pref_voting_reads_back(
    tmp_path,
) -> None:
    from pref_voting.io.readers import csv_to_profile

    poll = kind_poll(K.RANKED)
    red, green, blue, _ = ids(poll)
    store(ballot(poll, "a", [red, green]), ballot(poll, "b", [blue, red, green]))
    target = tmp_path / "ballots.csv"
    run("export_results", poll.slug, "--ballots", "--output", str(target))
    lines = target.read_text().splitlines()
    assert lines[0] == "ballot,rank1,rank2,rank3,rank4"
    assert sorted(lines[1:]) == ["1,Red,Green,skipped,skipped", "2,Blue,Red,Green,skipped"]
    profile = csv_to_profile(str(target), csv_format="rank_columns")
    read_back = sorted(tuple(profile.cmap[c] for c in r.to_linear()) for r in profile.rankings)
    assert read_back == [("Blue", "Red", "Green"), ("Red", "Green")]


def test_export_json_carries_each_kinds_results_and_with_ballots_the_ballots(tmp_path) -> None:
    import json

    poll = kind_poll(K.SCALE, scale_min=0, scale_max=10)
    store(ballot(poll, "a", [10]), ballot(poll, "b", [3]))
    target = tmp_path / "out.json"
    run("export_results", poll.slug, "--format", "json", "--ballots", "--output", str(target))
    document = json.loads(target.read_text())
    assert (document["kind"], document["total"], document["mean"], document["nps"]) == (
        "scale", 2, 6.5, 0
    )  # fmt: skip
    assert sorted(b["value"] for b in document["ballots"]) == [3, 10]


def test_recount_check_covers_rankings_and_values() -> None:
    ranked, scale = kind_poll(K.RANKED), kind_poll(K.SCALE)
    store(ballot(ranked, "a", ids(ranked)[:2]), ballot(scale, "b", [4]))
    assert organising.recount_poll(ranked, check=True).matches
    RankingCount.objects.filter(poll=ranked).update(votes=7)
    ValueCount.objects.filter(poll=scale).update(votes=0)
    drift = organising.recount_poll(ranked, check=True)
    assert [(d.label, d.stored, d.counted) for d in drift.differences] == [
        ("ranking Red > Green", 7, 1)
    ]
    assert [(d.label, d.stored, d.counted) for d in organising.recount_poll(scale).differences] == [
        ("value 4", 0, 1)
    ]
    assert organising.recount_poll(scale, check=True).matches


# --- End to end: gunicorn, Redis, a real worker, daphne ----------------------------------
