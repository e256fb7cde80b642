"""A runoff as RCTab's summary JSON (polls.counting.rctab), the file rcvis reads: a
hand-worked count in full, then the shape every round keeps."""

from __future__ import annotations

import json

from polls.counting.ranked import RankedRules, instant_runoff
from polls.counting.rctab import rctab_summary

A, B, C, D = 1, 2, 3, 4
NAMES = {A: "Ann", B: "Bo", C: "Cy", D: "Di"}


def test_a_batch_count_with_inactive_ballots_as_rctab_writes_it() -> None:
    # Round 1: Ann 6, Bo 5, Cy 2, Di 1 (14). Cy + Di = 3 < Bo's 5: both go. Cy's two go to Bo
    # and to nobody (its ballot ended at an overvote); Di's one goes to Ann.
    profile: list[tuple[tuple[int, ...], int] | tuple[tuple[int, ...], int, str]] = [
        ((A,), 6),
        ((B,), 5),
        ((C, B), 1),
        ((C,), 1, "overvote"),
        ((D, A), 1),
    ]
    runoff = instant_runoff(profile, [A, B, C, D], RankedRules(batch=True))
    summary = rctab_summary(
        runoff,
        NAMES,
        contest="Chair",
        date="2026-12-06",
        jurisdiction="Club",
        office="Chair",
        inactive_from_start={"undervote": 3, "overvote": 2},
    )
    assert summary == {
        "config": {
            "contest": "Chair",
            "date": "2026-12-06",
            "generatedBy": "votingsite",
            "jurisdiction": "Club",
            "office": "Chair",
        },
        "jsonFormatVersion": "1",
        "results": [
            {
                "inactiveBallots": {
                    "exhaustedChoices": "0",
                    "overvotes": "2",  # ranked nobody but overvotes: inactive from round 1
                    "repeatedRankings": "0",
                    "skippedRankings": "0",
                },
                "round": 1,
                "tally": {"Ann": "6", "Bo": "5", "Cy": "2", "Di": "1"},
                "tallyResults": [
                    {"eliminated": "Cy", "transfers": {"Bo": "1", "exhausted": "1"}},
                    {"eliminated": "Di", "transfers": {"Ann": "1"}},
                ],
                "threshold": "8",
            },
            {
                "inactiveBallots": {
                    "exhaustedChoices": "0",
                    "overvotes": "3",
                    "repeatedRankings": "0",
                    "skippedRankings": "0",
                },
                "round": 2,
                "tally": {"Ann": "7", "Bo": "6"},
                "tallyResults": [{"elected": "Ann", "transfers": {}}],
                "threshold": "7",
            },
        ],
        "summary": {
            "finalThreshold": "7",
            "numCandidates": 4,
            "numWinners": 1,
            "totalNumBallots": "19",  # 14 counted, 2 overvoted only, 3 blank
            "undervotes": 3,
        },
    }
    json.dumps(summary)  # plain JSON


def test_a_ballot_that_runs_out_of_choices_is_an_exhausted_choice() -> None:
    runoff = instant_runoff([((A,), 3), ((B,), 2), ((C,), 1)], [A, B, C])
    rounds = rctab_summary(runoff, NAMES, contest="x", date="2026-01-01")["results"]
    assert rounds[0]["tallyResults"] == [{"eliminated": "Cy", "transfers": {"exhausted": "1"}}]
    assert rounds[1]["inactiveBallots"]["exhaustedChoices"] == "1"
    assert rounds[1]["tallyResults"] == [{"elected": "Ann", "transfers": {}}]


def test_no_winner_no_one_elected_and_no_ballots_no_rounds() -> None:
    tied = instant_runoff([((A,), 1), ((B,), 1)], [A, B], RankedRules("eliminate_all_tied"))
    rounds = rctab_summary(tied, NAMES, contest="x", date="2026-01-01")["results"]
    assert [r["tallyResults"] for r in rounds] == [[]]
    empty = rctab_summary(instant_runoff([], [A, B]), NAMES, contest="x", date="2026-01-01")
    assert (empty["results"], empty["summary"]["totalNumBallots"]) == ([], "0")
