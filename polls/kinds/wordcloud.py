"""Word cloud: each voter gives up to N words or short phrases (the organiser sets 1-5),
shown as a live cloud, the most given the largest. The ballot: the voter's entries
(polls/kinds/text.py). Results: the top terms with their size steps and the totals
(polls.counting.text.cloud). Options: max_entries (3), entry_length (25 characters)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from polls import text_entries
from polls.counting import text as engine
from polls.models import Poll

from .base import Option
from .text import MODERATION_OPTIONS, TextKind, entries_field, moderation_problems, own_texts, texts

LENGTH_MAX = 50  # an entry's longest limit an organiser may set (characters)


def _setting(poll: Poll, name: str, default: int) -> int:
    value = poll.options.get(name)
    return default if value is None else int(value)


class WordCloud(TextKind):
    name = "wordcloud"
    moderated_per_term = True  # approving "python" approves every voter's "Python"
    admin_help = (
        "each voter gives up to the given number of words or short phrases (1-5), shown as a "
        "live word cloud."
    )
    api_field = "entries"
    api_shape = '{"entries": ["<a word or short phrase>", ...]}'
    api_schema = {
        "type": "array",
        "items": {"type": "string"},
        "minItems": 1,
        "maxItems": engine.CLOUD_ENTRIES_MAX,
    }
    api_words = "{entries}"
    rules_schema = {"max_entries": {"type": "integer"}, "max_length": {"type": "integer"}}
    results_schema = {
        "terms": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["text", "key", "count", "step"],
                "properties": {
                    "text": {"type": "string", "description": "its most common spelling"},
                    "key": {"type": "string", "description": "what counts: the text case-folded"},
                    "count": {"type": "integer", "minimum": 1},
                    "step": {"type": "integer", "minimum": 1, "maximum": engine.SIZE_STEPS},
                },
            },
        },
        "entries": {"type": "integer", "minimum": 0},
        "distinct": {"type": "integer", "minimum": 0},
    }
    result_keys = ("entries", "distinct")  # every term: the export's "text" (polls.export)
    export_columns = tuple(f"entry{n}" for n in range(1, engine.CLOUD_ENTRIES_MAX + 1))
    options = (
        *MODERATION_OPTIONS,
        Option(
            "max_entries",
            lambda: entries_field(
                gettext_lazy("Entries per voter"),
                engine.CLOUD_ENTRIES_MIN,
                engine.CLOUD_ENTRIES_MAX,
                gettext_lazy("Word cloud: 1 to 5 (default 3)."),
            ),
            "wordcloud: how many words or phrases a voter gives, 1-5 (3)",
        ),
        Option(
            "entry_length",
            lambda: entries_field(
                gettext_lazy("Longest entry"),
                1,
                LENGTH_MAX,
                gettext_lazy("Word cloud: characters per entry (default 25)."),
            ),
            "wordcloud: the most characters an entry has, 1-50 (25)",
        ),
    )
    empty_message = gettext_lazy("Write at least one word.")

    def limits(self, poll: Poll) -> engine.Limits:
        return engine.cloud_limits(
            entries=_setting(poll, "max_entries", engine.CLOUD_ENTRIES_DEFAULT),
            graphemes=_setting(poll, "entry_length", engine.CLOUD_GRAPHEMES),
        )

    def option_problems(self, options: dict[str, Any]) -> dict[str, str]:
        most = options.get("max_entries")
        if most is not None and not engine.CLOUD_ENTRIES_MIN <= most <= engine.CLOUD_ENTRIES_MAX:
            return {"max_entries": "A voter gives 1 to 5 entries."}
        length = options.get("entry_length")
        if length is not None and not 1 <= length <= LENGTH_MAX:
            return {"entry_length": f"An entry has 1 to {LENGTH_MAX} characters."}
        return moderation_problems(options)

    def rules(self, poll: Poll, choices: int) -> dict[str, Any]:
        limits = self.limits(poll)
        return {"max_entries": limits.entries, "max_length": limits.graphemes}

    def from_form(self, poll: Poll, data: Any) -> list[Any]:
        return list(data.getlist("entry"))

    def description(self, poll: Poll, labels: list[str]) -> str:
        most = self.limits(poll).entries
        return ngettext(
            "Give a word or a short phrase",
            "Give up to %(most)s words or short phrases",
            most,
        ) % {"most": most}

    def in_brief(self, poll: Poll, labels: list[str]) -> str:
        limits = self.limits(poll)
        return f"up to {limits.entries} entries of {limits.graphemes} characters"

    # --- results ----------------------------------------------------------------------

    def snapshot_part(
        self,
        poll: Poll,
        candidates: list[int],
        rankings: list[tuple[tuple[int, ...], int]],
        values: dict[int, int],
    ) -> dict[str, Any]:
        return text_entries.cloud_part(poll.pk)

    def results_view(self, snapshot: dict[str, Any]) -> dict[str, Any]:
        return {"cloud": {"terms": snapshot["terms"], **_totals(snapshot)}}

    def final_summary(self, snapshot: dict[str, Any]) -> dict[str, Any]:
        if not snapshot["terms"]:
            return {}
        top = snapshot["terms"][0]
        return {
            "summary": _("Given most: “%(text)s” (%(count)s).")
            % {"text": top["text"], "count": top["count"]}
        }

    # --- the form ---------------------------------------------------------------------

    def ballot_context(
        self, poll: Poll, rules: dict[str, Any], stored: list[Any], shown: list[Any]
    ) -> dict[str, Any]:
        given = texts(shown)
        limits = self.limits(poll)
        most = limits.entries
        return {
            "rules": rules,
            "max_length": limits.graphemes,
            "input_max": self.INPUT_FACTOR * limits.code_points,
            "entries": [
                {
                    "n": n,
                    "value": given[n - 1] if n <= len(given) else "",
                    "label": _("Word or phrase %(n)s") % {"n": n} if most > 1 else _("Your word"),
                }
                for n in range(1, most + 1)
            ],
            "entries_hint": ngettext(
                "One word or a short phrase, at most %(length)s characters.",
                "Up to %(most)s words or short phrases, each at most %(length)s characters.",
                most,
            )
            % {"most": most, "length": limits.graphemes},
            "your_ballot": (
                _("Your words: %(words)s") % {"words": ", ".join(own_texts(poll, stored))}
                if stored
                else ""
            ),
        }


def _totals(snapshot: dict[str, Any]) -> dict[str, Any]:
    return {"entries": snapshot["entries"], "distinct": snapshot["distinct"]}
