"""Counting rules, Django-free (no database, no Django: the receipts' stand-alone verifier
runs them): the shares every kind shows, and one module per kind that needs its own rules
(ranked: instant runoff and Borda; scale: mean, median, NPS). Only polls.kinds uses them.
"""

from polls.counting.ranked import Profile, Round, Runoff, borda, instant_runoff
from polls.counting.scale import ScaleSummary, scale_summary
from polls.counting.shares import SHARE_DECIMALS, shares

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
