"""Shares in percent: the one rounding rule of every kind. No database, no Django."""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction

SHARE_DECIMALS = 1  # shares are shown in tenths of a percent


def shares(counts: Sequence[int], total: int | None = None) -> list[float]:
    """Each count's share of `total` (default: their sum) in percent, to one decimal: the
    one rounding rule of every page, the live script, the API, the admin and the exports.

    When the counts make up the total (single choice, first preferences, a scale's values,
    a round's ballots) the shares add up to exactly 100.0 by the largest remainder method:
    each share is first rounded down, then the tenths still missing go one each to the
    largest remainders (a tie: to the larger count, then to the one listed first). Each
    share is then within 0.1 of its exact value. Otherwise (multiple choice: shares of the
    voters, adding up to more) each is rounded on its own, half up. Exact fractions, not
    floats: 9 of 16 is 56.25, which float rounding would make 56.2 here and 56.3 in a
    browser.
    """
    whole = sum(counts) if total is None else total
    if whole <= 0:
        return [0.0 for _ in counts]
    unit = 10**SHARE_DECIMALS
    exact = [Fraction(100 * unit * count, whole) for count in counts]
    if sum(counts) != whole:
        return [int(x + Fraction(1, 2)) / unit for x in exact]
    floors = [int(x) for x in exact]
    missing = 100 * unit - sum(floors)
    order = sorted(range(len(counts)), key=lambda i: (exact[i] - floors[i], counts[i], -i))
    for index in order[len(order) - missing :] if missing else []:
        floors[index] += 1
    return [floor / unit for floor in floors]
