"""What the pages show of a poll: its ballot form's inputs (the voting page, a session's
audience page) and its results drawn from a snapshot (the results page, the presenter's
view, the embeds). live.js draws the same markup from later snapshots."""

from __future__ import annotations

from typing import Any

from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _

from .models import Poll
from .selectors import ballot_rules, result_rows

NONE_YET = "\u2013"  # a dash, where a summary has no ballots to speak of

# What the header's total counts, per kind: (one, many).
UNITS = {
    Poll.Kind.SINGLE: (gettext_lazy("vote"), gettext_lazy("votes")),
    Poll.Kind.MULTIPLE: (gettext_lazy("voter"), gettext_lazy("voters")),
    Poll.Kind.RANKED: (gettext_lazy("ballot"), gettext_lazy("ballots")),
    Poll.Kind.SCALE: (gettext_lazy("rating"), gettext_lazy("ratings")),
}


def ordinal(n: int) -> str:
    """1st, 2nd... in the active language (a catalogue cannot hold every number)."""
    language = (get_language() or "en")[:2]
    if language == "de":
        return f"{n}."
    if language == "fr":
        return "1er" if n == 1 else f"{n}e"
    if language == "es":
        return f"{n}.ª"  # "opción": feminine
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def voting_form(
    poll: Any, *, ballot: list[int] | None, shown: list[Any] | None = None
) -> dict[str, Any]:
    """A poll's form for this voter: its kind's inputs with `ballot` marked (the voter's
    pending or stored one; or `shown`, the one a refused form posted), and whether the
    voter may (still) change it."""
    context: dict[str, Any] = {"ballot_template": f"polls/_ballot_{poll.kind}.html"}
    context["has_ballot"] = ballot is not None
    if poll.kind == poll.Kind.SINGLE:
        context["current_choice_id"] = ballot[0] if ballot else None
        labels = {c.id: c.label for c in poll.choices.all()}
        if ballot and ballot[0] in labels:
            context["your_ballot"] = _("You picked %(choice)s") % {"choice": labels[ballot[0]]}
    else:
        context.update(
            ballot_context(poll, ballot or [], (ballot or []) if shown is None else shown)
        )
    context["can_change"] = poll.allow_vote_change or not context["has_ballot"]
    return context


def ballot_context(poll: Any, stored: list[int], shown: list[Any]) -> dict[str, Any]:
    """What a kind's form shows: its inputs, with the stored ballot (or the posted one)."""
    rules = ballot_rules(poll=poll)
    shown_text = [str(item) for item in shown]
    choices = poll.choices.all()
    labels = {choice.id: choice.label for choice in choices}
    if poll.kind == poll.Kind.MULTIPLE:
        low, high = rules["min_picks"], rules["max_picks"]
        return {
            "rules": rules,
            "picks_hint": picks_hint(low, high, len(choices)),
            "options": [
                {
                    "id": c.id,
                    "label": c.label,
                    "checked": str(c.id) in shown_text,
                    "stored": c.id in stored,
                }
                for c in choices
            ],
            "your_ballot": _("You picked %(choices)s")
            % {"choices": ", ".join(labels[c] for c in stored if c in labels)},
        }
    if poll.kind == poll.Kind.RANKED:
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
    scale = rules["scale"]
    return {
        "rules": rules,
        "values": [
            {
                "value": value,
                "checked": str(value) in shown_text,
                "stored": value in stored,
                "end": scale["min_label"]
                if value == scale["min"]
                else scale["max_label"]
                if value == scale["max"]
                else "",
            }
            for value in range(scale["min"], scale["max"] + 1)
        ],
        "scale": scale,
        "your_ballot": _("You gave %(value)s") % {"value": stored[0]} if stored else "",
    }


def ranking(stored: list[int], labels: dict[int, str]) -> str:
    return ", ".join(
        f"{ordinal(n)} {labels[c]}" for n, c in enumerate(stored, start=1) if c in labels
    )


def picks_hint(low: int, high: int, choices: int) -> str:
    if low == high:
        return _("Pick exactly %(low)s.") % {"low": low}
    if low == 1:
        if high >= choices:
            return _("Pick as many as you like.")
        return _("Pick up to %(high)s.") % {"high": high}
    if high >= choices:
        return _("Pick at least %(low)s.") % {"low": low}
    return _("Pick from %(low)s to %(high)s.") % {"low": low, "high": high}


def results_context(poll: Any, snapshot: dict[str, Any]) -> dict[str, Any]:
    """The context the results/_results_<kind>.html partials draw a snapshot with."""
    one, many = UNITS[Poll.Kind(poll.kind)]
    context: dict[str, Any] = {
        "snapshot": snapshot,
        "rows": result_rows(snapshot),
        "kind_template": f"results/_results_{poll.kind}.html",
        "unit_one": one,
        "unit_many": many,
        "unit": one if snapshot["total"] == 1 else many,
    }
    if poll.kind == Poll.Kind.RANKED:
        context["ranked"] = ranked_view(snapshot)
    elif poll.kind == Poll.Kind.SCALE:
        context["scale"] = scale_view(snapshot)
    return context


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


def scale_view(snapshot: dict[str, Any]) -> dict[str, Any]:
    """The distribution as columns (the tallest full height), and the summary as text."""
    scale = snapshot["scale"]
    nps_scale = (scale["min"], scale["max"]) == (0, 10)
    tallest = max((v["votes"] for v in snapshot["values"]), default=0)
    return {
        "tallest": tallest,
        "nps_scale": nps_scale,
        "mean": _number(snapshot["mean"]),
        "median": _number(snapshot["median"]),
        "nps": _nps(snapshot["nps"]),
        "values": [
            {
                "value": v["value"],
                "votes": v["votes"],
                "percent": v["percent"],
                "group": _nps_group(v["value"]) if nps_scale else "",
            }
            for v in snapshot["values"]
        ],
    }


def _number(value: float | None) -> str:
    """At most two decimals, none when whole: as live.js writes it."""
    if value is None:
        return NONE_YET
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _nps(nps: int | None) -> str:
    if nps is None:
        return NONE_YET
    return f"{nps:+d}".replace("-", "\u2212") if nps else "0"  # a minus sign, as live.js


def _nps_group(value: int) -> str:
    return "promoter" if value >= 9 else "passive" if value >= 7 else "detractor"
