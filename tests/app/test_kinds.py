"""The kinds of question behind one registry: each kind's options, its ballot as the vote
message carries it (canonical JSON), messages queued by the release before, and the
migration that moved the kinds' columns into Poll.options."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from polls import gates, kinds
from polls.kinds import KINDS, kind_for, openapi
from polls.models import Poll, Tally, ValueCount, Vote
from polls.organising import recount_poll
from polls.pipeline import admission, ballots, ledger
from polls.pipeline.message import QueuedVote, canonical_json
from polls.tasks import record_votes
from tests.support.kinds import K, ids, kind_poll

# --- The registry --------------------------------------------------------------------


def test_every_kind_of_the_model_has_one_module_in_the_registry() -> None:
    assert list(KINDS) == Poll.Kind.values
    for name, kind in KINDS.items():
        assert kind.name == name
        assert kind.ballot_template == f"polls/kinds/{name}/ballot.html"
        assert kind.results_template == f"polls/kinds/{name}/results.html"
        assert kind_for(name) is kind
    assert kinds.DEFAULT_KIND == Poll.Kind.SINGLE


@pytest.mark.django_db
def test_a_poll_finds_its_kind() -> None:
    poll = kind_poll(K.RANKED)
    assert kind_for(poll) is KINDS["ranked"]


def test_each_option_belongs_to_one_kind_but_the_quiz_and_moderation_settings_are_shared() -> None:
    names = kinds.option_names()
    assert len(names) == len(set(names))
    assert set(names) == {
        "min_picks", "max_picks", "max_ranks", "tie", "batch", "until_two", "seed",
        "scale_min", "scale_max", "scale_min_label", "scale_max_label",
        "quiz_correct", "quiz_seconds", "quiz_points",
        "max_entries", "entry_length", "answer_length",
        "moderation", "filter_action", "filter_languages",
    }  # fmt: skip
    owners = {
        name: sorted(k.name for k in KINDS.values() if name in {o.name for o in k.options})
        for name in names
    }
    assert {name for name, kinds_ in owners.items() if len(kinds_) > 1} == {
        "quiz_correct", "quiz_seconds", "quiz_points",
        "moderation", "filter_action", "filter_languages",
    }  # fmt: skip
    assert owners["quiz_correct"] == ["multiple", "single"]
    assert owners["moderation"] == ["openanswer", "wordcloud"]


class Throwaway(kinds.Kind):
    """A fifth kind, never shipped: its module alone gives its part of the API."""

    name = "yes-no"
    api_field = "yes"
    api_shape = '{"yes": true}'
    api_schema = {"type": "boolean"}
    api_words = "{yes}"
    results_schema = {"yes_share": {"type": "number"}}


def test_a_new_kinds_part_of_the_api_document_comes_from_its_module() -> None:
    document = openapi.document([*KINDS.values(), Throwaway()])
    schemas = document["components"]["schemas"]
    assert schemas["Ballot"]["oneOf"][-1] == {
        "type": "object", "title": "yes-no", "additionalProperties": False,
        "required": ["yes"], "properties": {"yes": {"type": "boolean"}},
    }  # fmt: skip
    assert schemas["Poll"]["properties"]["kind"]["enum"][-1] == "yes-no"
    assert schemas["Results"]["properties"]["yes_share"] == {"type": "number"}
    assert "yes-no {yes}" in schemas["Ballot"]["description"]
    assert json.loads(kinds.openapi_text()) == openapi.document(list(KINDS.values()))


# --- Options, checked by their kind ---------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "options", "problems"),
    [
        ("multiple", {}, {}),
        ("multiple", {"min_picks": 2, "max_picks": 3}, {}),
        ("multiple", {"min_picks": 0}, {"min_picks": "A voter picks at least one choice."}),
        (
            "multiple",
            {"min_picks": 3, "max_picks": 2},
            {"max_picks": "The most picks cannot be fewer than the fewest."},
        ),
        ("ranked", {"max_ranks": 0}, {"max_ranks": "A voter ranks at least one choice."}),
        ("scale", {"scale_min": 0, "scale_max": 10}, {}),
        ("scale", {"scale_min": 5, "scale_max": 5},
         {"scale_max": "The highest value must be above the lowest."}),
        ("scale", {"scale_min": 0, "scale_max": 30},
         {"scale_max": "A scale has at most 21 values."}),
        ("single", {}, {}),
    ],
)  # fmt: skip
def test_a_kind_checks_its_own_options(kind, options, problems) -> None:
    assert KINDS[kind].option_problems(options) == problems


@pytest.mark.django_db
def test_options_live_in_one_json_field_and_read_by_name() -> None:
    poll = kind_poll(K.SCALE, scale_min=0, scale_max=10, scale_min_label="Never")
    stored = Poll.objects.values_list("options", flat=True).get(pk=poll.pk)
    assert stored == {"scale_min": 0, "scale_max": 10, "scale_min_label": "Never"}
    assert (poll.scale_range, poll.scale_max_label) == ((0, 10), "")
    plain = kind_poll(K.MULTIPLE)
    assert Poll.objects.values_list("options", flat=True).get(pk=plain.pk) == {}
    assert kinds.rules(plain) == {"min_picks": 1, "max_picks": 4}


# --- The ballot in the vote message: canonical JSON ------------------------------------------


def test_a_ballot_travels_as_canonical_json() -> None:
    assert canonical_json([3, 1, 2]) == "[3,1,2]"
    assert canonical_json([{"b": 1, "a": "é"}]) == '[{"a":"é","b":1}]'
    # "@" and "|" cannot reach the admission's placeholders or a pending ballot's record.
    text = canonical_json(["@t@", "a|b"])
    assert "@" not in text
    assert "|" not in text
    assert json.loads(text) == ["@t@", "a|b"]


def test_a_ballot_of_any_json_values_survives_the_message() -> None:
    vote = QueuedVote(
        uuid.uuid4(), 1, None, "anon:a", timezone.now(), ("red", {"item": 2, "state": "up"})
    )
    message = vote.to_message()
    assert message["ballot_json"] == '["red",{"item":2,"state":"up"}]'
    assert "ballot" not in message  # the release before's integer list cannot say it
    assert QueuedVote.from_message(message) == vote


@pytest.mark.parametrize("text", ["", "[", "{}", "[]", "5", json.dumps(list(range(65)))])
def test_a_message_whose_ballot_json_is_no_ballot_is_refused(text) -> None:
    message = QueuedVote(uuid.uuid4(), 1, None, "anon:a", timezone.now(), (1,)).to_message()
    message["ballot_json"] = text
    with pytest.raises(ValueError, match=r"\w"):
        QueuedVote.from_message(message)


@pytest.mark.django_db
def test_the_worker_refuses_a_json_ballot_its_kind_cannot_read() -> None:
    poll = kind_poll(K.RANKED)
    vote = QueuedVote(uuid.uuid4(), poll.pk, None, "anon:t", timezone.now(), ("Red", "Blue"))
    record_votes([SimpleNamespace(id="m", args=([vote.to_message()],))])
    assert not Vote.objects.filter(poll=poll).exists()


@pytest.fixture
def open_poll_in_redis(redis_client):
    """Poll 1 is open in Redis's copy (as version 7), for the admission script."""
    held = redis_client.get(gates.key(1))
    redis_client.set(gates.key(1), gates.Gate(7, gates.OPEN).encode())
    yield
    redis_client.delete(gates.key(1))
    if held is not None:
        redis_client.set(gates.key(1), held)


