"""The organisers' manage.py commands: what each does, its --help, and its errors
(CommandError in-process; a non-zero exit code and no traceback as a real process)."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.management import load_command_class
from django.core.management.base import CommandError
from django.utils import timezone

import polls
from polls.models import Poll, PollCounter, Tally
from tests.support import processes
from tests.support.commands import run
from tests.support.votes import stored_vote

# Every command the polls app ships, found on disk so that a new one is checked too.
COMMANDS = sorted(
    path.stem
    for path in (Path(polls.__file__).parent / "management" / "commands").glob("*.py")
    if not path.stem.startswith("_")
)
# Options every Django command has; Django documents them.
DJANGO_OPTIONS = {"help", "version", "verbosity", "settings", "pythonpath", "traceback",
                  "no_color", "force_color", "skip_checks"}  # fmt: skip


@pytest.mark.parametrize("name", COMMANDS)
def test_every_command_explains_itself(name) -> None:
    command = load_command_class("polls", name)
    parser = command.create_parser("manage.py", name)
    assert command.help
    own = [action for action in parser._actions if action.dest not in DJANGO_OPTIONS]
    unexplained = [action.option_strings or action.dest for action in own if not action.help]
    assert not unexplained, f"{name}: arguments without help: {unexplained}"


# --- seed_demo and create_poll ------------------------------------------------------------


@pytest.mark.django_db
def test_seed_demo_is_idempotent() -> None:
    assert "Created demo poll 'cats-vs-dogs'" in run("seed_demo")
    assert "Kept demo poll 'cats-vs-dogs'" in run("seed_demo")
    poll = Poll.objects.get(slug="cats-vs-dogs")
    assert poll.choices.count() == 2
    assert poll.results_visibility == Poll.ResultsVisibility.ALWAYS


@pytest.mark.django_db
def test_the_demo_session_has_a_moderated_word_cloud_and_a_qna_board(
    django_user_model: Any,
) -> None:
    """Issue 34's demo: a caught word waits for a moderator's approval, a clean one shows
    at once; issue 35's: the session takes questions."""
    import uuid

    from polls import kinds, live_sessions, qna_reads, text_entries
    from polls.models import LiveSession, TextEntry
    from polls.pipeline.message import QueuedVote
    from polls.pipeline.store import record_votes

    django_user_model.objects.create_superuser("admin", password="pw-admin-1234")
    run("seed_demo")
    printed = run("seed_demo")
    session = LiveSession.objects.get(title=live_sessions.DEMO_TITLE)
    # Where the moderator works is printed with the session's other links.
    assert f"moderator: http://127.0.0.1:8000/moderate/s/{session.code}/" in printed
    board = qna_reads.board_of(session)
    assert board is not None
    assert board.enabled
    cloud = live_sessions.ordered_polls(session)[-1]
    assert cloud.kind == Poll.Kind.WORDCLOUD
    assert text_entries.mode_of(cloud) == "after"
    checked = kinds.kind_for(cloud).normalise(cloud, [], ["Python", "Arschloch"])
    live_sessions.move(session, to=cloud)  # the presenter reaches the word cloud
    record_votes([QueuedVote(uuid.uuid4(), cloud.pk, None, "anon:new", timezone.now(), checked)])
    states = dict(TextEntry.objects.filter(poll=cloud).values_list("shown", "state"))
    assert states == {"Python": "shown", "Arschloch": "pending"}


@pytest.mark.django_db
def test_create_poll_from_arguments() -> None:
    output = run(
        "create_poll",
        "best-tea",
        "Best tea?",
        "--choice",
        "Green",
        "--choice",
        "Black",
        "--open",
        "--closes-at",
        (timezone.now() + timedelta(hours=1)).isoformat(),
        "--results",
        "after_close",
        "--no-vote-change",
    )
    assert "Created poll 'best-tea'" in output
    poll = Poll.objects.get(slug="best-tea")
    assert [c.label for c in poll.choices.all()] == ["Green", "Black"]
    assert poll.state == "open"
    assert poll.results_visibility == "after_close"
    assert not poll.allow_vote_change
    assert PollCounter.objects.filter(poll=poll).exists()
    assert Tally.objects.filter(poll=poll).count() == 2


@pytest.mark.django_db
def test_create_poll_from_json(tmp_path) -> None:
    spec = tmp_path / "poll.json"
    spec.write_text(
        json.dumps(
            {
                "slug": "lunch",
                "question": "Lunch?",
                "choices": ["Soup", "Salad", "Pizza"],
                "login_required": True,
            }
        )
    )
    run("create_poll", "--from-json", str(spec))
    poll = Poll.objects.get(slug="lunch")
    assert poll.status == Poll.Status.DRAFT
    assert poll.login_required
    assert poll.choices.count() == 3


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["x-poll", "X?", "--choice", "Only"], "at least two choices"),
        (["x-poll", "X?", "--choice", "A", "--choice", "A"], "different label"),
        (["not a slug", "X?", "--choice", "A", "--choice", "B"], "slug"),
        (["--choice", "A", "--choice", "B"], "SLUG and QUESTION"),
        (["x-poll", "X?", "--choice", "A", "--choice", "B", "--closes-at", "soon"], "closes_at"),
    ],
)
def test_create_poll_refuses_bad_input(args, message) -> None:
    with pytest.raises(CommandError, match=message):
        run("create_poll", *args)
    assert not Poll.objects.exists()


