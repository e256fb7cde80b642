"""A quiz's scores: the one integer rule, Django-free (the page, the receipts' verifier and
the tests run it alone).

A correct answer scores round_half_up(points * (1 - t / (2 * T))), `t` the answer's
admission time minus the question's opening time and `T` the time limit, both integer
milliseconds on Redis's clock: between half the points (at the deadline) and all of them
(at once). Kahoot's rule, chosen over Poll Everywhere's decay to zero because a right
answer in the last second is still right. A wrong or missing answer scores 0; with
several correct choices only the exact set is right.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass


def points_for(points: int, limit_ms: int, t_ms: int) -> int:
    """A correct answer's points after `t_ms` of a `limit_ms` countdown (exact integers:
    floor((2a + b) / 2b) is a / b rounded half up)."""
    if limit_ms <= 0 or points <= 0:
        return 0
    t = min(max(t_ms, 0), limit_ms)  # admission refuses later answers; clamp all the same
    numerator, denominator = points * (2 * limit_ms - t), 2 * limit_ms
    return (2 * numerator + denominator) // (2 * denominator)


def is_right(answer: Iterable[int], correct: Iterable[int]) -> bool:
    """All and only the correct choices (an empty key makes nothing right)."""
    key = set(correct)
    return bool(key) and set(answer) == key


@dataclass(frozen=True)
class Answer:
    """One player's stored answer to one question."""

    player: str
    choices: tuple[int, ...]
    t_ms: int


@dataclass(frozen=True)
class Question:
    """A played question: its key, its points and its limit."""

    correct: tuple[int, ...]
    points: int
    limit_ms: int


@dataclass(frozen=True)
class Standing:
    player: str
    score: int
    time_ms: int  # total t of the correct answers: the tie-break (lower first)
    rank: int  # shared by players equal in both


def score(question: Question, answer: Answer) -> tuple[int, int]:
    """(points, t counted for the tie-break) of one answer."""
    if not is_right(answer.choices, question.correct):
        return 0, 0
    return points_for(question.points, question.limit_ms, answer.t_ms), answer.t_ms


def standings(played: Sequence[tuple[Question, Sequence[Answer]]]) -> list[Standing]:
    """Every player's total, best first: by score, then the lower total time of correct
    answers; players equal in both share a rank (1, 1, 3)."""
    totals: dict[str, list[int]] = {}
    for question, answers in played:
        for answer in answers:
            gained, taken = score(question, answer)
            held = totals.setdefault(answer.player, [0, 0])
            held[0] += gained
            held[1] += taken
    ordered = sorted(totals.items(), key=lambda item: (-item[1][0], item[1][1], item[0]))
    result: list[Standing] = []
    for position, (player, (total, taken)) in enumerate(ordered, start=1):
        previous = result[-1] if result else None
        same = previous is not None and (previous.score, previous.time_ms) == (total, taken)
        rank = previous.rank if same and previous is not None else position
        result.append(Standing(player, total, taken, rank))
    return result


def ranks(table: Sequence[Standing]) -> Mapping[str, Standing]:
    return {row.player: row for row in table}