@pytest.mark.usefixtures("open_poll_in_redis")
def test_a_json_ballot_goes_through_the_admission_script_as_it_was_sent(
    redis_client, own_queue
) -> None:
    """The script stamps "@t@" and "@v1@" placeholders into the message: a ballot that
    says them (escaped by canonical_json) arrives as the voter sent it; the pending
    ballot's record (fields split by "|") keeps it whole."""
    said = ("@t@", '"@v1@"', "a|b", {"w": "ü"})
    vote = QueuedVote(uuid.uuid4(), 1, None, "anon:json", timezone.now(), said)
    assert admission.admit_and_queue([admission.Entry(vote, [])]) == [0]
    [raw] = redis_client.lrange(own_queue, 0, -1)
    envelope = json.loads(raw)
    [[message]] = json.loads(envelope["body"])[0]
    arrived = QueuedVote.from_message(message)
    assert arrived.ballot == said
    assert arrived.poll_version == 7
    held = ballots.read(1, "anon:json")
    assert held is not None
    assert (held.state, held.ballot) == ("p", said)
    redis_client.delete(ballots.key(1, "anon:json"), ledger.PENDING_KEY)


# --- Messages queued by the release before are stored as they were --------------------------


def _old_message(poll: Poll, voter: str, **ballot: object) -> dict[str, object]:
    """A version-1 message (no `v`, no admission stamp), as the web pods of the release
    before the canonical JSON ballot queued it."""
    cast_at = timezone.now() - timedelta(seconds=5)
    return {"vote_id": str(uuid.uuid4()), "poll_id": poll.pk, **ballot,
            "voter_key": f"anon:{voter}", "cast_at": cast_at.isoformat()}  # fmt: skip


