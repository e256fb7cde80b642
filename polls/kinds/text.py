"""What the two text kinds share (word cloud, open answer; issue 33): the audience types.

One engine, polls.counting.text, normalises each entry on the web side before admission
(a refusal is a clear 400 with its `code`, never a 202 dropped later) and gives its counting
key; the profanity filter (polls.profanity) marks what it catches as held. The ballot is
then a tuple of entries as the vote message carries them (canonical JSON):
`{"text": shown, "key": key}`, with `"held": true` for a caught one. The worker checks that
shape and the poll's limits again (never normalising again: Unicode tables change between
versions) and stores the entries as rows of their own with their counts
(polls.text_entries): Vote.ballot stays empty. docs/text-answers.md.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any, ClassVar

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from polls import profanity, text_entries
from polls.counting import text as engine
from polls.models import Poll

from .base import BallotProblem, BallotShapeError, Counted, Kind, Option

# A string in the vote message may not hold these: Postgres cannot store them (the whole
# batch would fail). Normalising removed them on the web side.
_UNSTORABLE = {chr(0), *map(chr, range(0xD800, 0xE000))}


# Between a board row's entries (an entry may hold commas: an open answer is a sentence).
BOARD_SEPARATOR = " · "


# Moderation (issue 34, docs/moderation.md): each text poll's mode, what the profanity
# filter's catch does, and whose lists apply; kept in Poll.options like every kind option.
HOLD, REFUSE = "hold", "refuse"
FILTER_ACTIONS = (HOLD, REFUSE)


def _choice_field(label: Any, choices: list[tuple[str, Any]], help_text: Any) -> forms.Field:
    return forms.ChoiceField(label=label, required=False, choices=choices, help_text=help_text)


MODERATION_OPTIONS = (
    Option(
        "moderation",
        lambda: _choice_field(
            gettext_lazy("Moderation"),
            [
                ("", gettext_lazy("Default: after in a live session, else off")),
                (text_entries.OFF, gettext_lazy("Off: shown at once")),
                (text_entries.AFTER, gettext_lazy("After: shown at once, a moderator can hide")),
                (text_entries.BEFORE, gettext_lazy("Before: nothing shown until approved")),
            ],
            gettext_lazy("What the filter catches always waits for a moderator."),
        ),
        "text: moderation mode, off, after or before (after in a live session, else off)",
        whole=False,
        choices=text_entries.MODES,
    ),
    Option(
        "filter_action",
        lambda: _choice_field(
            gettext_lazy("Profanity filter"),
            [
                ("", gettext_lazy("Hold for a moderator (default)")),
                (REFUSE, gettext_lazy("Refuse with a message")),
            ],
            gettext_lazy("What happens to an entry the filter catches."),
        ),
        "text: what the profanity filter's catch does, hold or refuse (hold)",
        whole=False,
        choices=FILTER_ACTIONS,
    ),
    Option(
        "filter_languages",
        lambda: forms.CharField(
            label=gettext_lazy("Filter languages"),
            required=False,
            max_length=20,
            help_text=gettext_lazy("Whose word lists apply, e.g. de,en (default: en,de,fr,es)."),
        ),
        "text: whose profanity lists apply, comma-separated codes of en, de, fr, es (all four)",
        whole=False,
    ),
)


def moderation_problems(options: dict[str, Any]) -> dict[str, str]:
    """What is wrong with a text poll's moderation options."""
    problems = {}
    if options.get("moderation") not in (None, "", *text_entries.MODES):
        problems["moderation"] = "Moderation is off, after or before."
    if options.get("filter_action") not in (None, "", *FILTER_ACTIONS):
        problems["filter_action"] = "The filter holds or refuses."
    try:
        filter_languages(options.get("filter_languages"))
    except ValueError:
        problems["filter_languages"] = "Languages are codes among en, de, fr, es, e.g. de,en."
    return problems


def filter_languages(value: Any) -> tuple[str, ...]:
    """The languages a setting names ("de,en"; none: the site's four)."""
    if not value:
        return profanity.LANGUAGES
    codes = tuple(dict.fromkeys(code.strip().lower() for code in str(value).split(",")))
    if not codes or any(code not in profanity.LANGUAGES for code in codes):
        raise ValueError(value)
    return codes


def entries_field(label: Any, low: int, high: int, help_text: Any) -> forms.Field:
    return forms.IntegerField(
        label=label, required=False, min_value=low, max_value=high, help_text=help_text
    )


