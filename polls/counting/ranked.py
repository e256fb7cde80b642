"""Ranked choice's counting: instant runoff and Borda from (ranking, count) pairs. Pure
functions: no database, no Django.

The runoff is written here, not taken from pref-voting, because its rules are ours and
pref-voting's instant runoff differs on partial rankings and ties (it drops every
tied-last choice at once and counts majorities of all ballots). Ours, round by round:
  - each ballot counts for its highest-ranked choice still in the count; a ballot with
    none left is exhausted;
  - a choice with more than half of the ballots not exhausted wins;
  - otherwise the choice with the fewest votes is eliminated. A tie for fewest is broken
    by fewer votes in the round before (and the one before that, back to the first),
    then by position: the choice listed last goes.
tests/unit/test_counting.py checks it against pref-voting on complete rankings without ties,
where the two coincide, and against hand-worked cases for partial rankings and ties.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

Profile = Iterable[tuple[Sequence[int], int]]  # (ranking best first, how many ballots)


@dataclass(frozen=True)
class Round:
    counts: dict[int, int]  # continuing choice -> ballots counting for it
    exhausted: int  # ballots with no continuing choice left
    eliminated: int | None = None  # the choice that goes after this round
    transfers: dict[int, int] = field(default_factory=dict)  # where its ballots went next
    transferred_to_exhausted: int = 0


@dataclass(frozen=True)
class Runoff:
    rounds: list[Round]
    winner: int | None


def instant_runoff(profile: Profile, candidates: Sequence[int]) -> Runoff:
    """The rounds of an instant runoff; `candidates` in the poll's order (ties: last goes).

    Each distinct ranking is looked at again only when the choice it counts for goes, so
    the work follows the total length of the distinct rankings, not rounds times rankings.
    """
    ballots = [(tuple(ranking), count) for ranking, count in profile if count > 0]
    if not ballots or not candidates:
        return Runoff([], None)
    position = {choice: index for index, choice in enumerate(candidates)}
    continuing = set(candidates)
    counts = dict.fromkeys(candidates, 0)
    piles: dict[int, list[int]] = {choice: [] for choice in candidates}  # ballots by top
    cursor = [0] * len(ballots)  # each ballot's place in its ranking
    exhausted = 0
    for index, (ranking, count) in enumerate(ballots):
        top = _advance(ranking, cursor, index, continuing)
        if top is None:
            exhausted += count
        else:
            counts[top] += count
            piles[top].append(index)
    rounds: list[Round] = []
    while True:
        standing = sorted(continuing, key=position.__getitem__)
        shown = {choice: counts[choice] for choice in standing}
        active = sum(shown.values())
        leader = max(standing, key=lambda c: (shown[c], -position[c]))
        if active and 2 * shown[leader] > active:
            rounds.append(Round(shown, exhausted))
            return Runoff(rounds, leader)
        if len(standing) == 1:  # every ballot exhausted: nobody can win
            rounds.append(Round(shown, exhausted))
            return Runoff(rounds, None)
        loser = _fewest(standing, shown, rounds, position)
        continuing.discard(loser)
        moved: Counter[int] = Counter()
        to_exhausted = 0
        for index in piles.pop(loser):
            ranking, count = ballots[index]
            top = _advance(ranking, cursor, index, continuing)
            if top is None:
                to_exhausted += count
            else:
                moved[top] += count
                piles[top].append(index)
        rounds.append(Round(shown, exhausted, loser, dict(moved), to_exhausted))
        exhausted += to_exhausted
        del counts[loser]
        for choice, count in moved.items():
            counts[choice] += count


def _advance(
    ranking: tuple[int, ...], cursor: list[int], index: int, continuing: set[int]
) -> int | None:
    """Move a ballot's cursor to its highest-ranked choice still in the count."""
    place = cursor[index]
    while place < len(ranking) and ranking[place] not in continuing:
        place += 1
    cursor[index] = place
    return ranking[place] if place < len(ranking) else None


def _fewest(
    continuing: list[int], counts: dict[int, int], earlier: list[Round], position: dict[int, int]
) -> int:
    fewest = min(counts[c] for c in continuing)
    tied = [c for c in continuing if counts[c] == fewest]
    for past in reversed(earlier):
        if len(tied) == 1:
            break
        least = min(past.counts.get(c, 0) for c in tied)
        tied = [c for c in tied if past.counts.get(c, 0) == least]
    return max(tied, key=lambda c: position[c])


def borda(profile: Profile, candidates: Sequence[int]) -> dict[int, int]:
    """Borda points: ranked r-th of n choices gives n - r points; unranked gives none."""
    n = len(candidates)
    points = dict.fromkeys(candidates, 0)
    for ranking, count in profile:
        for place, choice in enumerate(ranking, start=1):
            if choice in points:
                points[choice] += (n - place) * count
    return points