@pytest.mark.django_db
def test_messages_queued_before_the_ballot_was_json_are_stored_as_they_always_were() -> None:
    single, ranked, scale = kind_poll(K.SINGLE), kind_poll(K.RANKED), kind_poll(K.SCALE)
    picked, ranking = ids(single)[1], ids(ranked)[::-1][:3]
    old = [
        _old_message(single, "a", choice_id=picked),
        _old_message(ranked, "b", ballot=ranking),
        _old_message(scale, "c", ballot=[4]),
    ]
    stamped = {**_old_message(ranked, "d", ballot=ranking[:1]), "v": 2}  # version 2's shape
    record_votes([SimpleNamespace(id="old", args=([*old, stamped],))])
    assert list(Vote.objects.filter(poll=single).values_list("ballot", "choice_id")) == [
        ([picked], picked)
    ]
    assert sorted(Vote.objects.filter(poll=ranked).values_list("ballot", flat=True)) == sorted(
        [ranking, ranking[:1]]
    )
    assert Tally.objects.get(choice_id=ranking[0]).votes == 2
    assert ValueCount.objects.get(poll=scale, value=4).votes == 1
    for poll in (single, ranked, scale):
        assert recount_poll(poll, check=True).matches


@pytest.mark.django_db
def test_a_new_message_carries_canonical_json_and_is_stored_the_same() -> None:
    poll = kind_poll(K.MULTIPLE)
    picks = sorted(ids(poll)[:2])
    vote = QueuedVote(uuid.uuid4(), poll.pk, None, "anon:n", timezone.now(), tuple(picks))
    message = vote.to_message()
    assert message["ballot_json"] == json.dumps(picks, separators=(",", ":"))
    assert message["ballot"] == picks  # what a worker of the release before reads
    record_votes([SimpleNamespace(id="new", args=([message],))])
    assert list(Vote.objects.filter(poll=poll).values_list("ballot", flat=True)) == [picks]
    assert recount_poll(poll, check=True).matches


# --- The migration moved the kinds' columns into Poll.options -------------------------------

BEFORE, AFTER = ("polls", "0006_session_code_digits"), ("polls", "0007_poll_options")


@pytest.mark.django_db(transaction=True)
def test_the_migration_moves_each_kinds_columns_into_options_and_back() -> None:
    """Forwards the options are copied into Poll.options (the columns stay, for the web
    pods of the release before); backwards the columns are written from the options."""
    executor = MigrationExecutor(connection)
    executor.migrate([BEFORE])
    old = executor.loader.project_state([BEFORE]).apps.get_model("polls", "Poll")
    made = {
        "s": old.objects.create(slug="m-single", question="?"),
        "m": old.objects.create(slug="m-multi", question="?", kind="multiple", max_picks=2),
        "r": old.objects.create(slug="m-ranked", question="?", kind="ranked", max_ranks=3),
        "c": old.objects.create(
            slug="m-scale",
            question="?",
            kind="scale",
            scale_min=0,
            scale_max=10,
            scale_max_label="Surely",
        ),
    }
    executor = MigrationExecutor(connection)
    executor.migrate([AFTER])
    new = executor.loader.project_state([AFTER]).apps.get_model("polls", "Poll")
    options = dict(new.objects.filter(slug__startswith="m-").values_list("slug", "options"))
    assert options == {
        "m-single": {},
        "m-multi": {"max_picks": 2},
        "m-ranked": {"max_ranks": 3},
        "m-scale": {"scale_min": 0, "scale_max": 10, "scale_max_label": "Surely"},
    }
    # The columns stay one release, as they were, for the web pods of the release before.
    with connection.cursor() as cursor:
        cursor.execute("SELECT max_picks FROM polls_poll WHERE slug = 'm-multi'")
        assert cursor.fetchone() == (2,)
        # A poll those pods write (the columns, no options) is taken, as one ours write.
        cursor.execute(
            "INSERT INTO polls_poll (slug, question, kind, max_picks, status,"
            " results_visibility, allow_vote_change, login_required, created_at, updated_at)"
            " VALUES ('m-old-pod', '?', 'multiple', 2, 'draft', 'always', true, false,"
            " now(), now())"
        )
    assert new.objects.get(slug="m-old-pod").options == {}
    executor = MigrationExecutor(connection)
    executor.migrate([BEFORE])  # and back: the columns say it again
    back = executor.loader.project_state([BEFORE]).apps.get_model("polls", "Poll")
    scale = back.objects.get(pk=made["c"].pk)
    assert (scale.scale_min, scale.scale_max, scale.scale_max_label, scale.scale_min_label) == (
        0, 10, "Surely", "",
    )  # fmt: skip
    assert back.objects.get(pk=made["m"].pk).max_picks == 2
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
