"""Ranked choice: rank some or all of the choices, best first. The ballot: the ranking.
Results: instant runoff and Borda points (polls.counting.ranked). Option: max_ranks (all)."""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from polls.counting import ranked as counting
from polls.models import Poll

from .base import (
    PERCENT,
    UNKNOWN_CHOICE,
    BallotProblem,
    BallotShapeError,
    Counted,
    Kind,
    Option,
    ordinal,
    with_shares,
)


def ranks_allowed(poll: Poll, choices: int) -> int:
    """How many choices a voter may rank."""
    return min(poll.options.get("max_ranks") or choices, choices)


class Ranked(Kind):
    name = "ranked"
    admin_help = "rank up to the given number of choices (results: instant runoff and Borda)."
    units = (gettext_lazy("ballot"), gettext_lazy("ballots"))
    api_field = "ranking"
    api_shape = '{"ranking": [<choice id>, ...], best first}'
    api_schema = {"type": "array", "items": {"type": "integer"}, "minItems": 1}
    api_words = "{ranking: best first}"
    results_schema = {
        "rounds": {"type": "array", "items": {"$ref": "#/components/schemas/Round"}},
        "winner": {"type": ["integer", "null"]},
    }
    choice_schema = {"borda": {"type": "integer", "minimum": 0}}
    components = {
        "Count": {
            "type": "object",
            "additionalProperties": False,
            "required": ["id", "votes"],
            "properties": {
                "id": {"type": "integer"},
                "votes": {"type": "integer", "minimum": 0},
                "percent": PERCENT,
            },
        },
        "Round": {
            "type": "object",
            "additionalProperties": False,
            "required": [
                "counts",
                "exhausted",
                "eliminated",
                "transfers",
                "transferred_to_exhausted",
            ],
            "properties": {
                "counts": {"type": "array", "items": {"$ref": "#/components/schemas/Count"}},
                "exhausted": {"type": "integer", "minimum": 0},
                "eliminated": {"type": ["integer", "null"]},
                "transfers": {"type": "array", "items": {"$ref": "#/components/schemas/Count"}},
                "transferred_to_exhausted": {"type": "integer", "minimum": 0},
            },
        },
    }
    rules_schema = {"max_ranks": {"type": "integer"}}
    result_keys = ("rounds", "winner")
    options = (
        Option(
            "max_ranks",
            lambda: forms.IntegerField(
                label=gettext_lazy("Most ranks"),
                required=False,
                min_value=1,
                help_text=gettext_lazy("Ranked choice (default: all)."),
            ),
            "ranked: how many a voter ranks (all)",
        ),
    )

    def option_problems(self, options: dict[str, Any]) -> dict[str, str]:
        most = options.get("max_ranks")
        if most is not None and most < 1:
            return {"max_ranks": "A voter ranks at least one choice."}
        return {}

    def choices_problem(self, poll: Poll, choices: int) -> str:
        most = poll.options.get("max_ranks")
        if most is not None and most > choices:
            return _(
                "max_ranks: %(most)s is more than the %(choices)s choices. Lower the most ranks, "
                "or add choices."
            ) % {"most": most, "choices": choices}
        return ""

    def rules(self, poll: Poll, choices: int) -> dict[str, Any]:
        return {"max_ranks": ranks_allowed(poll, choices)}

    def from_form(self, poll: Poll, data: Any) -> list[Any]:
        # One select per rank, "1st choice" first; the ranks are filled in order.
        ranks = self.posted(poll, data)
        filled = [rank for rank in ranks if rank]
        if not filled:
            raise BallotShapeError(_("Choose your 1st choice at least."))
        last = max(n for n, rank in enumerate(ranks) if rank)
        if last + 1 != len(filled):
            gap = ranks.index("") + 1
            raise BallotShapeError(
                _("Fill the ranks in order: rank %(gap)s is empty, a later one is not.")
                % {"gap": gap}
            )
        return filled

    def posted(self, poll: Poll, data: Any) -> list[Any]:
        return [data.get(f"rank{n}", "") for n in range(1, len(poll.choices.all()) + 1)]

    def normalise(self, poll: Poll, choice_ids: Sequence[int], ballot: Sequence[Any]) -> tuple:
        known = set(choice_ids)
        if any(choice not in known for choice in ballot):
            raise BallotProblem(str(UNKNOWN_CHOICE), unknown_choice=True)
        if len(set(ballot)) != len(ballot):
            raise BallotProblem(_("Rank each choice at most once."))
        most = ranks_allowed(poll, len(known))
        if not 1 <= len(ballot) <= most:
            raise BallotProblem(
                _("Rank from 1 to %(most)s of the choices, best first.") % {"most": most}
            )
        return tuple(ballot)

    def counted(self, ballot: Sequence[Any]) -> Counted:
        return Counted((ballot[0],), ranking=tuple(ballot))

    def random_ballot(self, poll: Poll, rng: random.Random, choice_ids: list[int]) -> list[Any]:
        return rng.sample(choice_ids, rng.randint(1, ranks_allowed(poll, len(choice_ids))))

    def description(self, poll: Poll, labels: list[str]) -> str:
        return _("Rank %(choices)s") % {"choices": ", ".join(labels)}

    # --- results ----------------------------------------------------------------------

    def snapshot_part(
        self,
        poll: Poll,
        candidates: list[int],
        rankings: list[tuple[tuple[int, ...], int]],
        values: dict[int, int],
    ) -> dict[str, Any]:
        runoff = counting.instant_runoff(rankings, candidates)
        return {
            "rounds": [
                {
                    "counts": with_shares(
                        [{"id": c, "votes": r.counts[c]} for c in candidates if c in r.counts]
                    ),
                    "exhausted": r.exhausted,
                    "eliminated": r.eliminated,
                    "transfers": [
                        {"id": cid, "votes": r.transfers[cid]}
                        for cid in candidates
                        if cid in r.transfers
                    ],
                    "transferred_to_exhausted": r.transferred_to_exhausted,
                }
                for r in runoff.rounds
            ],
            "winner": runoff.winner,
        }

    def add_to_choices(
        self, choices: list[dict[str, Any]], rankings: list[tuple[tuple[int, ...], int]]
    ) -> None:
        points = counting.borda(rankings, [c["id"] for c in choices])
        for choice in choices:
            choice["borda"] = points[choice["id"]]

    def final_summary(self, snapshot: dict[str, Any]) -> dict[str, Any]:
        final: dict[str, Any] = {}
        labels = {c["id"]: c["label"] for c in snapshot["choices"]}
        if snapshot["winner"] is not None:
            final["winner"] = labels.get(snapshot["winner"], "")
            final["winner_note"] = ngettext(
                "won after %(rounds)s round of instant runoff",
                "won after %(rounds)s rounds of instant runoff",
                len(snapshot["rounds"]),
            ) % {"rounds": len(snapshot["rounds"])}
        final["summary"] = _("Bars: first preferences.")
        return final

    def results_view(self, snapshot: dict[str, Any]) -> dict[str, Any]:
        return {"ranked": ranked_view(snapshot)}

    # --- the form ---------------------------------------------------------------------

    def ballot_context(
        self, poll: Poll, rules: dict[str, Any], stored: list[Any], shown: list[Any]
    ) -> dict[str, Any]:
        shown_text = [str(item) for item in shown]
        choices = poll.choices.all()
        labels = {choice.id: choice.label for choice in choices}
        most = rules["max_ranks"]
        return {
            "rules": rules,
            "ranks": [
                {
                    "name": f"rank{n}",
                    "label": _("%(ordinal)s choice") % {"ordinal": ordinal(n)},
                    "selected": shown_text[n - 1] if n <= len(shown_text) else "",
                }
                for n in range(1, most + 1)
            ],
            "ranks_hint": (
                _("Rank the choices, best first. You need not rank them all.")
                if most >= len(choices)
                else _("Rank up to %(most)s of the choices, best first.") % {"most": most}
            ),
            "your_ballot": _("Your ranking: %(ranking)s")
            % {
                "ranking": ", ".join(
                    f"{ordinal(n)} {labels[c]}"
                    for n, c in enumerate(stored, start=1)
                    if c in labels
                )
            },
        }

    # --- exports ----------------------------------------------------------------------

    def export_header(self, labels: list[str]) -> list[str]:
        # pref-voting's and pyrcv's rank-column form; "skipped" for a rank left empty.
        return ["ballot", *(f"rank{n}" for n in range(1, len(labels) + 1))]

    def export_row(self, ballot: Sequence[Any], labels: dict[int, str]) -> list[Any]:
        ranked = [labels.get(c, "?") for c in ballot]
        return [*ranked, *["skipped"] * (len(labels) - len(ranked))]

    def board_entry(self, ballot: Sequence[Any], labels: dict[int, str]) -> str | None:
        return " > ".join(labels.get(c, "?") for c in ballot)