class TextKind(Kind):
    """A kind whose ballot is text (the word cloud, the open answer)."""

    stores_entries = True
    has_choices = False
    # Moderated per normalised term (every voter's entries of a key at once), else per entry.
    moderated_per_term: ClassVar[bool] = False
    units = (gettext_lazy("voter"), gettext_lazy("voters"))
    # What a form's inputs allow before the server's check: maxlength counts UTF-16 code
    # units (an emoji with a skin tone is 4), so it is only an outer bound; the server
    # counts graphemes, and the page's script counts them as the voter types.
    INPUT_FACTOR: ClassVar[int] = 2
    your_ballot_schema = {"your_entries": {"type": ["array", "null"], "items": {"type": "string"}}}

    @property
    def scripts(self) -> tuple[str, ...]:
        # The character count as the voter types and the totals: both text kinds' own.
        return ("polls/text-entries.js", self.script)

    def limits(self, poll: Poll) -> engine.Limits:
        raise NotImplementedError

    def choices_problem(self, poll: Poll, choices: int) -> str:
        return (
            _("This question takes the audience's own words: give no choices.") if choices else ""
        )

    # --- ballots ----------------------------------------------------------------------

    def item(self, value: Any) -> Any:
        if not isinstance(value, str):
            raise BallotShapeError(_("Each entry is text."))
        return value

    def normalise(self, poll: Poll, choice_ids: Sequence[int], ballot: Sequence[Any]) -> tuple:
        """On the web side, texts as sent: normalised, checked and filtered. In the worker,
        entries as the message carried them: checked again, never normalised again."""
        limits = self.limits(poll)
        if ballot and all(isinstance(value, dict) for value in ballot):
            return self._checked(limits, ballot)
        try:
            found = engine.entries([str(value) for value in ballot], limits)
        except engine.EntryProblem as problem:
            raise BallotProblem(self.refusal(problem), code=_CODES[problem.code]) from None
        languages = self.languages(poll)
        caught = [profanity.check(entry.shown, languages) is not None for entry in found]
        if any(caught) and poll.options.get("filter_action") == REFUSE:
            n = caught.index(True) + 1
            raise BallotProblem(
                _("Entry %(n)s was refused: it holds a word this poll does not accept.") % {"n": n},
                code=FILTER_REFUSED,
            )
        return tuple(
            text_entries.item(entry.shown, entry.key, held=held)
            for entry, held in zip(found, caught, strict=True)
        )

    def languages(self, poll: Poll) -> tuple[str, ...]:
        """Whose profanity lists apply: the poll's setting, else the site's four."""
        try:
            return filter_languages(poll.options.get("filter_languages"))
        except ValueError:  # refused when saved: only an old row could hold it
            return profanity.LANGUAGES

    def _checked(self, limits: engine.Limits, ballot: Sequence[dict[str, Any]]) -> tuple:
        """The worker's check of a message's entries: their shape, their number, each within
        the code-point cap (what bounds what is stored), one key once, nothing Postgres
        cannot store."""
        # The web side checked each with words for the voter: these only say why (the log).
        if not 1 <= len(ballot) <= limits.entries:
            raise BallotProblem("more entries than the poll takes")
        keys = set()
        for entry in ballot:
            shown, key = entry["text"], entry["key"]
            if not shown or not key or len(shown) > limits.code_points:
                raise BallotProblem("an entry empty or over the poll's limits")
            if len(key) > 2 * limits.code_points or key in keys:
                raise BallotProblem("a key over the limits, or twice")
            if _UNSTORABLE.intersection(shown) or _UNSTORABLE.intersection(key):
                raise BallotProblem("an entry Postgres cannot store")
            keys.add(key)
        return tuple(ballot)

    def from_message(self, value: Any) -> tuple:
        if isinstance(value, list | tuple) and all(_is_entry(entry) for entry in value):
            return tuple(
                text_entries.item(entry["text"], entry["key"], held=entry.get("held") is True)
                for entry in value
            )
        raise BallotShapeError(_("Each entry is text."))

    def refusal(self, problem: engine.EntryProblem) -> str:
        """The engine's refusal in the page's language."""
        numbers = {"limit": problem.limit, "actual": problem.actual}
        if problem.index is not None:
            numbers["n"] = problem.index + 1
        if problem.code == engine.EMPTY:
            return str(self.empty_message)
        if problem.code == engine.TOO_MANY_ENTRIES:
            return (
                ngettext(
                    "Give at most %(limit)s entry.",
                    "Give at most %(limit)s entries.",
                    problem.limit,
                )
                % numbers
            )
        if problem.code == engine.TOO_LONG:
            return self.too_long(numbers)
        return self.too_many_marks(numbers)

    empty_message: ClassVar[Any]  # what an empty submission is told

    def too_long(self, numbers: dict[str, int]) -> str:
        return (
            ngettext(
                "Entry %(n)s is %(actual)s characters long: at most %(limit)s character.",
                "Entry %(n)s is %(actual)s characters long: at most %(limit)s characters.",
                numbers["limit"],
            )
            % numbers
        )

    def too_many_marks(self, numbers: dict[str, int]) -> str:
        return (
            _("Entry %(n)s carries too many accents or marks for its length: shorten it.") % numbers
        )

    def row_ballot(self, ballot: Sequence[Any]) -> list[int]:
        return []

    def board_ballots(self, poll: Poll, rows: Sequence[tuple[str, Any]]) -> list[tuple[Any, ...]]:
        # The Vote row holds no ballot: the voters' entries are TextEntry rows (with states).
        stored = text_entries.stored_ballots((poll.pk, voter_key) for voter_key, _ in rows)
        return [stored.get((poll.pk, voter_key), ()) for voter_key, _ in rows]

    def board_entry(self, ballot: Sequence[Any], labels: dict[int, str]) -> str | None:
        """The shown entries' words, in the voter's order: an entry waiting for a moderator
        or hidden is left out (what the board shows then recounts to the terms' counts).
        The row is always there: its ballot is counted."""
        return BOARD_SEPARATOR.join(
            entry["text"]
            for entry in ballot
            if getattr(entry, "state", text_entries.SHOWN) == text_entries.SHOWN
        )

    def counted(self, ballot: Sequence[Any]) -> Counted:
        return Counted(())  # counted per term by polls.text_entries

    def api_your_ballot(self, stored: list[Any] | None) -> dict[str, Any]:
        return {"your_entries": texts(stored) if stored else None}

    def random_ballot(self, poll: Poll, rng: random.Random, choice_ids: list[int]) -> list[Any]:
        words = ["Python", "Django", "Postgres", "Redis", "Celery", "live", "fast", "kind"]
        return rng.sample(words, rng.randint(1, self.limits(poll).entries))

    # --- exports ----------------------------------------------------------------------

    # A ballots CSV's columns: one per entry a voter may give (a word cloud's most).
    export_columns: ClassVar[tuple[str, ...]] = ("entry",)

    def export_header(self, labels: list[str]) -> list[str]:
        return ["ballot", *self.export_columns]

    def export_row(self, ballot: Sequence[Any], labels: dict[int, str]) -> list[Any]:
        given = texts(ballot)
        return [given[n] if n < len(given) else "" for n in range(len(self.export_columns))]


