"""Ranked snapshots for the rounds in words (polls/kinds/ranked_words.py, and
kinds/ranked.js's describe): hand-worked counts, each built as polls.kinds.ranked builds a
results snapshot's ranked part. Read by tests/app/test_round_words.py (the sentences per
language) and tests/browser/test_rounds.py (the script says the same)."""

from __future__ import annotations

from typing import Any

from polls.counting import ranked as counting
from polls.kinds.ranked import _round, rules_document

LABELS = {1: "Ana", 2: "Ben", 3: "Cleo", 4: "Dev"}


def snapshot(
    profile: list[tuple[tuple[int, ...], int]],
    rules: counting.RankedRules,
    start: dict[str, int] | None = None,
) -> dict[str, Any]:
    """The ranked part of a results snapshot, as polls.kinds.ranked makes it."""
    candidates = list(LABELS)
    runoff = counting.instant_runoff(profile, candidates, rules)
    return {
        "choices": [{"id": c, "label": LABELS[c]} for c in candidates],
        "rounds": [_round(r, candidates) for r in runoff.rounds],
        "winner": runoff.winner,
        "tied": list(runoff.tied),
        "rules": rules_document(rules),
        "inactive_from_start": start or {},
    }


# Ana 5, Ben 4, Cleo 3 (2 then Ben), Dev 1 (then Ana): Dev goes, then Cleo (two move to
# Ben, one runs out), then Ana and Ben tie 6-6 and Ben had fewer in round 2.
ONE_AT_A_TIME = snapshot(
    [((1,), 5), ((2,), 4), ((3, 2), 2), ((3,), 1), ((4, 1), 1)], counting.RankedRules(seed="abc")
)
# Cleo and Dev tie 2-2 in the first round: the lot (seed s33d) draws Cleo.
BY_LOT = snapshot(
    [((1,), 3), ((2,), 3), ((3,), 2), ((4,), 2)],
    counting.RankedRules(tie=counting.PREVIOUS_THEN_LOT, seed="s33d"),
)
# Cleo 2 and Dev 1 together (3) stay behind Ben (8): both go at once; 3 imported ballots
# were overvotes at their first rank and count in no round.
BATCH = snapshot(
    [((1,), 10), ((2,), 8), ((3,), 2), ((4,), 1)],
    counting.RankedRules(batch=True, seed="x"),
    {"overvote": 3},
)

# Ana 3, Ben 3, Cleo 2, Dev 2, where Cleo and Dev tie in every round before: the last
# listed (Dev) goes by position; later Ana and Ben tie 4-4 again.
BY_POSITION = snapshot(
    [((1,), 3), ((2,), 3), ((3, 1), 2), ((4, 2), 1), ((4,), 1)], counting.RankedRules(seed="p")
)
# Ana has more than half at once, but the rules count on until two remain.
UNTIL_TWO = snapshot(
    [((1,), 6), ((2,), 2), ((3, 2), 1), ((4,), 1)], counting.RankedRules(until_two=True, seed="u")
)
# Every choice tied, and all tied go: no one wins.
ALL_TIED = snapshot(
    [((1,), 2), ((2,), 2)], counting.RankedRules(tie=counting.ELIMINATE_ALL_TIED, seed="t")
)
SNAPSHOTS = {
    "one at a time": ONE_AT_A_TIME,
    "by lot": BY_LOT,
    "batch": BATCH,
    "by position": BY_POSITION,
    "until two": UNTIL_TWO,
    "all tied": ALL_TIED,
}
