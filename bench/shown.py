"""Cast → shown for many watchers (the room's freshness part, issue 42): which results
message first showed each accepted vote on each phone, as a histogram in whole
milliseconds that room clients add up and the bench merges.

With distinct voters every stored vote raises the poll's total by one, so the k-th
accepted vote (by its 202's arrival) counts as shown at the first message whose total
reaches base + k, as the freshness phase counts it (bench/phases.py); a message before
the 202 counts as 0 ms. Per phone that is one sorted search, so 5,000 phones x 10,000
votes cost the clients a second or two after the run, never during it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

MOST_MS = 60_000  # longer delays are counted in the last bin


class Histogram:
    """Delays in whole milliseconds (0 .. MOST_MS), and the votes never shown."""

    def __init__(self) -> None:
        self.counts = np.zeros(MOST_MS + 1, dtype=np.int64)
        self.unseen = 0

    def add(self, accepted: Sequence[float], base: int, shown: Sequence[tuple[float, int]]) -> None:
        """One watcher's messages, (arrival, total) in arrival order."""
        if not accepted:
            return
        if not shown:
            self.unseen += len(accepted)
            return
        votes = np.asarray(accepted, dtype=np.float64)
        need = base + np.arange(1, len(votes) + 1)
        times = np.fromiter((t for t, _ in shown), dtype=np.float64, count=len(shown))
        totals = np.fromiter((n for _, n in shown), dtype=np.int64, count=len(shown))
        # A page never goes back (older seqs are dropped), but be sure: searchsorted needs
        # the totals in order.
        totals = np.maximum.accumulate(totals)
        at = np.searchsorted(totals, need, side="left")
        seen = at < len(totals)
        self.unseen += int(np.count_nonzero(~seen))
        delays = np.maximum(times[at[seen]] - votes[seen], 0.0)
        ms = np.minimum(np.rint(delays * 1000), MOST_MS).astype(np.int64)
        self.counts += np.bincount(ms, minlength=MOST_MS + 1)

    def to_json(self) -> dict[str, Any]:
        (bins,) = np.nonzero(self.counts)
        return {"ms": [[int(b), int(self.counts[b])] for b in bins], "unseen": self.unseen}

    @classmethod
    def merged(cls, parts: Iterable[dict[str, Any]]) -> Histogram:
        whole = cls()
        for part in parts:
            for ms, n in part["ms"]:
                whole.counts[ms] += n
            whole.unseen += part["unseen"]
        return whole

    @property
    def seen(self) -> int:
        return int(self.counts.sum())

    def percentile(self, q: float) -> float:
        """The q-th percentile (0-100) in ms by nearest rank, as bench.phases.pct."""
        n = self.seen
        if not n:
            return 0.0
        rank = min(n - 1, max(0, round(q / 100 * n + 0.5) - 1))
        return float(np.searchsorted(np.cumsum(self.counts), rank + 1, side="left"))

    def figures(self) -> dict[str, Any]:
        n = self.seen
        mean = float((self.counts * np.arange(MOST_MS + 1)).sum() / n) if n else 0.0
        (bins,) = np.nonzero(self.counts)
        return {
            "p50_ms": self.percentile(50),
            "p99_ms": self.percentile(99),
            "max_ms": float(bins[-1]) if n else 0.0,
            "mean_ms": round(mean, 1),
            "shown": n,
            "never_shown": self.unseen,
        }


def first_shown(first: dict[int, float]) -> list[tuple[float, int]]:
    """From each total's earliest arrival on any phone, the earliest moment any phone
    showed at least that total, in order of totals (what Histogram.add needs): the
    pipeline's part of the delay, without the fan-out's."""
    ordered = sorted(first.items())
    earliest, out = float("inf"), []
    for total, at in reversed(ordered):
        earliest = min(earliest, at)
        out.append((earliest, total))
    out.reverse()
    return out
