"""Multiple choice: pick between the fewest and the most of the choices. The ballot: the
choices picked, in id order. Options: min_picks (1), max_picks (all the choices)."""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from polls.models import Poll

from .base import (
    QUIZ_OPTIONS,
    UNKNOWN_CHOICE,
    BallotProblem,
    Kind,
    Option,
    quiz_choices_problem,
    quiz_problems,
)


def picks_range(poll: Poll, choices: int) -> tuple[int, int]:
    """The fewest and most choices a voter picks."""
    low = poll.options.get("min_picks") or 1
    high = poll.options.get("max_picks") or choices
    return low, min(high, choices)


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


def _picks_message(low: int, high: int) -> str:
    if low == high:
        return _("Pick exactly %(low)s of the choices.") % {"low": low}
    return _("Pick from %(low)s to %(high)s of the choices.") % {"low": low, "high": high}


class Multiple(Kind):
    name = "multiple"
    admin_help = "pick between the fewest and the most picks."
    units = (gettext_lazy("voter"), gettext_lazy("voters"))
    api_field = "choices"
    api_shape = '{"choices": [<choice id>, ...]}'
    api_schema = {"type": "array", "items": {"type": "integer"}, "minItems": 1}
    api_words = "{choices}"
    rules_schema = {"min_picks": {"type": "integer"}, "max_picks": {"type": "integer"}}
    options = (
        Option(
            "min_picks",
            lambda: forms.IntegerField(
                label=gettext_lazy("Fewest picks"),
                required=False,
                min_value=1,
                help_text=gettext_lazy("Multiple choice (default 1)."),
            ),
            "multiple: the fewest choices a voter picks (1)",
        ),
        Option(
            "max_picks",
            lambda: forms.IntegerField(
                label=gettext_lazy("Most picks"),
                required=False,
                min_value=1,
                help_text=gettext_lazy("Multiple choice (default: all)."),
            ),
            "multiple: the most (all)",
        ),
        *QUIZ_OPTIONS,  # a quiz question (issue 36)
    )

    def option_problems(self, options: dict[str, Any]) -> dict[str, str]:
        problems = {}
        low, high = options.get("min_picks"), options.get("max_picks")
        if low is not None and low < 1:
            problems["min_picks"] = "A voter picks at least one choice."
        if high is not None and high < 1:
            problems["max_picks"] = "A voter picks at least one choice."
        elif low and high and high < low:
            problems["max_picks"] = "The most picks cannot be fewer than the fewest."
        return {**quiz_problems(options, one_correct=False), **problems}

    def choices_problem(self, poll: Poll, choices: int) -> str:
        if problem := quiz_choices_problem(poll, choices):
            return problem
        most, least = poll.options.get("max_picks"), poll.options.get("min_picks")
        if most is not None and most > choices:
            return _(
                "max_picks: %(most)s is more than the %(choices)s choices. A voter cannot "
                "pick more choices than there are: lower the most picks, or add choices."
            ) % {"most": most, "choices": choices}
        if least is not None and least > choices:
            return _(
                "min_picks: %(least)s is more than the %(choices)s choices. Nobody could "
                "vote: lower the fewest picks, or add choices."
            ) % {"least": least, "choices": choices}
        return ""

    def rules(self, poll: Poll, choices: int) -> dict[str, Any]:
        low, high = picks_range(poll, choices)
        return {"min_picks": low, "max_picks": high}

    def from_form(self, poll: Poll, data: Any) -> list[Any]:
        return list(data.getlist("choices"))

    def normalise(self, poll: Poll, choice_ids: Sequence[int], ballot: Sequence[Any]) -> tuple:
        known = set(choice_ids)
        if any(choice not in known for choice in ballot):
            raise BallotProblem(str(UNKNOWN_CHOICE), unknown_choice=True)
        if len(set(ballot)) != len(ballot):
            raise BallotProblem(_("Pick each choice at most once."))
        low, high = picks_range(poll, len(known))
        if not low <= len(ballot) <= high:
            raise BallotProblem(_picks_message(low, high))
        return tuple(sorted(ballot))

    def random_ballot(self, poll: Poll, rng: random.Random, choice_ids: list[int]) -> list[Any]:
        low, high = picks_range(poll, len(choice_ids))
        return sorted(rng.sample(choice_ids, rng.randint(low, high)))

    def ballot_context(
        self, poll: Poll, rules: dict[str, Any], stored: list[Any], shown: list[Any]
    ) -> dict[str, Any]:
        shown_text = [str(item) for item in shown]
        choices = poll.choices.all()
        labels = {choice.id: choice.label for choice in choices}
        return {
            "rules": rules,
            "picks_hint": picks_hint(rules["min_picks"], rules["max_picks"], len(choices)),
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

    def export_header(self, labels: list[str]) -> list[str]:
        return ["ballot", *labels]  # one column per choice, 1 when picked

    def export_row(self, ballot: Sequence[Any], labels: dict[int, str]) -> list[Any]:
        picked = set(ballot)
        return [int(c in picked) for c in labels]

    def board_entry(self, ballot: Sequence[Any], labels: dict[int, str]) -> str | None:
        return ", ".join(labels.get(c, "?") for c in ballot)
