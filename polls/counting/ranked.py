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
RankedRules changes what election offices' laws decide differently (docs/organisers.md,
Ranked-choice rules): a tie broken by a published lot, or every tied choice going; batch
elimination; counting on until two remain.
tests/unit/test_counting.py checks it against pref-voting on complete rankings without ties,
where the two coincide, and against hand-worked cases for partial rankings and ties;
tests/unit/test_ranked_rules.py the rules (eliminating all tied is pref-voting's runoff).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

Profile = Iterable[tuple[Sequence[int], int]]  # (ranking best first, how many ballots)
# A runoff's entries may say why a ranking ends: (ranking, count, "overvote").
RunoffProfile = Iterable[tuple[Sequence[int], int] | tuple[Sequence[int], int, str]]

PREVIOUS_THEN_POSITION = "previous_then_position"
PREVIOUS_THEN_LOT = "previous_then_lot"
ELIMINATE_ALL_TIED = "eliminate_all_tied"
TIE_RULES = (PREVIOUS_THEN_POSITION, PREVIOUS_THEN_LOT, ELIMINATE_ALL_TIED)


@dataclass(frozen=True)
class RankedRules:
    """What the bare runoff leaves to each place's law (docs/organisers.md, Ranked-choice
    rules). The defaults are the count as it has always been here."""

    tie: str = PREVIOUS_THEN_POSITION  # who goes when several have the fewest votes
    seed: str = ""  # the lot's seed, fixed and published before the count
    batch: bool = False  # drop together every choice that cannot win
    until_two: bool = False  # no winner by majority while more than two remain

    def __post_init__(self) -> None:
        if self.tie not in TIE_RULES:
            raise ValueError(f"unknown tie rule {self.tie!r}: one of {', '.join(TIE_RULES)}")
        if self.tie == PREVIOUS_THEN_LOT and not self.seed:
            raise ValueError("a lot needs a seed, fixed and published before the count")


def lot_hash(seed: str, round_number: int, choice: int) -> str:
    """A tied choice's ticket in the lot: SHA-256 of the UTF-8 bytes of
    "<seed>:<round>:<choice id>" (the round counted from 1; round and id in decimal, no
    leading zeros), as lowercase hex. The lowest ticket goes. Repeatable anywhere, e.g.
    `printf '%s' 'SEED:3:17' | sha256sum`."""
    return hashlib.sha256(f"{seed}:{round_number}:{choice}".encode()).hexdigest()


@dataclass(frozen=True)
class Tie:
    """Several choices had the fewest votes in a round, and how the rules chose who goes."""

    tied: tuple[int, ...]  # the choices with the fewest votes, in the poll's order
    rule: str  # RankedRules.tie
    # "previous_rounds", "position", "lot", "all_go", or "none_go" (all continuing tied)
    broken_by: str
    still_tied: tuple[int, ...] = ()  # left after the earlier rounds (just one: it goes)
    lot: tuple[tuple[int, str], ...] = ()  # (choice, lot_hash) lowest first: the first goes


@dataclass(frozen=True)
class Transfer:
    """Where one eliminated choice's ballots went next."""

    choice: int
    to: dict[int, int]
    exhausted: int


@dataclass(frozen=True)
class Round:
    counts: dict[int, int]  # continuing choice -> ballots counting for it
    exhausted: int  # ballots with no continuing choice left
    eliminated: int | None = None  # the choice that goes after this round, when one goes
    transfers: dict[int, int] = field(default_factory=dict)  # where its ballots went next
    transferred_to_exhausted: int = 0
    # When several go at once (batch elimination, all tied going): they, in the poll's
    # order, and each one's transfers; `eliminated` is then None, `transfers` their sum.
    together: tuple[int, ...] = ()
    by_choice: tuple[Transfer, ...] = ()
    tie: Tie | None = None  # a tie for fewest, and how it was broken
    # Of `exhausted`, those whose ranking ended for a reason the profile gave with it (an
    # import's "overvote", "skipped"); the others ran out of ranked choices.
    inactive: dict[str, int] = field(default_factory=dict)

    @property
    def eliminations(self) -> tuple[Transfer, ...]:
        """Every choice that goes after this round, with where its ballots went."""
        if self.eliminated is None:
            return self.by_choice
        return (Transfer(self.eliminated, self.transfers, self.transferred_to_exhausted),)


@dataclass(frozen=True)
class Runoff:
    rounds: list[Round]
    winner: int | None
    tied: tuple[int, ...] = ()  # no winner: these tied, and the rules let none of them go


def instant_runoff(
    profile: RunoffProfile, candidates: Sequence[int], rules: RankedRules | None = None
) -> Runoff:
    """The rounds of an instant runoff; `candidates` in the poll's order (ties: last goes).

    A ballot whose ranking runs out counts as exhausted; if its profile entry gave a
    reason, as inactive for that reason too (`Round.inactive`).

    Each distinct ranking is looked at again only when the choice it counts for goes, so
    the work follows the total length of the distinct rankings, not rounds times rankings.
    """
    rules = rules or RankedRules()
    ballots: list[tuple[tuple[int, ...], int]] = []
    reasons: list[str] = []  # why each ranking ends, "" for no reason given
    for entry in profile:
        if entry[1] > 0:
            ballots.append((tuple(entry[0]), entry[1]))
            reasons.append(entry[2] if len(entry) == 3 else "")
    if not ballots or not candidates:
        return Runoff([], None)
    position = {choice: index for index, choice in enumerate(candidates)}
    count = _Piles(ballots, reasons, candidates)
    rounds: list[Round] = []
    while True:
        standing = sorted(count.continuing, key=position.__getitem__)
        shown = {choice: count.counts[choice] for choice in standing}
        exhausted, inactive = count.exhausted, dict(count.inactive)
        active = sum(shown.values())
        leader = max(standing, key=lambda c: (shown[c], -position[c]))
        if active and 2 * shown[leader] > active and (len(standing) <= 2 or not rules.until_two):
            rounds.append(Round(shown, exhausted, inactive=inactive))
            return Runoff(rounds, leader)
        if len(standing) == 1:  # every ballot exhausted: nobody can win
            rounds.append(Round(shown, exhausted, inactive=inactive))
            return Runoff(rounds, None)
        going, tie = _going(standing, shown, rounds, position, rules)
        if not going:
            rounds.append(Round(shown, exhausted, tie=tie, inactive=inactive))
            return Runoff(rounds, None, tuple(standing))
        moves = count.eliminate(going)
        if len(moves) == 1:
            (one,) = moves
            rounds.append(
                Round(
                    shown, exhausted, one.choice, one.to, one.exhausted, tie=tie, inactive=inactive
                )
            )
            continue
        total: Counter[int] = Counter()
        for move in moves:
            total.update(move.to)
        rounds.append(
            Round(
                shown,
                exhausted,
                None,
                dict(total),
                sum(move.exhausted for move in moves),
                together=going,
                by_choice=tuple(moves),
                tie=tie,
                inactive=inactive,
            )
        )


class _Piles:
    """The ballots in piles by the choice each counts for, each with its place in its
    ranking: a ballot moves on only when its pile's choice goes."""

    def __init__(
        self,
        ballots: list[tuple[tuple[int, ...], int]],
        reasons: list[str],
        candidates: Sequence[int],
    ) -> None:
        self.ballots = ballots
        self.reasons = reasons
        self.continuing = set(candidates)
        self.piles: dict[int, list[int]] = {choice: [] for choice in candidates}
        self.cursor = [0] * len(ballots)
        self.inactive: Counter[str] = Counter()
        moved, self.exhausted = self._place(range(len(ballots)))
        self.counts = dict.fromkeys(candidates, 0) | dict(moved)

    def eliminate(self, going: tuple[int, ...]) -> list[Transfer]:
        self.continuing.difference_update(going)
        moves = []
        for loser in going:
            del self.counts[loser]
            moved, to_exhausted = self._place(self.piles.pop(loser))
            for choice, count in moved.items():
                self.counts[choice] += count
            self.exhausted += to_exhausted
            moves.append(Transfer(loser, dict(moved), to_exhausted))
        return moves

    def _place(self, indices: Iterable[int]) -> tuple[Counter[int], int]:
        """Each ballot to its highest-ranked choice still in the count, or out."""
        moved: Counter[int] = Counter()
        to_exhausted = 0
        for index in indices:
            ranking, count = self.ballots[index]
            place = self.cursor[index]
            while place < len(ranking) and ranking[place] not in self.continuing:
                place += 1
            self.cursor[index] = place
            if place < len(ranking):
                moved[ranking[place]] += count
                self.piles[ranking[place]].append(index)
            else:
                to_exhausted += count
                if self.reasons[index]:
                    self.inactive[self.reasons[index]] += count
        return moved, to_exhausted


def _going(
    standing: list[int],
    counts: dict[int, int],
    earlier: list[Round],
    position: dict[int, int],
    rules: RankedRules,
) -> tuple[tuple[int, ...], Tie | None]:
    """The choices that go after this round (in the poll's order), and the tie if any.
    None go only when all are tied and the rules eliminate every tied choice."""
    if rules.batch:
        group = _hopeless(standing, counts, len(standing) - (2 if rules.until_two else 1))
        if len(group) > 1:
            return tuple(sorted(group, key=position.__getitem__)), None
    fewest = min(counts[c] for c in standing)
    tied = tuple(c for c in standing if counts[c] == fewest)
    if len(tied) == 1:
        return tied, None
    return _break_tie(tied, standing, earlier, position, rules)


def _break_tie(
    tied: tuple[int, ...],
    standing: list[int],
    earlier: list[Round],
    position: dict[int, int],
    rules: RankedRules,
) -> tuple[tuple[int, ...], Tie]:
    if rules.tie == ELIMINATE_ALL_TIED:
        if len(tied) == len(standing):
            return (), Tie(tied, rules.tie, "none_go")
        return tied, Tie(tied, rules.tie, "all_go")
    left = list(tied)
    for past in reversed(earlier):
        if len(left) == 1:
            break
        least = min(past.counts.get(c, 0) for c in left)
        left = [c for c in left if past.counts.get(c, 0) == least]
    if len(left) == 1:
        return (left[0],), Tie(tied, rules.tie, "previous_rounds", tuple(left))
    if rules.tie == PREVIOUS_THEN_POSITION:
        loser = max(left, key=position.__getitem__)
        return (loser,), Tie(tied, rules.tie, "position", tuple(left))
    number = len(earlier) + 1
    lot = tuple(sorted(((c, lot_hash(rules.seed, number, c)) for c in left), key=lambda t: t[1]))
    return (lot[0][0],), Tie(tied, rules.tie, "lot", tuple(left), lot)


def _hopeless(standing: list[int], counts: dict[int, int], most: int) -> list[int]:
    """The largest group (of 2 to `most`) of the fewest-voted whose votes together are fewer
    than the next choice's: even with every one of them it stays behind, so none can win.
    A tie never straddles the line (the group's sum is at least the next one's then)."""
    ordered = sorted(standing, key=counts.__getitem__)
    best = 0
    total = 0
    for size in range(1, most + 1):
        total += counts[ordered[size - 1]]
        if size >= 2 and total < counts[ordered[size]]:
            best = size
    return ordered[:best]


def borda(profile: Profile, candidates: Sequence[int]) -> dict[int, int]:
    """Borda points: ranked r-th of n choices gives n - r points; unranked gives none."""
    n = len(candidates)
    points = dict.fromkeys(candidates, 0)
    for ranking, count in profile:
        for place, choice in enumerate(ranking, start=1):
            if choice in points:
                points[choice] += (n - place) * count
    return points
