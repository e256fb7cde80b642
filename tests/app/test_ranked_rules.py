"""A ranked poll's count rules (docs/organisers.md, Ranked-choice rules) as organisers set
them: in its options, by create_poll's flags, in the admin and organising.change_rules; the
lot's seed made with the poll and never changed; the rounds the rules give in the results
snapshot and the API (every choice going, its transfers, the tie and the lot's tickets);
a change of rules recorded and counted again from the stored aggregates."""

from __future__ import annotations

import json
import logging
import re
import uuid

import pytest
from django.core.management.base import CommandError
from django.test import Client

from polls import organising, snapshots
from polls.counting.ranked import lot_hash
from polls.live import publisher
from polls.models import Poll, PollCounter
from polls.pipeline.message import QueuedVote
from polls.pipeline.store import record_votes
from polls.selectors import poll_results
from tests.support.admin import poll_form
from tests.support.commands import run
from tests.support.kinds import K, ids, kind_poll

pytestmark = pytest.mark.django_db


def cast(poll: Poll, *rankings: tuple[int, list[int]]) -> None:
    """(how many, ranking) ballots, stored as the worker stores them."""
    assert poll.opens_at is not None
    votes = [
        QueuedVote(uuid.uuid4(), poll.pk, None, f"anon:{uuid.uuid4().hex}", poll.opens_at, tuple(r))
        for many, r in rankings
        for _ in range(many)
    ]
    outcome = record_votes(votes)
    assert outcome.created == len(votes), outcome.rejected


def batch_case(**options) -> tuple[Poll, list[int]]:
    """Red 9, Green 8, Blue 3 (then Green), Gold 1 (then Red): Blue and Gold together (4)
    stay behind Green (8), so batch elimination drops both after round 1; one at a time,
    Gold goes, then Blue, and Green wins 11 to 10 in round 3."""
    poll = kind_poll(K.RANKED, **options)
    red, green, blue, gold = ids(poll)
    cast(poll, (9, [red]), (8, [green]), (3, [blue, green]), (1, [gold, red]))
    return poll, [red, green, blue, gold]


def test_a_ranked_poll_gets_a_seed_of_its_own_from_secrets_and_the_defaults_of_before() -> None:
    one, two = kind_poll(K.RANKED), kind_poll(K.RANKED)
    assert re.fullmatch(r"[0-9a-f]{32}", one.options["seed"])
    assert one.options["seed"] != two.options["seed"]
    rules = poll_results(poll=one)["rules"]
    assert rules == {
        "tie": "previous_then_position",
        "batch": False,
        "until_two": False,
        "seed": one.options["seed"],
    }


def test_create_poll_sets_the_rules_and_a_given_seed_and_a_copy_draws_its_own() -> None:
    run(
        "create_poll", "city", "Mayor?", "--kind", "ranked", "--choice", "A", "--choice", "B",
        "--tie", "previous_then_lot", "--batch", "--until-two", "--seed", "seed-1",
    )  # fmt: skip
    poll = Poll.objects.get(slug="city")
    assert poll.options == {
        "tie": "previous_then_lot", "batch": True, "until_two": True, "seed": "seed-1"
    }  # fmt: skip
    copy = organising.copy_poll(poll)
    assert copy.options["tie"] == "previous_then_lot"
    assert copy.options["seed"] not in ("", "seed-1")


def test_create_poll_refuses_a_rule_that_is_not_one() -> None:
    with pytest.raises(organising.PollSetupError, match="tie: 'coin' is not a tie rule"):
        kind_poll(K.RANKED, tie="coin")
    with pytest.raises(organising.PollSetupError, match="batch: On or off"):
        kind_poll(K.RANKED, batch="yes")


def test_batch_elimination_drops_every_hopeless_choice_in_one_round_and_lists_each() -> None:
    poll, (red, green, blue, gold) = batch_case(batch=True)
    rounds = poll_results(poll=poll)["rounds"]
    assert len(rounds) == 2
    first = rounds[0]
    assert first["eliminated"] is None  # several went: the field of before says no one
    assert first["eliminations"] == [
        {"id": blue, "transfers": [{"id": green, "votes": 3}], "exhausted": 0},
        {"id": gold, "transfers": [{"id": red, "votes": 1}], "exhausted": 0},
    ]
    assert first["transfers"] == [{"id": red, "votes": 1}, {"id": green, "votes": 3}]
    assert [c["votes"] for c in rounds[1]["counts"]] == [10, 11]


def test_one_at_a_time_each_round_lists_its_one_elimination_too() -> None:
    poll, (_red, _green, blue, gold) = batch_case()
    rounds = poll_results(poll=poll)["rounds"]
    assert [r["eliminated"] for r in rounds] == [gold, blue, None]
    assert [[e["id"] for e in r["eliminations"]] for r in rounds] == [[gold], [blue], []]
    assert rounds[0]["tie"] is None
    assert rounds[0]["inactive"] == {}


