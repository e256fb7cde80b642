"""The runoff's rules as election offices set them (polls.counting.RankedRules; organisers'
guide, Ranked-choice rules): ties broken by earlier rounds then position, or then a lot from
a published seed, or every tied choice going; batch elimination; counting on until two
remain; ballots inactive by reason. Hand-worked tables first, then properties against
pref-voting where its rule is the same as ours, and against our own default count."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from pref_voting.profiles import Profile
from pref_voting.voting_methods import instant_runoff as library_runoff

from polls.counting.ranked import (
    ELIMINATE_ALL_TIED,
    PREVIOUS_THEN_LOT,
    PREVIOUS_THEN_POSITION,
    RankedRules,
    Round,
    Tie,
    Transfer,
    instant_runoff,
    lot_hash,
)

A, B, C, D, E = 1, 2, 3, 4, 5  # choice ids, in the poll's order


def test_the_default_rules_are_the_count_as_it_always_was() -> None:
    assert RankedRules() == RankedRules(PREVIOUS_THEN_POSITION, "", batch=False, until_two=False)
    profile = [((A,), 6), ((B,), 4), ((C,), 3), ((D, C), 1)]
    assert instant_runoff(profile, [A, B, C, D], RankedRules()) == instant_runoff(
        profile, [A, B, C, D]
    )


# Ties for fewest: what each rule does, and what the round records for a describer.


def test_a_tie_broken_by_an_earlier_round_records_the_tied_and_the_rule() -> None:
    # Round 2: B and C tie at 4; in round 1 C had 3 and B 4, so C goes.
    profile = [((A,), 6), ((B,), 4), ((C,), 3), ((D, C), 1)]
    for tie in (PREVIOUS_THEN_POSITION, PREVIOUS_THEN_LOT):
        runoff = instant_runoff(profile, [A, B, C, D], RankedRules(tie, seed="any"))
        assert runoff.rounds[0].tie is None  # D alone had the fewest
        assert runoff.rounds[1].eliminated == C
        assert runoff.rounds[1].tie == Tie((B, C), tie, "previous_rounds", (C,))


def test_a_tie_no_earlier_round_breaks_goes_by_position_under_the_default() -> None:
    runoff = instant_runoff([((A,), 3), ((B,), 2), ((C,), 2)], [A, B, C])
    assert runoff.rounds[0].eliminated == C  # listed last
    assert runoff.rounds[0].tie == Tie((B, C), PREVIOUS_THEN_POSITION, "position", (B, C))


def test_the_lots_ticket_is_sha256_of_seed_round_and_choice_id_as_text() -> None:
    # The recipe in docs/organisers.md, checked here with hashlib; `printf '%s' 'seed-1:1:3'
    # | sha256sum` prints the same.
    assert lot_hash("seed-1", 1, 3) == hashlib.sha256(b"seed-1:1:3").hexdigest()
    assert lot_hash("seed-1", 1, 3) == (
        "29dd0775dfffe9a7d91ce9fcb7db7473c8a78f23e21ccae22bea025e008f4225"
    )
    assert lot_hash("séance", 12, 407) == hashlib.sha256("séance:12:407".encode()).hexdigest()


@pytest.mark.parametrize(
    ("seed", "goes", "lot"),
    [
        # seed-1: C's ticket (29dd...) is lower than B's (e793...): C goes.
        (
            "seed-1",
            C,
            (
                (C, "29dd0775dfffe9a7d91ce9fcb7db7473c8a78f23e21ccae22bea025e008f4225"),
                (B, "e793f1ee6ca558c4ab45fc0b767366680c3fca19a88b2f34cbaeea8e4cb937a3"),
            ),
        ),
        # seed-3: B's (123c...) is lower than C's (5d09...): B goes, though C is listed last.
        (
            "seed-3",
            B,
            (
                (B, "123c015af34c5a55342d248ec6b68dfe02815f3342f9a7d12cd0c3d82039b0e0"),
                (C, "5d09ddd642a64488726cab8661f6c224b9c500bb1ad4981e34022314bd7384c1"),
            ),
        ),
    ],
)
def test_a_tie_no_earlier_round_breaks_goes_by_the_lot_lowest_ticket_first(seed, goes, lot) -> None:
    profile = [((A,), 3), ((B,), 2), ((C,), 2)]
    rules = RankedRules(PREVIOUS_THEN_LOT, seed=seed)
    runoff = instant_runoff(profile, [A, B, C], rules)
    assert runoff.rounds[0].eliminated == goes
    assert runoff.rounds[0].tie == Tie((B, C), PREVIOUS_THEN_LOT, "lot", (B, C), lot)
    assert instant_runoff(profile, [A, B, C], rules) == runoff  # the same draw every time


def test_the_lot_draws_only_among_those_the_earlier_rounds_left_tied() -> None:
    # Round 2: B, C and D tie at 4. In round 1 B had 4, C 3, D 3: B is safe; the lot is
    # between C and D only, with round 2's tickets.
    profile = [((A,), 9), ((B,), 4), ((C,), 3), ((D,), 3), ((E, C), 1), ((E, D), 1)]
    rules = RankedRules(PREVIOUS_THEN_LOT, seed="s")
    runoff = instant_runoff(profile, [A, B, C, D, E], rules)
    assert runoff.rounds[0].eliminated == E
    tie = runoff.rounds[1].tie
    assert tie is not None
    assert (tie.tied, tie.broken_by, tie.still_tied) == ((B, C, D), "lot", (C, D))
    tickets = sorted((lot_hash("s", 2, c), c) for c in (C, D))
    assert tie.lot == tuple((c, h) for h, c in tickets)
    assert runoff.rounds[1].eliminated == tickets[0][1]


def test_a_lot_needs_a_seed_and_a_tie_rule_must_be_known() -> None:
    with pytest.raises(ValueError, match="seed"):
        RankedRules(PREVIOUS_THEN_LOT)
    with pytest.raises(ValueError, match="unknown tie rule"):
        RankedRules("coin")


def test_eliminate_all_tied_drops_every_tied_choice_together_with_each_ones_transfers() -> None:
    # A 5, B 2, C 2, D 4 (13 ballots): B and C go together, B's to D and C's to A.
    profile = [((A,), 5), ((B, D), 2), ((C, A), 2), ((D,), 4)]
    runoff = instant_runoff(profile, [A, B, C, D], RankedRules(ELIMINATE_ALL_TIED))
    first, second = runoff.rounds
    assert first == Round(
        {A: 5, B: 2, C: 2, D: 4},
        0,
        eliminated=None,
        transfers={D: 2, A: 2},
        together=(B, C),
        by_choice=(Transfer(B, {D: 2}, 0), Transfer(C, {A: 2}, 0)),
        tie=Tie((B, C), ELIMINATE_ALL_TIED, "all_go"),
    )
    assert first.eliminations == first.by_choice
    assert second == Round({A: 7, D: 6}, 0)
    assert runoff.winner == A


def test_eliminate_all_tied_with_every_choice_tied_elects_nobody_and_says_who_tied() -> None:
    runoff = instant_runoff([((A,), 2), ((B,), 2)], [A, B], RankedRules(ELIMINATE_ALL_TIED))
    assert runoff.rounds == [Round({A: 2, B: 2}, 0, tie=Tie((A, B), ELIMINATE_ALL_TIED, "none_go"))]
    assert (runoff.winner, runoff.tied) == (None, (A, B))


# Batch elimination (Minneapolis 167.20, Maine): drop together all who cannot win.


BATCH_PROFILE = [((A,), 10), ((B,), 8), ((C, B), 4), ((D, A), 2), ((E, D), 1)]


def test_batch_elimination_drops_the_largest_group_whose_votes_together_trail_the_next() -> None:
    # Fewest first: E 1, D 2, C 4, B 8, A 10. E+D = 3 < C's 4, E+D+C = 7 < B's 8, and
    # E+D+C+B = 15 is not below A's 10: C, D and E go together in round 1.
    runoff = instant_runoff(BATCH_PROFILE, [A, B, C, D, E], RankedRules(batch=True))
    first, second, third = runoff.rounds
    assert first == Round(
        {A: 10, B: 8, C: 4, D: 2, E: 1},
        0,
        transfers={B: 4, A: 2},
        transferred_to_exhausted=1,
        together=(C, D, E),
        # E's ballot ranks D next, gone in the same round: it is exhausted, not D's.
        by_choice=(Transfer(C, {B: 4}, 0), Transfer(D, {A: 2}, 0), Transfer(E, {}, 1)),
    )
    # A and B tie at 12; round 1 had B at 8, fewer than A's 10: B goes.
    assert second.counts == {A: 12, B: 12}
    assert second.tie == Tie((A, B), PREVIOUS_THEN_POSITION, "previous_rounds", (B,))
    assert third == Round({A: 12}, exhausted=13)
    assert runoff.winner == A


def test_one_at_a_time_the_same_count_takes_two_rounds_more_to_the_same_end() -> None:
    # No majority before the last two here, so the last round is the same too.
    batch = instant_runoff(BATCH_PROFILE, [A, B, C, D, E], RankedRules(batch=True))
    single = instant_runoff(BATCH_PROFILE, [A, B, C, D, E])
    assert [r.eliminated for r in single.rounds] == [E, D, C, B, None]
    assert single.rounds[-1] == batch.rounds[-1]
    assert single.winner == batch.winner == A


def test_a_group_whose_votes_only_equal_the_next_ones_does_not_go_together() -> None:
    # D 2 + C 3 = 5, not fewer than B's 5; D+C+B = 10, not fewer than A's 10: D alone goes.
    profile = [((A,), 10), ((B,), 5), ((C,), 3), ((D, C), 2)]
    runoff = instant_runoff(profile, [A, B, C, D], RankedRules(batch=True))
    assert (runoff.rounds[0].eliminated, runoff.rounds[0].together) == (D, ())


# Continue until two remain (Maine, New York City): the last round is a two-way count.


def test_until_two_counts_on_past_a_majority_to_a_final_two_way_round() -> None:
    profile = [((A,), 6), ((B,), 3), ((C, B), 2)]
    assert len(instant_runoff(profile, [A, B, C]).rounds) == 1  # A: 6 of 11 at once
    runoff = instant_runoff(profile, [A, B, C], RankedRules(until_two=True))
    assert [r.eliminated for r in runoff.rounds] == [C, None]
    assert runoff.rounds[-1] == Round({A: 6, B: 5}, 0)
    assert runoff.winner == A


def test_until_two_keeps_two_when_batch_elimination_would_leave_one() -> None:
    # D 1 + C 2 + B 3 = 6 < A's 20, but that group would leave A alone: one at a time.
    profile = [((A,), 20), ((B,), 3), ((C,), 2), ((D,), 1)]
    runoff = instant_runoff(profile, [A, B, C, D], RankedRules(batch=True, until_two=True))
    assert [r.eliminated for r in runoff.rounds] == [D, C, None]
    assert runoff.rounds[-1].counts == {A: 20, B: 3}


def test_inactive_ballots_are_counted_by_the_reason_their_ranking_ended() -> None:
    profile: list[tuple[tuple[int, ...], int] | tuple[tuple[int, ...], int, str]] = [
        ((A, B), 3),
        ((B,), 2, "overvote"),
        ((C,), 1, "skipped"),
        ((), 1, "overvote"),
    ]
    runoff = instant_runoff(profile, [A, B, C])
    first, second = runoff.rounds
    # The empty ranking is inactive from round 1 on, for its overvote.
    assert (first.exhausted, first.inactive) == (1, {"overvote": 1})
    assert (first.eliminated, first.transferred_to_exhausted) == (C, 1)
    assert second == Round({A: 3, B: 2}, 2, inactive={"overvote": 1, "skipped": 1})


# Properties: pref-voting where its rule is ours, our default count where they must agree.


complete_profiles = st.integers(2, 5).flatmap(
    lambda n: st.lists(
        st.tuples(st.permutations(range(n)).map(tuple), st.integers(1, 6)),
        min_size=1,
        max_size=10,
    ).map(lambda ballots: (n, ballots))
)

partial_profiles = st.integers(2, 6).flatmap(
    lambda n: st.lists(
        st.tuples(
            st.permutations(range(n)).flatmap(
                lambda order: st.integers(0, len(order)).map(lambda k: tuple(order[:k]))
            ),
            st.integers(1, 6),
        ),
        min_size=1,
        max_size=12,
    ).map(lambda ballots: (n, ballots))
)


@hsettings(max_examples=300, deadline=None)
@given(complete_profiles)
def test_eliminating_all_tied_is_pref_votings_instant_runoff_on_complete_rankings(case) -> None:
    # pref-voting drops every tied-last choice at once, and with complete rankings no ballot
    # is exhausted, so its majority of all ballots is ours of the continuing ones.
    n, ballots = case
    ours = instant_runoff(ballots, list(range(n)), RankedRules(ELIMINATE_ALL_TIED))
    theirs = library_runoff(Profile([r for r, _ in ballots], rcounts=[c for _, c in ballots]))
    assert theirs == ([ours.winner] if ours.winner is not None else sorted(ours.tied))


@hsettings(max_examples=300, deadline=None)
@given(partial_profiles)
def test_counting_on_until_two_never_changes_the_winner(case) -> None:
    # A majority of the continuing ballots only grows as others go.
    n, ballots = case
    default = instant_runoff(ballots, list(range(n)))
    until_two = instant_runoff(ballots, list(range(n)), RankedRules(until_two=True))
    assert until_two.winner == default.winner
    assert until_two.rounds[: len(default.rounds) - 1] == default.rounds[:-1]
    if until_two.winner is not None:
        assert len(until_two.rounds[-1].counts) <= 2


@hsettings(max_examples=300, deadline=None)
@given(partial_profiles)
def test_batch_elimination_elects_whom_one_at_a_time_elects(case) -> None:
    # Those who cannot win would go one by one anyway, unless a majority ends that count
    # first: batch elimination has then dropped a few more. Compared where no tie arose,
    # since a tie looks back at rounds that batch elimination skips.
    n, ballots = case
    single = instant_runoff(ballots, list(range(n)))
    batch = instant_runoff(ballots, list(range(n)), RankedRules(batch=True))
    if any(r.tie for r in single.rounds + batch.rounds):
        return
    assert batch.winner == single.winner
    one_by_one = [r.eliminated for r in single.rounds if r.eliminated is not None]
    start = 0
    for counted in batch.rounds[:-1]:
        group = {move.choice for move in counted.eliminations}
        chunk = set(one_by_one[start : start + len(group)])
        # Each group is the next few one at a time drops, or all it still dropped.
        assert chunk == group or (start + len(group) > len(one_by_one) and chunk < group)
        start += len(group)
    assert start >= len(one_by_one)
    if start == len(one_by_one):  # the same choices left: the same last round
        assert batch.rounds[-1] == single.rounds[-1]


@hsettings(max_examples=200, deadline=None)
@given(partial_profiles, st.text(min_size=1, max_size=8))
def test_a_lot_decides_only_ties_and_every_ballot_is_accounted_for(case, seed) -> None:
    n, ballots = case
    lot = instant_runoff(ballots, list(range(n)), RankedRules(PREVIOUS_THEN_LOT, seed=seed))
    default = instant_runoff(ballots, list(range(n)))
    if not any(r.tie and r.tie.broken_by in ("lot", "position") for r in default.rounds):
        assert lot.winner == default.winner
        assert [(r.counts, r.eliminated) for r in lot.rounds] == [
            (r.counts, r.eliminated) for r in default.rounds
        ]
    total = sum(c for _, c in ballots)
    batch = instant_runoff(ballots, list(range(n)), RankedRules(batch=True))
    for counted in lot.rounds + batch.rounds:
        assert sum(counted.counts.values()) + counted.exhausted == total
        # Each eliminated choice's ballots all go somewhere: to a choice, or exhausted.
        for move in counted.eliminations:
            assert sum(move.to.values()) + move.exhausted == counted.counts[move.choice]
