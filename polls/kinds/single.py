"""Single choice: pick one of the choices. The ballot: (choice id,)."""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from polls.models import Poll

from .base import (
    QUIZ_OPTIONS,
    UNKNOWN_CHOICE,
    BallotProblem,
    BallotShapeError,
    Kind,
    quiz_choices_problem,
    quiz_problems,
)


class Single(Kind):
    name = "single"
    admin_help = "pick one."
    units = (gettext_lazy("vote"), gettext_lazy("votes"))
    api_field = "choice"
    api_shape = '{"choice": <choice id>}'
    api_schema = {"type": "integer"}
    api_words = "{choice}"
    your_ballot_schema = {"your_choice": {"type": ["integer", "null"]}}
    named_in_snapshot = False  # single-choice snapshots stay as they always were
    options = QUIZ_OPTIONS  # a quiz question (issue 36)

    def option_problems(self, options: dict[str, Any]) -> dict[str, str]:
        return quiz_problems(options, one_correct=True)

    def choices_problem(self, poll: Poll, choices: int) -> str:
        return quiz_choices_problem(poll, choices)

    def missing_field(self) -> str:
        return _("Send %(shape)s.") % {"shape": self.api_shape}

    def from_api(self, body: dict[str, Any]) -> list[Any]:
        return [body[self.api_field]]

    def from_form(self, poll: Poll, data: Any) -> list[Any]:
        return [data.get("choice")]

    def _bad_item(self) -> BallotShapeError:
        return BallotShapeError(
            _("Pick one of the poll's choices (field 'choice', a choice id)."),
            unknown_choice=True,
        )

    def normalise(self, poll: Poll, choice_ids: Sequence[int], ballot: Sequence[Any]) -> tuple:
        if any(choice not in set(choice_ids) for choice in ballot):
            raise BallotProblem(str(UNKNOWN_CHOICE), unknown_choice=True)
        if len(set(ballot)) != len(ballot):
            raise BallotProblem(_("Pick each choice at most once."))
        if len(ballot) != 1:
            raise BallotProblem(_("Pick one of the poll's choices."))
        return (ballot[0],)

    def api_your_ballot(self, stored: list[Any] | None) -> dict[str, Any]:
        return {"your_choice": stored[0] if stored else None}

    def choice_of(self, ballot: Sequence[Any]) -> int | None:
        return int(ballot[0])

    def random_ballot(self, poll: Poll, rng: random.Random, choice_ids: list[int]) -> list[Any]:
        return [rng.choice(choice_ids)]

    def ballot_context(
        self, poll: Poll, rules: dict[str, Any], stored: list[Any], shown: list[Any]
    ) -> dict[str, Any]:
        context: dict[str, Any] = {"current_choice_id": stored[0] if stored else None}
        labels = {c.id: c.label for c in poll.choices.all()}
        if stored and stored[0] in labels:
            context["your_ballot"] = _("You picked %(choice)s") % {"choice": labels[stored[0]]}
        return context
