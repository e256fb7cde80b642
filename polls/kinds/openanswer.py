"""Open answer: each voter gives one answer in their own words, shown as a wall of cards
(identical answers are one card with its count), newest or most common first. The ballot:
the answer (polls/kinds/text.py). Results: the newest and most common cards within the
snapshot's budget and the totals (polls.counting.text.select_cards). Option:
answer_length (280 characters)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from polls import text_entries
from polls.counting import text as engine
from polls.models import Poll

from .base import BallotShapeError, Option
from .text import MODERATION_OPTIONS, TextKind, entries_field, moderation_problems, own_texts, texts

LENGTH_MAX = 500  # an answer's longest limit an organiser may set (characters)


def _length(poll: Poll) -> int:
    value = poll.options.get("answer_length")
    return engine.ANSWER_GRAPHEMES if value is None else int(value)


class OpenAnswer(TextKind):
    name = "openanswer"
    admin_help = "each voter gives one answer in their own words, shown as a wall of cards."
    api_field = "answer"
    api_shape = '{"answer": "<your answer>"}'
    api_schema = {"type": "string", "minLength": 1}
    api_words = "{answer}"
    rules_schema = {"max_length": {"type": "integer"}}
    results_schema = {
        "cards": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["text", "count", "newest"],
                "properties": {
                    "text": {"type": "string", "description": "its most common spelling"},
                    "count": {"type": "integer", "minimum": 1},
                    "newest": {"type": "integer", "description": "its newest entry's id"},
                },
            },
        },
        "left_out": {"type": "integer", "minimum": 0},
        "entries": {"type": "integer", "minimum": 0},
        "distinct": {"type": "integer", "minimum": 0},
    }
    result_keys = ("entries", "distinct")  # every term: the export's "text" (polls.export)
    export_columns = ("answer",)
    options = (
        *MODERATION_OPTIONS,
        Option(
            "answer_length",
            lambda: entries_field(
                gettext_lazy("Longest answer"),
                1,
                LENGTH_MAX,
                gettext_lazy("Open answer: characters (default 280)."),
            ),
            "openanswer: the most characters an answer has, 1-500 (280)",
        ),
    )
    empty_message = gettext_lazy("Write your answer first.")

    def limits(self, poll: Poll) -> engine.Limits:
        return engine.answer_limits(graphemes=_length(poll))

    def option_problems(self, options: dict[str, Any]) -> dict[str, str]:
        length = options.get("answer_length")
        if length is not None and not 1 <= length <= LENGTH_MAX:
            return {"answer_length": f"An answer has 1 to {LENGTH_MAX} characters."}
        return moderation_problems(options)

    def rules(self, poll: Poll, choices: int) -> dict[str, Any]:
        return {"max_length": self.limits(poll).graphemes}

    def from_api(self, body: dict[str, Any]) -> list[Any]:
        value = body[self.api_field]
        if not isinstance(value, str):
            raise BallotShapeError(
                _("'%(field)s' must be text: send %(shape)s.")
                % {"field": self.api_field, "shape": self.api_shape}
            )
        return [value]

    def from_form(self, poll: Poll, data: Any) -> list[Any]:
        return [data.get("answer", "")]

    def too_long(self, numbers: dict[str, int]) -> str:
        return (
            ngettext(
                "Your answer is %(actual)s characters long: at most %(limit)s character.",
                "Your answer is %(actual)s characters long: at most %(limit)s characters.",
                numbers["limit"],
            )
            % numbers
        )

    def too_many_marks(self, numbers: dict[str, int]) -> str:
        return _("Your answer carries too many accents or marks for its length: shorten it.")

    def description(self, poll: Poll, labels: list[str]) -> str:
        return _("Answer in your own words")

    def in_brief(self, poll: Poll, labels: list[str]) -> str:
        return f"one answer of {self.limits(poll).graphemes} characters"

    # --- results ----------------------------------------------------------------------

    def snapshot_part(
        self,
        poll: Poll,
        candidates: list[int],
        rankings: list[tuple[tuple[int, ...], int]],
        values: dict[int, int],
    ) -> dict[str, Any]:
        return text_entries.cards_part(poll.pk)

    def results_view(self, snapshot: dict[str, Any]) -> dict[str, Any]:
        return {
            "answers": {
                "cards": snapshot["cards"],
                "left_out": snapshot["left_out"],
                "entries": snapshot["entries"],
                "distinct": snapshot["distinct"],
            }
        }

    def final_summary(self, snapshot: dict[str, Any]) -> dict[str, Any]:
        if not snapshot["entries"]:
            return {}
        return {
            "summary": ngettext(
                "%(entries)s answer, %(distinct)s different.",
                "%(entries)s answers, %(distinct)s different.",
                snapshot["entries"],
            )
            % {"entries": snapshot["entries"], "distinct": snapshot["distinct"]}
        }

    # --- the form ---------------------------------------------------------------------

    def ballot_context(
        self, poll: Poll, rules: dict[str, Any], stored: list[Any], shown: list[Any]
    ) -> dict[str, Any]:
        limits = self.limits(poll)
        given = texts(shown)
        return {
            "rules": rules,
            "max_length": limits.graphemes,
            "input_max": self.INPUT_FACTOR * limits.code_points,
            "answer": given[0] if given else "",
            "answer_hint": _("Your answer in your own words, at most %(length)s characters.")
            % {"length": limits.graphemes},
            "your_ballot": _("Your answer: %(answer)s") % {"answer": own_texts(poll, stored)[0]}
            if stored
            else "",
        }
