"""Counting rules, one module per kind that needs one. Pure functions: no database, no Django."""

from polls.counting.ranked import (
    SHARE_DECIMALS,
    Profile,
    Round,
    Runoff,
    ScaleSummary,
    borda,
    instant_runoff,
    scale_summary,
    shares,
)

__all__ = [
    "SHARE_DECIMALS",
    "Profile",
    "Round",
    "Runoff",
    "ScaleSummary",
    "borda",
    "instant_runoff",
    "scale_summary",
    "shares",
]
