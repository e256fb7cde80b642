"""Counting rules (polls.counting), pure: instant runoff round by round, Borda, a scale's
summary. The runoff is checked against pref-voting where the two rules coincide (complete
rankings, no tie for last), and by hand-worked cases where they differ."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from pref_voting.profiles import Profile
from pref_voting.voting_methods import instant_runoff as library_runoff

from polls.counting import Round, borda, instant_runoff, scale_summary

A, B, C, D = 1, 2, 3, 4  # choice ids, in the poll's order


def test_a_majority_of_first_preferences_wins_in_the_first_round() -> None:
    runoff = instant_runoff([((A, B), 6), ((B, A), 4)], [A, B])
    assert runoff.winner == A
    assert runoff.rounds == [Round({A: 6, B: 4}, exhausted=0)]


def test_the_last_choice_is_eliminated_and_its_ballots_move_to_their_next_choice() -> None:
    runoff = instant_runoff([((A, B, C), 4), ((B, A, C), 3), ((C, B, A), 2)], [A, B, C])
    first, second = runoff.rounds
    assert first == Round({A: 4, B: 3, C: 2}, 0, eliminated=C, transfers={B: 2})
    assert second == Round({A: 4, B: 5}, 0)
    assert runoff.winner == B


def test_exhausted_ballots_leave_the_count_and_the_majority_is_of_those_left() -> None:
    # C's voters ranked nobody else: after C goes, 8 ballots continue and A has 5 of them.
    runoff = instant_runoff([((A,), 5), ((B,), 3), ((C,), 2)], [A, B, C])
    first, second = runoff.rounds
    assert first.eliminated == C
    assert first.transferred_to_exhausted == 2
    assert second == Round({A: 5, B: 3}, exhausted=2)
    assert runoff.winner == A  # 5 of 8 continuing, though only 5 of 10 ballots


def test_exactly_half_is_not_a_majority() -> None:
    runoff = instant_runoff([((A, B), 2), ((B, A), 2)], [A, B])
    # A tie for last with no earlier round: the choice listed last (B) goes.
    assert runoff.rounds[0].eliminated == B
    assert runoff.winner == A


def test_a_tie_for_last_goes_to_fewer_votes_in_the_round_before() -> None:
    # D goes first, to C; then B and C tie at 4, and C had fewer (3) in round 1 than B.
    profile = [((A,), 6), ((B,), 4), ((C,), 3), ((D, C), 1)]
    runoff = instant_runoff(profile, [A, B, C, D])
    assert runoff.rounds[0].counts == {A: 6, B: 4, C: 3, D: 1}
    assert runoff.rounds[0].eliminated == D
    assert runoff.rounds[1].counts == {A: 6, B: 4, C: 4}
    assert runoff.rounds[1].eliminated == C  # 3 in round 1 against B's 4
    assert runoff.winner == A


def test_a_tie_that_earlier_rounds_do_not_break_goes_by_position() -> None:
    runoff = instant_runoff([((A,), 3), ((B,), 2), ((C,), 2)], [A, C, B])
    assert runoff.rounds[0].eliminated == B  # listed last of the tied
    runoff = instant_runoff([((A,), 3), ((B,), 2), ((C,), 2)], [A, B, C])
    assert runoff.rounds[0].eliminated == C


def test_the_last_choice_standing_wins_with_the_ballots_left_and_no_ballots_elect_nobody() -> None:
    runoff = instant_runoff([((A,), 1), ((B,), 1)], [A, B])
    assert runoff.rounds[0].eliminated == B
    assert runoff.rounds[1] == Round({A: 1}, exhausted=1)
    assert runoff.winner == A  # one continuing ballot of one: a majority
    empty = instant_runoff([], [A, B])
    assert (empty.rounds, empty.winner) == ([], None)


def test_borda_gives_n_minus_rank_and_nothing_to_the_unranked() -> None:
    points = borda([((A, B, C), 2), ((C,), 1)], [A, B, C, D])
    # Four choices: 1st 3 points, 2nd 2, 3rd 1; D never ranked.
    assert points == {A: 6, B: 4, C: 2 + 3, D: 0}


@pytest.mark.parametrize(
    ("counts", "low", "high", "mean", "median", "nps"),
    [
        ({1: 1, 2: 1, 5: 2}, 1, 5, 3.25, 3.5, None),
        ({3: 3}, 1, 5, 3.0, 3.0, None),
        ({10: 5, 9: 1, 8: 2, 6: 1, 0: 1}, 0, 10, 8.1, 9.5, 40),  # 6 promoters, 2 detractors
        ({}, 1, 5, None, None, None),
    ],
)
def test_a_scale_summary_has_mean_median_and_for_zero_to_ten_an_nps(
    counts, low, high, mean, median, nps
) -> None:
    summary = scale_summary(counts, low, high)
    assert (summary.mean, summary.median, summary.nps) == (mean, median, nps)


complete_profiles = st.integers(3, 5).flatmap(
    lambda n: st.lists(
        st.tuples(st.permutations(range(n)).map(tuple), st.integers(1, 20)),
        min_size=1,
        max_size=12,
    ).map(lambda ballots: (n, ballots))
)


@hsettings(max_examples=300, deadline=None)
@given(complete_profiles)
def test_on_complete_rankings_without_a_tie_for_last_the_winner_is_pref_votings(case) -> None:
    n, ballots = case
    candidates = list(range(n))
    ours = instant_runoff(ballots, candidates)
    # pref-voting drops every tied-last choice at once; compare only where no tie arose.
    for counted in ours.rounds:
        if counted.eliminated is not None:
            fewest = min(counted.counts.values())
            if sum(v == fewest for v in counted.counts.values()) > 1:
                return
    theirs = library_runoff(Profile([r for r, _ in ballots], rcounts=[c for _, c in ballots]))
    assert theirs == [ours.winner]
