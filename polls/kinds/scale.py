"""Rating scale: one value in a range, no choices. The ballot: (value,). Results: the
distribution, mean, median and, on a 0-10 scale, the NPS (polls.counting.scale).
Options: scale_min (1), scale_max (5), scale_min_label, scale_max_label."""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from polls.counting import scale as counting
from polls.models import Poll

from .base import (
    PERCENT,
    BallotProblem,
    BallotShapeError,
    Counted,
    Kind,
    Option,
    as_id,
    with_shares,
)

# The most values a rating scale may have (0-10 for NPS has 11).
MAX_SCALE_VALUES = 21
NONE_YET = "\u2013"  # a dash, where a summary has no ballots to speak of


def scale_range(poll: Poll) -> tuple[int, int]:
    """The scale's lowest and highest value (1 and 5 unless set)."""
    low, high = poll.options.get("scale_min"), poll.options.get("scale_max")
    return (1 if low is None else low), (5 if high is None else high)


class Scale(Kind):
    name = "scale"
    admin_help = "one value in the range, with no choices."
    units = (gettext_lazy("rating"), gettext_lazy("ratings"))
    api_field = "value"
    api_shape = '{"value": <number>}'
    api_schema = {"type": "integer"}
    api_words = "{value}"
    rules_schema = {"scale": {"$ref": "#/components/schemas/Scale"}}
    results_schema = {
        "scale": {"$ref": "#/components/schemas/Scale"},
        "values": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["value", "votes", "percent"],
                "properties": {
                    "value": {"type": "integer"},
                    "votes": {"type": "integer", "minimum": 0},
                    "percent": PERCENT,
                },
            },
        },
        "mean": {"type": ["number", "null"]},
        "median": {"type": ["number", "null"]},
        "nps": {"type": ["integer", "null"]},
    }
    components = {
        "Scale": {
            "type": "object",
            "additionalProperties": False,
            "required": ["min", "max", "min_label", "max_label"],
            "properties": {
                "min": {"type": "integer"},
                "max": {"type": "integer"},
                "min_label": {"type": "string"},
                "max_label": {"type": "string"},
            },
        }
    }
    has_choices = False
    result_keys = ("scale", "values", "mean", "median", "nps")
    options = (
        Option(
            "scale_min",
            lambda: forms.IntegerField(label=gettext_lazy("Lowest value"), required=False),
            "scale: the lowest value (1)",
        ),
        Option(
            "scale_max",
            lambda: forms.IntegerField(
                label=gettext_lazy("Highest value"),
                required=False,
                help_text=gettext_lazy("Rating scale (default 1 to 5)."),
            ),
            "scale: the highest value (5; 0 to 10 is an NPS)",
        ),
        Option(
            "scale_min_label",
            lambda: forms.CharField(
                label=gettext_lazy("What the lowest value means"), required=False, max_length=40
            ),
            "scale: what the lowest value means",
            whole=False,
        ),
        Option(
            "scale_max_label",
            lambda: forms.CharField(
                label=gettext_lazy("What the highest value means"), required=False, max_length=40
            ),
            "scale: what the highest value means",
            whole=False,
        ),
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--scale",
            nargs=2,
            type=int,
            metavar=("MIN", "MAX"),
            help="scale: the lowest and highest value (1 5; 0 10 for an NPS)",
        )
        parser.add_argument(
            "--scale-labels",
            nargs=2,
            metavar=("LOW", "HIGH"),
            help="scale: what the lowest and highest value mean",
        )

    def options_from_arguments(self, arguments: dict[str, Any]) -> dict[str, Any]:
        low, high = arguments.get("scale") or (None, None)
        low_label, high_label = arguments.get("scale_labels") or ("", "")
        return {
            "scale_min": low,
            "scale_max": high,
            "scale_min_label": low_label,
            "scale_max_label": high_label,
        }

    def option_problems(self, options: dict[str, Any]) -> dict[str, str]:
        low, high = options.get("scale_min"), options.get("scale_max")
        low, high = (1 if low is None else low), (5 if high is None else high)
        if not low < high:
            return {"scale_max": "The highest value must be above the lowest."}
        if high - low + 1 > MAX_SCALE_VALUES:
            return {"scale_max": f"A scale has at most {MAX_SCALE_VALUES} values."}
        for name in ("scale_min_label", "scale_max_label"):
            if len(options.get(name) or "") > 40:
                return {name: "At most 40 characters."}
        return {}

    def choices_problem(self, poll: Poll, choices: int) -> str:
        return _("A rating scale has values, not choices: give no choices.") if choices else ""

    def rules(self, poll: Poll, choices: int) -> dict[str, Any]:
        low, high = scale_range(poll)
        return {
            "scale": {
                "min": low,
                "max": high,
                "min_label": poll.options.get("scale_min_label") or "",
                "max_label": poll.options.get("scale_max_label") or "",
            }
        }

    def from_api(self, body: dict[str, Any]) -> list[Any]:
        return [body[self.api_field]]

    def from_form(self, poll: Poll, data: Any) -> list[Any]:
        return [data.get("value")]

    def posted(self, poll: Poll, data: Any) -> list[Any]:
        return [data.get("value", "")]

    def item(self, value: Any) -> int:
        text = value.strip() if isinstance(value, str) else None
        if text is not None and text.startswith("-"):  # a value may be negative
            if not text[1:]:
                raise self._bad_item()
            return -as_id(text[1:], self._bad_item)
        return as_id(value, self._bad_item)

    def _bad_item(self) -> BallotShapeError:
        return BallotShapeError(_("The value must be a whole number."))

    def normalise(self, poll: Poll, choice_ids: Sequence[int], ballot: Sequence[Any]) -> tuple:
        low, high = scale_range(poll)
        if len(ballot) != 1 or not low <= ballot[0] <= high:
            raise BallotProblem(
                _("Give one value from %(low)s to %(high)s.") % {"low": low, "high": high}
            )
        return (ballot[0],)

    def counted(self, ballot: Sequence[Any]) -> Counted:
        return Counted((), value=ballot[0])

    def random_ballot(self, poll: Poll, rng: random.Random, choice_ids: list[int]) -> list[Any]:
        low, high = scale_range(poll)
        return [rng.randint(low, high)]

    def description(self, poll: Poll, labels: list[str]) -> str:
        low, high = scale_range(poll)
        return _("Rate it from %(low)s to %(high)s") % {"low": low, "high": high}

    def in_brief(self, poll: Poll, labels: list[str]) -> str:
        low, high = scale_range(poll)
        return f"{low} to {high}"

    # --- results ----------------------------------------------------------------------

    def snapshot_part(
        self,
        poll: Poll,
        candidates: list[int],
        rankings: list[tuple[tuple[int, ...], int]],
        values: dict[int, int],
    ) -> dict[str, Any]:
        low, high = scale_range(poll)
        summary = counting.scale_summary(values, low, high)
        return {
            **self.rules(poll, 0),
            "values": with_shares(
                [{"value": v, "votes": values.get(v, 0)} for v in range(low, high + 1)]
            ),
            "mean": summary.mean,
            "median": summary.median,
            "nps": summary.nps,
        }

    def final_summary(self, snapshot: dict[str, Any]) -> dict[str, Any]:
        if not snapshot["total"]:
            return {}
        return {
            "summary": _("Mean %(mean)s, median %(median)s.")
            % {"mean": snapshot["mean"], "median": snapshot["median"]}
        }

    def results_view(self, snapshot: dict[str, Any]) -> dict[str, Any]:
        return {"scale": scale_view(snapshot)}

    # --- the form ---------------------------------------------------------------------

    def ballot_context(
        self, poll: Poll, rules: dict[str, Any], stored: list[Any], shown: list[Any]
    ) -> dict[str, Any]:
        shown_text = [str(item) for item in shown]
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

    # --- exports ----------------------------------------------------------------------

    def export_header(self, labels: list[str]) -> list[str]:
        return ["ballot", "value"]

    def export_row(self, ballot: Sequence[Any], labels: dict[int, str]) -> list[Any]:
        return [ballot[0]]

    def board_entry(self, ballot: Sequence[Any], labels: dict[int, str]) -> str | None:
        return str(ballot[0])


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