@pytest.mark.django_db
def test_create_poll_refuses_a_taken_slug(make_poll) -> None:
    make_poll(slug="taken")
    with pytest.raises(CommandError, match="slug"):
        run("create_poll", "taken", "Again?", "--choice", "A", "--choice", "B")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "JSON object"),
        ('{"slug": "a", "question": "A?", "choices": ["x", "y"], "colour": 1}', "unknown key"),
        ('{"slug": "a", "question": "A?", "choices": "x, y"}', "list of labels"),
    ],
)
def test_create_poll_refuses_a_bad_json_file(tmp_path, content, message) -> None:
    spec = tmp_path / "poll.json"
    spec.write_text(content)
    with pytest.raises(CommandError, match=message):
        run("create_poll", "--from-json", str(spec))


@pytest.mark.django_db
def test_create_poll_refuses_a_missing_json_file(tmp_path) -> None:
    with pytest.raises(CommandError, match="Cannot read"):
        run("create_poll", "--from-json", str(tmp_path / "missing.json"))


# --- open_poll and close_poll -------------------------------------------------------------


@pytest.mark.django_db
def test_open_poll_then_close_poll(make_poll) -> None:
    poll = make_poll(status=Poll.Status.DRAFT)
    assert "is open" in run("open_poll", poll.slug)
    assert Poll.objects.get(pk=poll.pk).state == "open"
    assert "closed at" in run("close_poll", poll.slug)
    assert Poll.objects.get(pk=poll.pk).state == "closed"


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["open_poll", "close_poll", "export_results", "recount"])
def test_unknown_slug_is_a_clear_error(name) -> None:
    with pytest.raises(CommandError, match="No poll with slug 'nope'"):
        run(name, "nope")


@pytest.mark.django_db
def test_close_poll_refuses_a_draft(make_poll) -> None:
    make_poll(slug="draft-one", status=Poll.Status.DRAFT)
    with pytest.raises(CommandError, match="draft"):
        run("close_poll", "draft-one")


# --- export_results -----------------------------------------------------------------------


@pytest.mark.django_db
def test_export_results_as_csv_and_json(make_poll, tmp_path) -> None:
    poll = make_poll(labels=("Cats", "Dogs"))
    stored_vote(poll, "Cats", "anon:a")
    stored_vote(poll, "Cats", "anon:b")
    stored_vote(poll, "Dogs", "anon:c")

    rows = list(csv.DictReader(io.StringIO(run("export_results", poll.slug))))
    assert [(r["choice"], r["votes"], r["percent"], r["total"]) for r in rows] == [
        ("Cats", "2", "66.7", "3"),
        ("Dogs", "1", "33.3", "3"),
    ]

    target = tmp_path / "out.json"
    run("export_results", poll.slug, "--format", "json", "--output", str(target))
    document = json.loads(target.read_text())
    assert document["total"] == 3
    assert document["choices"] == [
        {"choice": "Cats", "votes": 2, "percent": 66.7},
        {"choice": "Dogs", "votes": 1, "percent": 33.3},
    ]


@pytest.mark.django_db
def test_export_results_to_an_unwritable_place_is_a_clear_error(make_poll, tmp_path) -> None:
    poll = make_poll()
    with pytest.raises(CommandError, match="Cannot write"):
        run("export_results", poll.slug, "--output", str(tmp_path / "no" / "such" / "dir.csv"))


# --- recount ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_recount_check_passes_on_exact_tallies_and_fails_on_drift(make_poll) -> None:
    poll = make_poll(labels=("Cats", "Dogs"))
    stored_vote(poll, "Cats", "anon:a")
    assert f"{poll.slug}: ok (1 votes)" in run("recount", "--check")

    Tally.objects.filter(poll=poll, choice__label="Dogs").update(votes=4)
    with pytest.raises(CommandError, match="differ") as failure:
        run("recount", poll.slug, "--check")
    assert failure.value.returncode == 1
    assert Tally.objects.get(poll=poll, choice__label="Dogs").votes == 4  # unchanged

    assert "Dogs: stored 4, counted 0" in run("recount", poll.slug)
    assert "ok" in run("recount", poll.slug, "--check")


@pytest.mark.django_db(transaction=True)
def test_commands_as_processes_exit_non_zero_without_a_traceback(make_poll) -> None:
    poll = make_poll(labels=("Cats", "Dogs"))
    stored_vote(poll, "Cats", "anon:a")

    fine = processes.manage("recount", "--check")
    assert fine.returncode == 0, fine.stderr
    assert f"{poll.slug}: ok" in fine.stdout

    Tally.objects.filter(poll=poll, choice__label="Cats").update(votes=7)
    drift = processes.manage("recount", "--check")
    assert drift.returncode == 1
    assert "Cats: stored 7, counted 1" in drift.stdout
    assert "CommandError" in drift.stderr

    unknown = processes.manage("close_poll", "no-such-poll")
    assert unknown.returncode != 0
    assert "No poll with slug 'no-such-poll'" in unknown.stderr
    assert "Traceback" not in unknown.stderr

    helped = processes.manage("simulate_votes", "--help")
    assert helped.returncode == 0
    assert "--change-ratio" in helped.stdout


# --- simulate_votes -----------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--voters", "0"], "at least 1"),
        (["--voters", "5", "--change-ratio", "2"], "between 0 and 1"),
        (["--voters", "5", "--rate", "-1"], "negative"),
    ],
)
def test_simulate_votes_refuses_bad_options(make_poll, args, message) -> None:
    poll = make_poll()
    with pytest.raises(CommandError, match=message):
        run("simulate_votes", poll.slug, *args)


@pytest.mark.django_db
def test_simulate_votes_refuses_drafts_and_polls_that_take_none_of_its_votes(make_poll) -> None:
    make_poll(slug="draft-one", status=Poll.Status.DRAFT)
    with pytest.raises(CommandError, match="draft"):
        run("simulate_votes", "draft-one", "--voters", "3")
    make_poll(slug="members", login_required=True)
    with pytest.raises(CommandError, match=r"No vote was taken: .*logged-in"):
        run("simulate_votes", "members", "--voters", "3")
