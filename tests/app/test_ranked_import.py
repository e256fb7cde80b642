"""`manage.py import_ballots`: an election office's cast-vote records into a ranked poll with
no ballots, all or nothing, the aggregates written as the worker writes them (so `recount
--check` agrees), the import on record with the file's SHA-256; problems by line with exit
code 1, an unreadable file with 2, nothing written on either. And the rounds exported as
RCTab's summary JSON (export_results --format rctab, /api/polls/<slug>/results/rctab.json)."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from polls import organising
from polls.models import BallotImport, Poll, PollCounter, RankingCount, Tally
from polls.selectors import poll_results
from tests.support.commands import run
from tests.support.kinds import K, kind_poll

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_kept_snapshots(redis_client) -> None:
    """Poll ids come again after the database is emptied: an earlier test's kept snapshot
    (and its seq) must not answer for this test's poll."""
    for key in redis_client.scan_iter("results:snapshot:*"):
        redis_client.delete(key)


# Minneapolis' form: a precinct, three ranks, a weight; its marks.
RECORDS = """\
Precinct,rank1,rank2,rank3,weight
P-1,Red,Green,,2
P-1,Green,overvote,Red,1
P-1,undervote,undervote,undervote,1
P-2,Blue,Red,Green,1
P-2,overvote,,,1
P-2,Blue,overvote,,1
"""


def ranked(labels=("Red", "Green", "Blue"), **options) -> Poll:
    # Open: a draft's results are nobody's to read (close it to count no more voters).
    return organising.create_poll(
        slug="city", question="Mayor?", labels=list(labels), kind=K.RANKED, open_now=True, **options
    )


def records(tmp_path: Path, text: str = RECORDS, name: str = "cvr.csv") -> str:
    path = tmp_path / name
    path.write_bytes(text.encode())
    return str(path)


def refused(*args: str) -> tuple[CommandError, str]:
    """The command's error, and what it listed on stderr."""
    err = io.StringIO()
    with pytest.raises(CommandError) as caught:
        call_command("import_ballots", *args, stdout=io.StringIO(), stderr=err)
    return caught.value, err.getvalue()


def nothing_written(poll: Poll) -> None:
    assert PollCounter.objects.get(poll=poll).total == 0
    assert not RankingCount.objects.filter(poll=poll, votes__gt=0).exists()
    assert set(Tally.objects.filter(poll=poll).values_list("votes", flat=True)) == {0}
    assert not BallotImport.objects.filter(poll=poll).exists()


def test_the_records_become_the_polls_aggregates_and_the_import_is_on_record(tmp_path) -> None:
    poll = ranked()
    red, green, blue = (c.pk for c in poll.choices.all())
    said = run("import_ballots", "city", records(tmp_path))
    assert "Imported 5 ballots into 'city' from cvr.csv (6 rows, 7 ballots" in said
    assert "ranking nobody: overvote 1, undervote 1" in said
    assert PollCounter.objects.get(poll=poll).total == 5
    assert dict(Tally.objects.filter(poll=poll).values_list("choice_id", "votes")) == {
        red: 2, green: 1, blue: 2
    }  # fmt: skip
    stored = RankingCount.objects.filter(poll=poll).values_list("ranking", "votes")
    assert {tuple(ranking): votes for ranking, votes in stored} == {
        (red, green): 2, (green, red): 1, (blue, red, green): 1, (blue,): 1
    }  # fmt: skip
    record = BallotImport.objects.get(poll=poll)
    assert record.sha256 == hashlib.sha256(RECORDS.encode()).hexdigest()
    assert (record.file_name, record.rows, record.ballots, record.counted) == ("cvr.csv", 6, 7, 5)
    assert record.inactive == {"overvote": 1, "undervote": 1}
    assert run("recount", "city", "--check") == "city: ok (5 votes)\n"


def test_the_published_rounds_count_the_imported_ballots_under_the_polls_rules(tmp_path) -> None:
    poll = ranked()
    red, green, blue = (c.pk for c in poll.choices.all())
    run("import_ballots", "city", records(tmp_path), "--overvote-rule", "exhaust")
    snapshot = Client().get("/api/polls/city/results").json()
    # Exhaust: "Green, overvote, Red" ends at the overvote; "Blue, overvote" likewise.
    assert [c["votes"] for c in snapshot["rounds"][0]["counts"]] == [2, 1, 2]
    assert snapshot["rounds"][0]["eliminated"] == green
    assert snapshot["rounds"][0]["eliminations"] == [{"id": green, "transfers": [], "exhausted": 1}]
    # Round 2: Red and Blue tie at 2 (as in round 1): the one listed last, Blue, goes.
    assert snapshot["rounds"][1]["inactive"] == {"overvote": 1}
    assert snapshot["rounds"][1]["tie"]["broken_by"] == "position"
    assert snapshot["rounds"][1]["eliminated"] == blue
    assert snapshot["rounds"][2]["inactive"] == {"overvote": 2}
    assert snapshot["rounds"][2]["counts"] == [{"id": red, "votes": 3, "percent": 100.0}]
    assert snapshot["inactive_from_start"] == {"overvote": 1, "undervote": 1}
    assert (snapshot["total"], snapshot["winner"]) == (5, red)