def _is_entry(entry: Any) -> bool:
    return (
        isinstance(entry, dict)
        and isinstance(entry.get("text"), str)
        and isinstance(entry.get("key"), str)
        and set(entry) <= {"text", "key", "held"}
        and entry.get("held", True) is True
    )


def waiting(poll: Poll, value: Any) -> bool:
    """Whether a voter's own entry waits for a moderator: a stored one by its state; one
    still being stored when the filter caught it or the poll shows nothing unapproved
    (an approved term is shown at once: the stored state then says so)."""
    if isinstance(value, text_entries.StoredItem):
        return value.state == text_entries.PENDING
    if not isinstance(value, dict):
        return False
    return bool(value.get("held")) or poll.options.get("moderation") == text_entries.BEFORE


def own_texts(poll: Poll, ballot: Sequence[Any] | None) -> list[str]:
    """A voter's entries in words for their own page, each waiting one marked so."""
    return [
        _("%(entry)s (waiting for a moderator)") % {"entry": text} if waiting(poll, value) else text
        for value, text in zip(ballot or [], texts(ballot), strict=True)
    ]


def texts(ballot: Sequence[Any] | None) -> list[str]:
    """A ballot's entries as text: stored entries ({"text", "key"}) or texts as posted."""
    return [value["text"] if isinstance(value, dict) else str(value) for value in ballot or []]


# Each engine refusal's code for the API (docs/api.md).
_CODES = {
    engine.EMPTY: "entry_empty",
    engine.TOO_LONG: "entry_too_long",
    engine.TOO_MANY_CODE_POINTS: "entry_too_many_code_points",
    engine.TOO_MANY_ENTRIES: "too_many_entries",
}
FILTER_REFUSED = "entry_refused_by_filter"  # the poll refuses what the filter catches
API_CODES = (*_CODES.values(), FILTER_REFUSED)

__all__ = ["API_CODES", "MODERATION_OPTIONS", "Option", "TextKind", "entries_field",
           "moderation_problems", "own_texts", "texts"]  # fmt: skip
