"""The room's cast → shown count (bench/shown.py): each accepted vote is shown on a
phone by the first results message whose total reaches it; the clients' histograms add
up to the figures over every (vote, phone) pair, as bench.phases.pct would give."""

from __future__ import annotations

import random

from bench import shown
from bench.phases import pct


def test_each_vote_is_shown_by_the_first_message_that_counts_it() -> None:
    histogram = shown.Histogram()
    accepted = [10.000, 10.010, 10.020, 10.030]
    # base 5: the votes are shown at totals 6, 7, 8, 9; the last never is.
    messages = [(9.990, 6), (10.050, 6), (10.100, 8), (10.400, 8)]
    histogram.add(accepted, 5, messages)
    assert histogram.to_json() == {"ms": [[0, 1], [80, 1], [90, 1]], "unseen": 1}
    assert histogram.figures()["never_shown"] == 1
    assert histogram.figures()["shown"] == 3


def test_a_phone_with_no_message_shows_nothing_and_no_votes_count_nothing() -> None:
    histogram = shown.Histogram()
    histogram.add([1.0, 2.0], 0, [])
    histogram.add([], 0, [(1.0, 1)])
    assert histogram.seen == 0
    assert histogram.unseen == 2
    assert histogram.figures()["p99_ms"] == 0.0


def test_merged_histograms_give_the_percentiles_of_every_pair() -> None:
    rng = random.Random(42)
    accepted = sorted(rng.uniform(0, 5) for _ in range(500))
    parts, delays = [], []
    for _client in range(3):
        histogram = shown.Histogram()
        for _phone in range(4):
            lag = rng.uniform(0.01, 0.3)
            messages = [(at + lag, k) for k, at in enumerate(accepted, start=1) if k % 7 == 0]
            messages.append((accepted[-1] + lag, len(accepted)))
            histogram.add(accepted, 0, messages)
            at = 0
            for k, vote in enumerate(accepted, start=1):
                while messages[at][1] < k:
                    at += 1
                delays.append(round((messages[at][0] - vote) * 1000))
        parts.append(histogram.to_json())
    whole = shown.Histogram.merged(parts)
    assert whole.seen == len(delays) == 3 * 4 * 500
    for q in (50, 99):
        assert whole.percentile(q) == pct([float(d) for d in delays], q)
    assert whole.figures()["max_ms"] == max(delays)


def test_the_first_phone_is_the_earliest_to_show_at_least_each_total() -> None:
    # Total 3 reached one phone before total 2 reached any: a vote needing 2 was shown then.
    first = {1: 1.0, 2: 3.0, 3: 2.0, 4: 5.0}
    assert shown.first_shown(first) == [(1.0, 1), (2.0, 2), (2.0, 3), (5.0, 4)]
    histogram = shown.Histogram()
    histogram.add([0.5, 1.5, 1.8, 4.0], 0, shown.first_shown(first))
    assert histogram.to_json()["ms"] == [[200, 1], [500, 2], [1000, 1]]