def ranked_view(snapshot: dict[str, Any]) -> dict[str, Any]:
    """The runoff as a person reads it: each round's continuing choices with the votes
    they gained from the choice eliminated in the round before, the rounds as a table,
    and the first preferences with Borda points. live.js `rankedView` is the same."""
    labels = {c["id"]: c["label"] for c in snapshot["choices"]}
    rounds = snapshot["rounds"]
    winner = snapshot["winner"]
    shown = []
    for index, current in enumerate(rounds):
        before = rounds[index - 1] if index else None
        gained = {t["id"]: t["votes"] for t in before["transfers"]} if before else {}
        source = labels.get(before["eliminated"], "") if before else ""
        active = sum(c["votes"] for c in current["counts"])
        last = index == len(rounds) - 1
        out = current["eliminated"]
        shown.append(
            {
                "number": index + 1,
                "active": active,
                "note": _round_note(labels, current, winner if last else None, last),
                "rows": [
                    {
                        "id": c["id"],
                        "label": labels.get(c["id"], ""),
                        "votes": c["votes"],
                        "percent": c["percent"],
                        "gain": gained.get(c["id"], 0),
                        "source": source,
                        "eliminated": c["id"] == out,
                        "winner": last and c["id"] == winner,
                        "outflow": _outflow(labels, current) if c["id"] == out else "",
                    }
                    for c in current["counts"]
                ],
                "exhausted": current["exhausted"],
                "exhausted_gain": before["transferred_to_exhausted"] if before else 0,
                "source": source,
            }
        )
    return {
        "outcome": _outcome(labels, rounds, winner),
        "rounds": shown,
        "table": _rounds_table(snapshot),
        "prefs": [
            {
                "id": c["id"],
                "label": c["label"],
                "votes": c["votes"],
                "percent": c["percent"],
                "borda": c["borda"],
            }
            for c in snapshot["choices"]
        ],
    }


