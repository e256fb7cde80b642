"""A rating scale's summary from its counts per value. Pure functions: no database, no
Django."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ScaleSummary:
    mean: float | None
    median: float | None
    nps: int | None  # promoters (9-10) minus detractors (0-6), in % of ballots; 0-10 scales


def scale_summary(counts: dict[int, int], low: int, high: int) -> ScaleSummary:
    total = sum(counts.values())
    if not total:
        return ScaleSummary(None, None, None)
    mean = sum(value * n for value, n in counts.items()) / total
    median = _median(counts, total)
    nps = None
    if (low, high) == (0, 10):
        promoters = sum(n for value, n in counts.items() if value >= 9)
        detractors = sum(n for value, n in counts.items() if value <= 6)
        nps = round(100 * (promoters - detractors) / total)
    return ScaleSummary(round(mean, 2), median, nps)


def _median(counts: dict[int, int], total: int) -> float:
    """The middle value (of the two middle ones, their mean), walking the counts in order."""
    middle = [(total - 1) // 2, total // 2]
    found: list[int] = []
    seen = 0
    for value in sorted(counts):
        seen += counts[value]
        while len(found) < 2 and middle[len(found)] < seen:
            found.append(value)
    return (found[0] + found[1]) / 2