def test_a_tie_broken_by_the_lot_publishes_the_tickets_anyone_can_recompute() -> None:
    poll = kind_poll(K.RANKED, tie="previous_then_lot", seed="seed-1")
    red, green, blue, gold = ids(poll)
    cast(poll, (3, [red]), (3, [green]), (1, [blue]), (1, [gold]))
    snapshot = Client().get(f"/api/polls/{poll.slug}/results").json()
    tie = snapshot["rounds"][0]["tie"]
    tickets = sorted((lot_hash("seed-1", 1, c), c) for c in (blue, gold))
    assert tie == {
        "tied": [blue, gold],
        "rule": "previous_then_lot",
        "broken_by": "lot",
        "still_tied": [blue, gold],
        "lot": [{"id": c, "ticket": t} for t, c in tickets],
    }
    assert snapshot["rounds"][0]["eliminated"] == tickets[0][1]  # the lowest ticket goes
    assert snapshot["rules"]["seed"] == "seed-1"


def test_all_tied_with_every_choice_tied_ends_without_a_winner_and_says_who() -> None:
    poll = kind_poll(K.RANKED, tie="eliminate_all_tied")
    red, green, blue, gold = ids(poll)
    cast(poll, (2, [red]), (2, [green]), (2, [blue]), (2, [gold]))
    snapshot = poll_results(poll=poll)
    assert snapshot["winner"] is None
    assert snapshot["tied"] == [red, green, blue, gold]
    assert snapshot["rounds"][-1]["tie"]["broken_by"] == "none_go"


def test_changing_the_rules_with_votes_counts_again_and_is_on_record(
    caplog, django_capture_on_commit_callbacks
) -> None:
    poll, _ = batch_case()
    seed = poll.options["seed"]
    publisher._publisher.drain(timeout=5)
    snapshots.forget(poll.pk)  # an earlier test's poll of the same id left its snapshot
    assert len(snapshots.results(poll=poll)["rounds"]) == 3  # read once: kept for every reader
    seq = PollCounter.objects.get(poll=poll).seq
    with (
        caplog.at_level(logging.WARNING, logger="polls.organising"),
        django_capture_on_commit_callbacks(execute=True),  # as once it commits
    ):
        organising.change_rules(poll, {"batch": True}, by="alice")
    publisher._publisher.drain(timeout=5)
    assert "count rules changed by alice with 21 ballots counted" in caplog.text
    assert PollCounter.objects.get(poll=poll).seq == seq + 1
    # Every reader has the new rules' rounds: the snapshot kept before is gone.
    assert len(snapshots.results(poll=Poll.objects.get(pk=poll.pk))["rounds"]) == 2
    assert Poll.objects.get(pk=poll.pk).options["seed"] == seed


def test_change_rules_never_changes_the_seed_nor_takes_what_is_not_a_rule() -> None:
    poll = kind_poll(K.RANKED)
    with pytest.raises(organising.PollSetupError, match=r"Not a rule .*: seed"):
        organising.change_rules(poll, {"seed": "mine"})
    with pytest.raises(organising.PollSetupError, match=r"Not a rule .*: max_ranks"):
        organising.change_rules(poll, {"max_ranks": 2})
    with pytest.raises(organising.PollSetupError, match="tie:"):
        organising.change_rules(poll, {"tie": "coin"})
    single = kind_poll(K.SINGLE)
    with pytest.raises(organising.PollSetupError, match="Not a rule of a single choice poll"):
        organising.change_rules(single, {"batch": True})


def test_the_admin_sets_the_rules_keeps_the_seed_and_records_the_change(
    admin_client, caplog
) -> None:
    poll, _ = batch_case()
    seed = poll.options["seed"]
    choices = [{"id": c.pk, "label": c.label, "position": c.position} for c in poll.choices.all()]
    data = poll_form(poll, choices) | {"kind": "ranked", "tie": "previous_then_lot"}
    data |= {"batch": "on", "seed": "forged"}
    with caplog.at_level(logging.WARNING, logger="polls.organising"):
        answer = admin_client.post(f"/admin/polls/poll/{poll.pk}/change/", data)
    assert answer.status_code == 302, answer.content[:2000]
    stored = Poll.objects.get(pk=poll.pk).options
    assert stored == {"tie": "previous_then_lot", "batch": True, "seed": seed}
    assert "count rules changed by admin" in caplog.text
    assert len(poll_results(poll=Poll.objects.get(pk=poll.pk))["rounds"]) == 2


def test_the_results_page_names_every_choice_a_batch_drops() -> None:
    poll, _ = batch_case(batch=True)
    page = Client().get(f"/polls/{poll.slug}/results/").content.decode()
    assert "Blue, Gold eliminated" in page


def test_create_poll_from_json_takes_the_rules_flags_as_true_or_false(tmp_path) -> None:
    spec = {"slug": "js", "question": "?", "kind": "ranked", "choices": ["A", "B"]}
    path = tmp_path / "poll.json"
    path.write_text(
        json.dumps(spec | {"batch": True, "until_two": False, "tie": "eliminate_all_tied"})
    )
    run("create_poll", "--from-json", str(path))
    options = Poll.objects.get(slug="js").options
    assert (options["batch"], options["tie"], "until_two" in options) == (
        True, "eliminate_all_tied", False
    )  # fmt: skip
    path.write_text(json.dumps(spec | {"slug": "js2", "batch": "yes"}))
    with pytest.raises(CommandError, match="batch must be true or false"):
        run("create_poll", "--from-json", str(path))
    path.write_text(json.dumps(spec | {"slug": "js3", "tie": "coin"}))
    with pytest.raises(CommandError, match="tie must be one of previous_then_position"):
        run("create_poll", "--from-json", str(path))
