"""The stand-alone verifier's counts (tools/verify.py, written apart from the site's on
purpose) agree with the site's (polls.counting) on generated profiles, for every ranked
rule, the shares, the scale's summary and a quiz's points; and its chain hashing is the
site's (polls/counting/chain.py)."""

from __future__ import annotations

import importlib.util
import sys
from collections import Counter
from pathlib import Path
from types import ModuleType
from typing import Any

from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from polls.counting import chain as encoding
from polls.counting import quiz
from polls.counting.ranked import (
    ELIMINATE_ALL_TIED,
    PREVIOUS_THEN_LOT,
    PREVIOUS_THEN_POSITION,
    RankedRules,
    instant_runoff,
)
from polls.counting.scale import scale_summary
from polls.counting.shares import shares as site_shares


def _load() -> ModuleType:
    path = Path(__file__).resolve().parents[2] / "tools" / "verify.py"
    spec = importlib.util.spec_from_file_location("verify", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["verify"] = module
    spec.loader.exec_module(module)
    return module


verify = _load()
CANDIDATES = [11, 12, 13, 14, 15]


def site_rounds(
    profile: list[tuple[tuple[int, ...], int, str]], candidates: list[int], rules: RankedRules
) -> tuple[list[dict[str, Any]], int | None, list[int]]:
    """The site's runoff as its results publish it (polls.kinds.ranked._round)."""
    from polls.kinds.ranked import _round

    runoff = instant_runoff(profile, candidates, rules)
    return [_round(r, candidates) for r in runoff.rounds], runoff.winner, list(runoff.tied)


rankings = st.lists(
    st.permutations(CANDIDATES).flatmap(
        lambda order: st.integers(1, len(order)).map(lambda n: tuple(order[:n]))
    ),
    min_size=1,
    max_size=30,
)


@hsettings(max_examples=300, deadline=None)
@given(
    ballots=rankings,
    candidates=st.integers(2, 5),
    tie=st.sampled_from([PREVIOUS_THEN_POSITION, PREVIOUS_THEN_LOT, ELIMINATE_ALL_TIED]),
    batch=st.booleans(),
    until_two=st.booleans(),
    overvotes=st.integers(0, 3),
)
def test_the_verifiers_runoff_is_the_sites_under_every_rule(
    ballots: list[tuple[int, ...]],
    candidates: int,
    tie: str,
    batch: bool,
    until_two: bool,
    overvotes: int,
) -> None:
    standing = CANDIDATES[:candidates]
    counted = Counter(tuple(c for c in b if c in standing) for b in ballots)
    counted.pop((), None)
    profile: list[tuple[tuple[int, ...], int, str]] = []
    for number, (ranking, n) in enumerate(sorted(counted.items())):
        ended = min(n, overvotes) if number == 0 else 0  # some ended by an "overvote"
        if ended:
            profile.append((ranking, ended, "overvote"))
        profile.append((ranking, n - ended, ""))
    profile = [entry for entry in profile if entry[1] > 0]
    rules = RankedRules(tie=tie, seed="s33d", batch=batch, until_two=until_two)
    ours = verify.runoff(
        profile, standing, {"tie": tie, "seed": "s33d", "batch": batch, "until_two": until_two}
    )
    assert ours == site_rounds(profile, standing, rules)


@given(st.lists(st.integers(0, 50), max_size=8), st.integers(0, 3))
def test_the_verifiers_shares_are_the_sites(counts: list[int], extra: int) -> None:
    assert verify.percents(counts) == site_shares(counts)
    total = sum(counts) + extra  # multiple choice: the shares of the voters
    assert verify.percents(counts, total) == site_shares(counts, total)


@given(st.lists(st.integers(0, 10), min_size=1, max_size=40))
def test_the_verifiers_scale_summary_is_the_sites(values: list[int]) -> None:
    summary = scale_summary(Counter(values), 0, 10)
    doc = {
        "poll": {"options": {"scale_min": 0, "scale_max": 10}},
        "result": {
            "values": [
                {
                    "value": v,
                    "votes": values.count(v),
                    "percent": site_shares([values.count(x) for x in range(11)])[v],
                }
                for v in range(11)
            ],
            "mean": summary.mean,
            "median": summary.median,
            "nps": summary.nps,
        },
    }
    verify.count_scale(doc, [[v] for v in values])  # raises Misfit if they differ


@given(st.integers(1, 2000), st.integers(1, 60_000), st.integers(-100, 70_000))
def test_the_verifiers_quiz_points_are_the_sites(points: int, limit: int, t: int) -> None:
    site = quiz.points_for(points, limit, t)
    doc = {
        "result": {
            "quiz": {
                "correct": [1],
                "points": points,
                "limit_ms": limit,
                "answers": [{"player": "p", "choices": [1], "t_ms": t, "points": site}],
            }
        }
    }
    verify.count_quiz(doc, [[1]])


def test_the_verifiers_hashing_is_the_sites() -> None:
    events: list[dict[str, Any]] = [
        {"type": "counted", "vote": "v", "receipt": "R", "ballot": [1, 2]},
        {"type": "x"},
    ]
    hashes, head = encoding.link(encoding.genesis(7), events)
    assert verify.genesis(7) == encoding.genesis(7)
    assert [verify.sha256_hex(verify.canonical(e)) for e in events] == hashes
    doc = {
        "poll": {"id": 7},
        "chain": {"genesis": encoding.genesis(7), "hash": head, "batches": 1},
        "batches": [
            {
                "index": 1,
                "previous": encoding.genesis(7),
                "hash": head,
                "events": events,
                "event_hashes": hashes,
            }
        ],
        "result": {"seal": {"hash": head, "batches": 1}},
    }
    assert verify.check_chain(doc, verify.Lines("")) == head
