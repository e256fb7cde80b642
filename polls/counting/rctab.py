"""An instant runoff's rounds as RCTab's summary JSON, the file rcvis (artoonie/rcvis) and
other viewers read. Pure: no database, no Django.

The format is RCTab's `jsonFormatVersion` "1" as written by BrightSpots/rcv
(src/main/java/network/brightspots/rcv/ResultsWriter.java, generateSummaryJson; an example:
src/test/resources/network/brightspots/rcv/test_data/minneapolis_multi_seat_threshold/
minneapolis_multi_seat_threshold_expected_summary.json), whose `config` / `results` /
`tally` / `tallyResults` core is artoonie/rcvformats' universaltabulator.schema.json:
  - `config`: contest, date, jurisdiction, office, generatedBy;
  - `results`, one per round: `round` from 1; `tally`, each continuing candidate's votes;
    `tallyResults`, who is eliminated after the round (one entry each, with `transfers`:
    votes by candidate name, and "exhausted") or elected in it; `threshold`, the votes a
    majority needs (half the continuing votes, rounded down, plus one); `inactiveBallots`
    by reason, cumulative: exhaustedChoices, overvotes, skippedRankings, repeatedRankings;
  - `summary`: finalThreshold, numCandidates, numWinners, totalNumBallots, undervotes.
Votes are decimal strings, as RCTab writes them; round and candidate counts are numbers.
Blank ballots are `undervotes` and in no round; ballots that rank nobody for an overvote or
skipped ranks are inactive from round 1, as RCTab counts them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

from polls.counting.ranked import Round, Runoff

GENERATED_BY = "votingsite"
REASONS = {"overvote": "overvotes", "skipped": "skippedRankings"}  # ours -> RCTab's
INACTIVE = ("exhaustedChoices", "overvotes", "repeatedRankings", "skippedRankings")


def rctab_summary(
    runoff: Runoff,
    names: Mapping[int, str],
    *,
    contest: str,
    date: str,
    jurisdiction: str = "",
    office: str = "",
    inactive_from_start: Mapping[str, int] | None = None,
) -> dict[str, Any]:
    """RCTab's summary of `runoff`; `names` gives each choice's name (every candidate, for
    numCandidates); `inactive_from_start` the ballots that rank nobody, by reason
    ("undervote" for blank ones: polls.counting.records)."""
    start = dict(inactive_from_start or {})
    undervotes = start.pop("undervote", 0)
    results = []
    for number, counted in enumerate(runoff.rounds, start=1):
        actions: list[dict[str, Any]] = [
            {
                "eliminated": names[move.choice],
                "transfers": _transfers(move.to, move.exhausted, names),
            }
            for move in counted.eliminations
        ]
        if number == len(runoff.rounds) and runoff.winner is not None:
            actions.append({"elected": names[runoff.winner], "transfers": {}})
        results.append(
            {
                "inactiveBallots": _inactive(counted, start),
                "round": number,
                "tally": {names[choice]: str(votes) for choice, votes in counted.counts.items()},
                "tallyResults": actions,
                "threshold": str(_threshold(counted)),
            }
        )
    first = runoff.rounds[0] if runoff.rounds else None
    counted_ballots = sum(first.counts.values()) + first.exhausted if first else 0
    return {
        "config": {
            "contest": contest,
            "date": date,
            "generatedBy": GENERATED_BY,
            "jurisdiction": jurisdiction,
            "office": office,
        },
        "jsonFormatVersion": "1",
        "results": results,
        "summary": {
            "finalThreshold": results[-1]["threshold"] if results else "0",
            "numCandidates": len(names),
            "numWinners": 1,
            "totalNumBallots": str(counted_ballots + sum(start.values()) + undervotes),
            "undervotes": undervotes,
        },
    }


def _threshold(counted: Round) -> int:
    return sum(counted.counts.values()) // 2 + 1


def _transfers(to: Mapping[int, int], exhausted: int, names: Mapping[int, str]) -> dict[str, str]:
    moved = {names[choice]: str(votes) for choice, votes in to.items() if votes}
    return moved | ({"exhausted": str(exhausted)} if exhausted else {})


def _inactive(counted: Round, start: Mapping[str, int]) -> dict[str, str]:
    """This round's inactive ballots by RCTab's reasons, with those inactive from round 1."""
    by_reason = Counter({"exhaustedChoices": counted.exhausted - sum(counted.inactive.values())})
    for reason, ballots in [*counted.inactive.items(), *start.items()]:
        by_reason[REASONS.get(reason, "exhaustedChoices")] += ballots
    return {reason: str(by_reason[reason]) for reason in INACTIVE}
