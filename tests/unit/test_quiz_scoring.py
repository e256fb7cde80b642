"""Quiz scores: the one integer rule and the tie rule, as hand-worked tables (issue 36).

round_half_up(points * (1 - t / (2T))) with t and T in integer milliseconds."""

from __future__ import annotations

import pytest

from polls.counting.quiz import Answer, Question, is_right, points_for, standings


@pytest.mark.parametrize(
    ("points", "limit_ms", "t_ms", "expected", "why"),
    [
        (1000, 20000, 0, 1000, "at once: all the points"),
        (1000, 20000, 20000, 500, "at the deadline: half"),
        (1000, 20000, 10000, 750, "half way: three quarters"),
        (1000, 20000, 1, 1000, "999.975 rounds up"),
        (1000, 20000, 19999, 500, "500.025 rounds down"),
        (1000, 20000, 20, 1000, "999.5 rounds half up to 1000"),
        (1000, 20000, 60, 999, "998.5 rounds half up to 999"),
        (3, 5000, 5000, 2, "1.5 rounds half up to 2"),
        (1, 5000, 5000, 1, "0.5 rounds half up to 1"),
        (1000, 20000, 25000, 500, "past the deadline (never admitted): clamped to half"),
        (1000, 20000, -5, 1000, "before the opening (never admitted): clamped to all"),
        (0, 20000, 0, 0, "no points, nothing"),
    ],
)
def test_a_correct_answer_scores_points_decaying_to_half_at_the_deadline(
    points, limit_ms, t_ms, expected, why
) -> None:
    assert points_for(points, limit_ms, t_ms) == expected, why


@pytest.mark.parametrize(
    ("answer", "correct", "right"),
    [
        ((1,), (1,), True),
        ((2,), (1,), False),
        ((1, 3), (1, 3), True),
        ((1,), (1, 3), False),  # only part of the key
        ((1, 2, 3), (1, 3), False),  # the key and a wrong one
        ((3, 1), (1, 3), True),  # order does not matter
        ((), (1,), False),
        ((1,), (), False),  # an empty key makes nothing right
    ],
)
def test_only_all_and_only_the_correct_choices_are_right(answer, correct, right) -> None:
    assert is_right(answer, correct) is right


def test_standings_order_by_score_then_lower_total_time_then_share_the_place() -> None:
    one = Question(correct=(1,), points=1000, limit_ms=20000)
    two = Question(correct=(5, 6), points=1000, limit_ms=10000)
    table = standings(
        [
            (
                one,
                [
                    Answer("ann", (1,), 0),  # 1000
                    Answer("bob", (1,), 10000),  # 750
                    Answer("cat", (2,), 100),  # wrong: 0
                    Answer("dan", (1,), 10000),  # 750
                    Answer("eve", (1,), 4000),  # 900
                ],
            ),
            (
                two,
                [
                    Answer("bob", (5, 6), 0),  # 1000: 1750 in all, t = 10000
                    Answer("cat", (5, 6), 5000),  # 750
                    Answer("dan", (6, 5), 0),  # 1000: 1750, t = 10000: shares bob's place
                    Answer("eve", (5, 6), 8000),  # 600: 1500, t = 12000
                    Answer("ann", (5,), 0),  # part of the key: 0
                ],
            ),
        ]
    )
    assert [(r.player, r.score, r.time_ms, r.rank) for r in table] == [
        ("bob", 1750, 10000, 1),
        ("dan", 1750, 10000, 1),
        ("eve", 1500, 12000, 3),
        ("ann", 1000, 0, 4),
        ("cat", 750, 5000, 5),
    ]


def test_equal_scores_are_ordered_by_the_lower_total_time_of_correct_answers() -> None:
    q = Question(correct=(1,), points=10, limit_ms=10000)
    # Both score 10 (9.95 and 9.9 round to 10): the faster one is ahead.
    table = standings([(q, [Answer("slow", (1,), 200), Answer("fast", (1,), 100)])])
    assert [(r.player, r.score, r.rank) for r in table] == [("fast", 10, 1), ("slow", 10, 2)]