def _outcome(labels: dict[int, str], rounds: list[dict[str, Any]], winner: int | None) -> str:
    # The same words as live.js (outcomeText), in both catalogues (django, djangojs).
    if not rounds:
        return _("No ballots yet.")
    if winner is None:
        return _("No winner: every ballot ran out of choices still in the count.")
    name = labels.get(winner, "")
    if len(rounds) == 1:
        return _("%(winner)s wins in the first round.") % {"winner": name}
    return _("%(winner)s wins in round %(count)s.") % {"winner": name, "count": len(rounds)}


def _round_note(
    labels: dict[int, str], current: dict[str, Any], winner: int | None, last: bool
) -> str:
    if current["eliminated"] is not None:
        return _("%(choice)s eliminated") % {"choice": labels.get(current["eliminated"], "")}
    if winner is not None:
        return _("%(choice)s has more than half") % {"choice": labels.get(winner, "")}
    return _("No ballots left in the count") if last else ""


def _outflow(labels: dict[int, str], current: dict[str, Any]) -> str:
    """Where the eliminated choice's ballots go next round."""
    parts = [f"{labels.get(t['id'], '')} +{t['votes']}" for t in current["transfers"]]
    if current["transferred_to_exhausted"]:
        parts.append(_("exhausted +%(votes)s") % {"votes": current["transferred_to_exhausted"]})
    return _("Its ballots go to: %(parts)s") % {"parts": ", ".join(parts)} if parts else ""


def _rounds_table(snapshot: dict[str, Any]) -> dict[str, Any]:
    """One row per choice, one column per round: its votes (and gain), or out."""
    rounds = snapshot["rounds"]
    winner = snapshot["winner"]
    rows = []
    for choice in snapshot["choices"]:
        cells = []
        for index, current in enumerate(rounds):
            counts = {c["id"]: c["votes"] for c in current["counts"]}
            before = rounds[index - 1] if index else None
            gained = {t["id"]: t["votes"] for t in before["transfers"]} if before else {}
            cid = choice["id"]
            cells.append(
                {
                    "votes": counts.get(cid),
                    "gain": gained.get(cid, 0),
                    "out": current["eliminated"] == cid,
                    "won": index == len(rounds) - 1 and winner == cid,
                }
            )
        rows.append({"id": choice["id"], "label": choice["label"], "cells": cells})
    return {
        "numbers": list(range(1, len(rounds) + 1)),
        "rows": rows,
        "exhausted": [r["exhausted"] for r in rounds],
    }
