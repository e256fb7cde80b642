"""One rounding rule for every share shown (polls.counting.shares): the page, the live
script (which takes the server's shares), the API, the admin and the exports."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from fractions import Fraction

import pytest
from django.test import Client
from hypothesis import assume, given
from hypothesis import strategies as st

from polls.counting import shares
from polls.export import export_rows
from polls.models import Poll
from tests.support.votes import stored_vote

counts_lists = st.lists(st.integers(min_value=0, max_value=10_000), min_size=1, max_size=12)


@given(counts_lists.filter(lambda counts: sum(counts) > 0))
def test_shares_of_one_whole_add_up_to_exactly_100_and_each_is_within_a_tenth(
    counts: list[int],
) -> None:
    shown = shares(counts)
    # In tenths, as shown: exactly 100.0 (Decimal of the printed value, no float sums).
    assert sum(Decimal(str(share)) for share in shown) == Decimal("100.0")
    for count, share in zip(counts, shown, strict=True):
        exact = Fraction(100 * count, sum(counts))
        assert abs(Fraction(str(share)) - exact) < Fraction(1, 10)
        assert Decimal(str(share)) == Decimal(str(share)).quantize(Decimal("0.1"))


@given(counts_lists.filter(lambda counts: sum(counts) > 0))
def test_a_larger_count_never_shows_a_smaller_share(counts: list[int]) -> None:
    shown = shares(counts)
    for a, share_a in zip(counts, shown, strict=True):
        for b, share_b in zip(counts, shown, strict=True):
            if a > b:
                assert share_a >= share_b


def test_the_case_that_disagreed_nine_of_sixteen() -> None:
    # 56.25 / 43.75: the admin and CSV said 56.2, the live page 56.3, adding to 100.1.
    assert shares([9, 7]) == [56.3, 43.7]


def test_ties_for_the_last_tenth_go_to_the_choice_listed_first() -> None:
    assert shares([1, 1, 1]) == [33.4, 33.3, 33.3]


def test_no_votes_are_zero_shares() -> None:
    assert shares([0, 0, 0]) == [0.0, 0.0, 0.0]


@given(
    st.lists(st.integers(min_value=0, max_value=500), min_size=1, max_size=8),
    st.integers(min_value=1, max_value=1000),
)
def test_shares_of_voters_who_pick_several_are_each_rounded_half_up(
    picks: list[int], extra_voters: int
) -> None:
    voters = max(picks) + extra_voters  # more voters than any choice's picks
    assume(sum(picks) != voters)  # else each voter picked one: the shares of one whole
    for count, share in zip(picks, shares(picks, voters), strict=True):
        exact = Fraction(100 * count, voters)
        assert abs(Fraction(str(share)) - exact) <= Fraction(1, 20)


@pytest.mark.django_db
def test_nine_of_sixteen_shows_the_same_shares_on_every_surface(
    client: Client, admin_client: Client, make_poll: Callable[..., Poll]
) -> None:
    poll = make_poll(labels=("Cats", "Dogs"))
    for n in range(16):
        stored_vote(poll, "Cats" if n < 9 else "Dogs", f"anon:{n}")
    api = client.get(f"/api/polls/{poll.slug}/results").json()
    assert [c["percent"] for c in api["choices"]] == [56.3, 43.7]
    page = client.get(f"/polls/{poll.slug}/results/").content.decode()
    assert '<span class="percent">56.3</span>' in page
    assert '<span class="percent">43.7</span>' in page
    assert [r["percent"] for r in export_rows(polls=[poll])] == [56.3, 43.7]
    change = admin_client.get(f"/admin/polls/poll/{poll.pk}/change/").content.decode()
    assert "56.3%" in change
    assert "43.7%" in change
    assert "56.2" not in change
