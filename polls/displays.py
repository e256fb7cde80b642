"""What the pages show of a poll: its ballot form's inputs (the voting page, a session's
audience page) and its results drawn from a snapshot (the results page, the presenter's
view, the embeds). Each kind (polls.kinds) says what its templates draw; live.js draws
the same markup from later snapshots."""

from __future__ import annotations

from typing import Any

from .kinds import kind_for, ordinal
from .selectors import ballot_rules, result_rows

__all__ = ["ballot_context", "ordinal", "results_context", "voting_form"]


def voting_form(
    poll: Any, *, ballot: list[Any] | None, shown: list[Any] | None = None
) -> dict[str, Any]:
    """A poll's form for this voter: its kind's inputs with `ballot` marked (the voter's
    pending or stored one; or `shown`, the one a refused form posted), and whether the
    voter may (still) change it."""
    kind = kind_for(poll)
    context: dict[str, Any] = {
        "ballot_template": kind.ballot_template,
        "ballot_scripts": kind.scripts,
    }
    context["has_ballot"] = ballot is not None
    context.update(ballot_context(poll, ballot or [], (ballot or []) if shown is None else shown))
    context["can_change"] = poll.allow_vote_change or not context["has_ballot"]
    return context


def ballot_context(poll: Any, stored: list[Any], shown: list[Any]) -> dict[str, Any]:
    """What a kind's form shows: its inputs, with the stored ballot (or the posted one)."""
    return kind_for(poll).ballot_context(poll, ballot_rules(poll=poll), stored, shown)


def results_context(poll: Any, snapshot: dict[str, Any]) -> dict[str, Any]:
    """The context a kind's results template draws a snapshot with."""
    kind = kind_for(poll)
    one, many = kind.units
    return {
        "snapshot": snapshot,
        "rows": result_rows(snapshot),
        "kind_template": kind.results_template,
        "unit_one": one,
        "unit_many": many,
        "unit": one if snapshot["total"] == 1 else many,
        **kind.results_view(snapshot),
    }