def test_the_citys_rules_come_with_the_import_and_are_on_record(tmp_path, caplog) -> None:
    poll = ranked()
    run("import_ballots", "city", records(tmp_path), "--batch", "--tie", "previous_then_lot")
    options = Poll.objects.get(pk=poll.pk).options
    assert (options["batch"], options["tie"]) == (True, "previous_then_lot")
    assert "count rules changed by a command" in caplog.text


def test_create_choices_makes_the_candidates_a_poll_lacks_after_its_own(tmp_path) -> None:
    poll = ranked(labels=("Blue", "Zed"))
    run("import_ballots", "city", records(tmp_path), "--create-choices")
    assert [c.label for c in poll.choices.all()] == ["Blue", "Zed", "Green", "Red"]
    assert run("recount", "city", "--check") == "city: ok (5 votes)\n"


def test_a_candidate_that_is_not_a_choice_is_named_and_nothing_is_written(tmp_path) -> None:
    poll = ranked(labels=("Red", "Green"))
    error, listed = refused("city", records(tmp_path))
    assert error.returncode == 1
    assert "Nothing imported: 1 problem(s)" in str(error)
    assert "candidate 'Blue' is not a choice of 'city'" in listed
    nothing_written(poll)


def test_bad_rows_are_listed_by_line_exit_1_and_nothing_is_written(tmp_path) -> None:
    poll = ranked()
    error, listed = refused("city", records(tmp_path, RECORDS + "P-3,Red,,,two\nP-3,Red\n"))
    assert error.returncode == 1
    assert "line 8: weight 'two' is not a whole number" in listed
    assert "line 9: 2 fields where the header has 5" in listed
    nothing_written(poll)


@pytest.mark.parametrize(
    ("content", "why"),
    [(b"rank1,rank2\n\xff\xfe,x\n", "not readable as CSV"), (b"", "the file is empty")],
)
def test_a_file_that_is_not_csv_exits_2(tmp_path, content, why) -> None:
    poll = ranked()
    path = tmp_path / "cvr.csv"
    path.write_bytes(content)
    error, _ = refused("city", str(path))
    assert error.returncode == 2
    assert why in str(error)
    nothing_written(poll)


def test_a_missing_file_exits_2(tmp_path) -> None:
    ranked()
    error, _ = refused("city", str(tmp_path / "nowhere.csv"))
    assert error.returncode == 2
    assert "Cannot read" in str(error)


def test_a_poll_with_ballots_or_not_ranked_takes_no_import(tmp_path) -> None:
    ranked()
    path = records(tmp_path)
    run("import_ballots", "city", path)
    again, listed = refused("city", path)
    assert again.returncode == 1
    assert "'city' has ballots already (5)" in listed
    assert BallotImport.objects.count() == 1
    assert PollCounter.objects.get(poll__slug="city").total == 5
    kind_poll(K.SINGLE, slug="plain")
    assert "only ranked polls take cast-vote records" in refused("plain", path)[1]


def test_a_reset_withdraws_the_import_keeps_its_record_and_recount_agrees(tmp_path) -> None:
    poll = ranked()
    run("import_ballots", "city", records(tmp_path))
    reset = organising.reset_votes(poll)
    assert reset.votes_removed == 5
    assert BallotImport.objects.get(poll=poll).withdrawn_at is not None
    assert run("recount", "city", "--check") == "city: ok (0 votes)\n"
    assert poll_results(poll=poll)["rounds"] == []
    run("import_ballots", "city", records(tmp_path))  # a withdrawn import holds nothing
    assert PollCounter.objects.get(poll=poll).total == 5


def test_the_rounds_export_as_rctab_by_command_and_api(tmp_path) -> None:
    ranked()
    run("import_ballots", "city", records(tmp_path))
    exported = json.loads(run("export_results", "city", "--format", "rctab"))
    served = Client().get("/api/polls/city/results/rctab.json").json()
    assert exported == served
    assert served["jsonFormatVersion"] == "1"
    assert served["config"]["contest"] == "Mayor?"
    assert served["summary"]["totalNumBallots"] == "7"  # 5 counted, 2 ranking nobody
    assert served["summary"]["undervotes"] == 1
    assert served["results"][0]["tally"] == {"Red": "2", "Green": "1", "Blue": "2"}
    assert served["results"][0]["inactiveBallots"]["overvotes"] == "1"
    kind_poll(K.SINGLE, slug="plain")
    with pytest.raises(CommandError, match="only ranked polls export RCTab"):
        run("export_results", "plain", "--format", "rctab")
    answer = Client().get("/api/polls/plain/results/rctab.json")
    assert (answer.status_code, answer.json()["code"]) == (404, "no_rounds")


def test_the_admins_poll_page_shows_the_import_and_links_rctab(tmp_path, admin_client) -> None:
    poll = ranked()
    run("import_ballots", "city", records(tmp_path))
    page = admin_client.get(f"/admin/polls/poll/{poll.pk}/change/").content.decode()
    assert hashlib.sha256(RECORDS.encode()).hexdigest() in page
    assert "/api/polls/city/results/rctab.json" in page
