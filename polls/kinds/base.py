"""What a kind of question is: the one class each kind module implements.

A kind owns everything that differs between kinds: its options (kept in `Poll.options`),
what a ballot may say (form, API, message and stored form), where a ballot counts, its
part of the results snapshot and the words its results are read in, its export columns,
its templates and its part of the OpenAPI document. The rest of the code asks the
registry (polls.kinds.kind_for) and never names a kind.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from django import forms
from django.utils.functional import Promise
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _

from polls import counting
from polls.models import Poll


class BallotProblem(ValueError):
    """A ballot the poll's rules refuse; `message` says why, for the voter."""

    def __init__(self, message: str, *, unknown_choice: bool = False, code: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.unknown_choice = unknown_choice
        self.code = code  # a refusal's own code for the API ("" : invalid_ballot)


class BallotShapeError(BallotProblem):
    """A ballot that is not even of the kind's shape (a text where an id belongs, a
    missing field); the API and the form tell it apart from a ballot against the rules."""


# A share in the OpenAPI document.
PERCENT = {
    "type": "number",
    "minimum": 0,
    "maximum": 100,
    "description": "The share in percent, one decimal (docs/api.md: the rounding rule)",
}

UNKNOWN_CHOICE = gettext_lazy("That choice is not part of this poll.")


@dataclass(frozen=True)
class Counted:
    """Where one ballot counts: the choices whose Tally it adds to, its ranking (ranked),
    its value (scale)."""

    tallies: tuple[int, ...]
    ranking: tuple[int, ...] | None = None
    value: int | None = None


@dataclass(frozen=True)
class Option:
    """One of a kind's options: its key in `Poll.options`, the form field that edits it
    (admin, a session's new question) and the command-line flag's help."""

    name: str
    field: Callable[[], forms.Field]
    help: str
    whole: bool = True  # a whole number (else a text)
    flag: bool = False  # on or off: a checkbox, a bare --flag, true/false in JSON
    choices: tuple[str, ...] = ()  # the texts it may be (none: any)
    # Shown, never edited in a form: the kind sets it (Kind.settled_options).
    fixed: bool = False


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


def with_shares(items: list[dict[str, Any]], total: int | None = None) -> list[dict[str, Any]]:
    """Each item (with its "votes") gets its "percent" of `total` (default: their sum), by
    the one rounding rule, counting.shares."""
    for item, share in zip(items, counting.shares([i["votes"] for i in items], total), strict=True):
        item["percent"] = share
    return items


def as_id(value: Any, refuse: Callable[[], BallotShapeError]) -> int:
    """A ballot's item given as a whole number (an int, or its ASCII digits)."""
    text = value.strip() if isinstance(value, str) else None
    # isdecimal() alone admits other scripts' digits ("٣"), isdigit() even "²"; and a
    # number longer than any id is not one (int() refuses past 4,300 digits anyway).
    if text is not None and text.isascii() and text.isdecimal() and len(text) <= 18:
        return int(text)
    if type(value) is int:
        return value
    raise refuse()


class Kind:
    """A kind of question. Subclasses set the class attributes and override what differs."""

    name: ClassVar[str]  # Poll.Kind's value
    admin_help: ClassVar[str]  # what a voter does, in the admin's words
    units: ClassVar[tuple[Promise, Promise]]  # what the results' total counts: one, many
    api_field: ClassVar[str]  # the JSON API's field for a ballot
    api_shape: ClassVar[str]  # the body, described to a program that sent another
    # The kind's part of the OpenAPI document (polls.kinds.openapi): its ballot field's
    # schema, what its rules, its voter's ballot and its results add to the API's poll and
    # results, per-choice figures, and schemas of its own.
    api_schema: ClassVar[dict[str, Any]]
    api_words: ClassVar[str]  # the ballot's field in the Ballot schema's description
    rules_schema: ClassVar[dict[str, Any]] = {}
    your_ballot_schema: ClassVar[dict[str, Any]] = {
        "your_ballot": {"type": ["array", "null"], "items": {"type": "integer"}}
    }
    results_schema: ClassVar[dict[str, Any]] = {}
    choice_schema: ClassVar[dict[str, Any]] = {}
    components: ClassVar[dict[str, Any]] = {}
    paths: ClassVar[dict[str, Any]] = {}  # API paths of its own (ranked: RCTab's summary)
    options: ClassVar[tuple[Option, ...]] = ()
    has_choices: ClassVar[bool] = True
    # Its ballots may come from election offices' cast-vote records (polls.imports).
    imports_records: ClassVar[bool] = False
    has_rctab: ClassVar[bool] = False  # its results export as RCTab's summary (rctab_summary)
    named_in_snapshot: ClassVar[bool] = True  # the snapshot says its "kind"
    # Snapshot keys (beyond the choices) that the exports carry over.
    result_keys: ClassVar[tuple[str, ...]] = ()
    # A text kind's ballot is the voter's entries, kept as rows of their own with counts
    # per term (polls.text_entries), not in Vote.ballot (polls/kinds/text.py).
    stores_entries: ClassVar[bool] = False

    @property
    def ballot_template(self) -> str:
        return f"polls/kinds/{self.name}/ballot.html"

    @property
    def results_template(self) -> str:
        return f"polls/kinds/{self.name}/results.html"

    @property
    def script(self) -> str:
        """Its static script: draws its ballot's behaviour and its live results."""
        return f"polls/kinds/{self.name}.js"

    @property
    def scripts(self) -> tuple[str, ...]:
        """What a page showing it loads, in order: the shared scripts its own builds on
        (lower-layer static files, as polls/text-entries.js), then its own."""
        return (self.script,)

    @property
    def label(self) -> str:
        return str(Poll.Kind(self.name).label)

    # --- options ----------------------------------------------------------------------

    def add_arguments(self, parser: Any) -> None:
        """create_poll's flags for the options: --max-picks and so on."""
        for option in self.options:
            flag = "--" + option.name.replace("_", "-")
            if flag in parser._option_string_actions:
                continue  # shared with a kind before (the quiz settings)
            if option.flag:
                parser.add_argument(flag, action="store_true", default=None, help=option.help)
                continue
            parser.add_argument(
                flag,
                type=int if option.whole and not option.choices else str,
                choices=option.choices or None,
                help=option.help,
            )

    def options_from_arguments(self, arguments: dict[str, Any]) -> dict[str, Any]:
        """The options given on create_poll's command line."""
        return {option.name: arguments.get(option.name) for option in self.options}

    def option_problems(self, options: dict[str, Any]) -> dict[str, str]:
        """What is wrong with these options on their own, by option name."""
        return {}

    def choices_problem(self, poll: Poll, choices: int) -> str:
        """What is wrong with the options for this many choices ("" when nothing)."""
        return ""

    def settled_options(self, options: dict[str, Any], stored: dict[str, Any]) -> dict[str, Any]:
        """The options to store, given the new ones and those stored before ({} for a new
        poll): where the kind keeps what nobody may change once set (a lot's seed)."""
        return options

    def count_rules(self, options: dict[str, Any]) -> dict[str, Any]:
        """The options that decide how the stored ballots are counted (a change of them is
        recorded: polls.organising.record_rules_change); {} when none do."""
        return {}

    def rules(self, poll: Poll, choices: int) -> dict[str, Any]:
        """What a ballot may say beyond its choices (the API's poll, the pages)."""
        return {}

    # --- ballots ----------------------------------------------------------------------

    def missing_field(self) -> str:
        """What a JSON body without the kind's field is told."""
        return _("This poll is %(kind)s: send %(shape)s.") % {
            "kind": self.label.lower(),
            "shape": self.api_shape,
        }

    def from_api(self, body: dict[str, Any]) -> list[Any]:
        """The ballot's raw items from a JSON body (the field is there)."""
        value = body[self.api_field]
        if not isinstance(value, list):
            raise BallotShapeError(
                _("'%(field)s' must be a list: send %(shape)s.")
                % {"field": self.api_field, "shape": self.api_shape}
            )
        return value

    def from_form(self, poll: Poll, data: Any) -> list[Any]:
        """The ballot's raw items from the voting page's form."""
        raise NotImplementedError

    def posted(self, poll: Poll, data: Any) -> list[Any]:
        """The form's ballot as posted, unchecked (shown again after a refusal)."""
        return self.from_form(poll, data)

    def item(self, value: Any) -> int:
        """One raw item as the ballot holds it, or BallotShapeError."""
        return as_id(value, self._bad_item)

    def _bad_item(self) -> BallotShapeError:
        return BallotShapeError(_("Each choice is given by its id, a whole number."))

    def normalise(self, poll: Poll, choice_ids: Sequence[int], ballot: Sequence[Any]) -> tuple:
        """The ballot as stored, or BallotProblem. `choice_ids`: the poll's choices."""
        raise NotImplementedError

    def from_message(self, value: Any) -> tuple:
        """The message's ballot (its canonical JSON, parsed; or a version-1/2 message's
        list) as normalise takes it."""
        if isinstance(value, int) and not isinstance(value, bool):
            return (value,)
        if isinstance(value, list | tuple) and all(
            type(item) is int and abs(item) < 2**63 for item in value
        ):
            return tuple(value)
        raise BallotShapeError(_("Each choice is given by its id, a whole number."))

    def api_your_ballot(self, stored: list[Any] | None) -> dict[str, Any]:
        """The API's poll: the voter's stored ballot (None: none, or none can be read)."""
        return {"your_ballot": stored}

    def row_ballot(self, ballot: Sequence[Any]) -> list[int]:
        """What Vote.ballot holds of a stored ballot (a text kind's entries are rows of
        their own)."""
        return list(ballot)

    def choice_of(self, ballot: Sequence[Any]) -> int | None:
        """The choice a Vote row protects from deletion (single choice), else None."""
        return None

    def counted(self, ballot: Sequence[Any]) -> Counted:
        return Counted(tuple(ballot))

    def random_ballot(self, poll: Poll, rng: random.Random, choice_ids: list[int]) -> list[Any]:
        raise NotImplementedError

    # --- results ----------------------------------------------------------------------

    def snapshot_part(
        self,
        poll: Poll,
        candidates: list[int],
        rankings: list[tuple[tuple[int, ...], int]],
        values: dict[int, int],
    ) -> dict[str, Any]:
        """What the results snapshot adds for this kind (beyond the choices and total)."""
        return {}

    def add_to_choices(
        self, choices: list[dict[str, Any]], rankings: list[tuple[tuple[int, ...], int]]
    ) -> None:
        """Per-choice figures the kind adds to the snapshot's choices."""

    def results_view(self, snapshot: dict[str, Any]) -> dict[str, Any]:
        """What the kind's results template draws beyond the rows."""
        return {}

    def api_results_words(self, snapshot: dict[str, Any]) -> dict[str, Any]:
        """What the results API adds to the snapshot in the request's language (ranked:
        its rounds in words); the snapshot itself stays language-neutral."""
        return {}

    def final_summary(self, snapshot: dict[str, Any]) -> dict[str, Any]:
        """A closed poll's page: the winner or the summary line."""
        return {}

    def description(self, poll: Poll, labels: list[str]) -> str:
        """What a link preview says the question asks."""
        return (
            _("%(some)s or %(last)s") % {"some": ", ".join(labels[:-1]), "last": labels[-1]}
            if len(labels) > 1
            else "".join(labels)
        )

    def in_brief(self, poll: Poll, labels: list[str]) -> str:
        """What the poll offers, for a command's output."""
        return ", ".join(labels)

    # --- the form ---------------------------------------------------------------------

    def ballot_context(
        self, poll: Poll, rules: dict[str, Any], stored: list[Any], shown: list[Any]
    ) -> dict[str, Any]:
        """What the kind's ballot template shows: its inputs, with the stored ballot (or the
        posted one), and "your_ballot", the stored ballot in words."""
        return {}

    # --- exports ----------------------------------------------------------------------

    def export_header(self, labels: list[str]) -> list[str]:
        return ["ballot", "choice"]

    def rctab_summary(self, poll: Poll, snapshot: dict[str, Any]) -> dict[str, Any] | None:
        """The results as RCTab's summary JSON, or None where the kind has no rounds."""
        return None

    def export_row(self, ballot: Sequence[Any], labels: dict[int, str]) -> list[Any]:
        return [labels.get(ballot[0], "?")]

    # --- the receipts' board ------------------------------------------------------------

    def board_ballots(self, poll: Poll, rows: Sequence[tuple[str, Any]]) -> list[tuple[Any, ...]]:
        """The ballots of a page of the board, from its rows' (voter key, Vote.ballot): the
        stored ballots as they are (a text kind reads its voters' entries instead)."""
        return [tuple(ballot) for _voter_key, ballot in rows]

    def board_entry(self, ballot: Sequence[Any], labels: dict[int, str]) -> str | None:
        """What a board row shows of a counted ballot (board_ballots) on a public-ballot
        poll, in words; None leaves the row off every board (public or secret).
        polls.receipts.board asks it for every row."""
        return labels.get(ballot[0], "?")


# --- quiz settings (issue 36): a single- or multiple-choice poll may be a quiz question ---

QUIZ_SECONDS = (5, 240)
QUIZ_POINTS_DEFAULT = 1000


def quiz_correct_positions(value: Any) -> list[int]:
    """The correct choices' positions (1 = the first choice) from '2' or '1, 3'."""
    if value in (None, ""):
        return []
    if isinstance(value, list):
        return [int(v) for v in value]
    parts = [part.strip() for part in str(value).split(",")]
    if not all(part.isascii() and part.isdecimal() for part in parts):
        raise ValueError(value)
    return [int(part) for part in parts]


QUIZ_OPTIONS = (
    Option(
        "quiz_correct",
        lambda: forms.CharField(
            label=gettext_lazy("Correct choices (quiz)"),
            required=False,
            help_text=gettext_lazy(
                "A quiz question: the correct choices' numbers, 1 for the first (e.g. 2 or 1,3)."
            ),
        ),
        "a quiz question: the correct choices' numbers, 1 for the first (2, or 1,3)",
        whole=False,
    ),
    Option(
        "quiz_seconds",
        lambda: forms.IntegerField(
            label=gettext_lazy("Time limit in seconds (quiz)"),
            required=False,
            min_value=QUIZ_SECONDS[0],
            max_value=QUIZ_SECONDS[1],
            help_text=gettext_lazy("From 5 to 240 (default 20)."),
        ),
        "a quiz question's time limit in seconds, 5-240 (20)",
    ),
    Option(
        "quiz_points",
        lambda: forms.IntegerField(
            label=gettext_lazy("Points (quiz)"),
            required=False,
            min_value=1,
            max_value=100000,
            help_text=gettext_lazy("For a correct answer at once (default 1,000)."),
        ),
        "a quiz question's points for a correct answer at once (1000)",
    ),
)


def quiz_problems(options: dict[str, Any], *, one_correct: bool) -> dict[str, str]:
    """What is wrong with the quiz settings on their own."""
    problems = {}
    try:
        correct = quiz_correct_positions(options.get("quiz_correct"))
    except ValueError:
        return {"quiz_correct": "Give the correct choices' numbers, e.g. 2 or 1,3."}
    if any(position < 1 for position in correct) or len(set(correct)) != len(correct):
        problems["quiz_correct"] = "Give each correct choice's number (1 or more) once."
    elif one_correct and len(correct) > 1:
        problems["quiz_correct"] = "A single-choice quiz question has one correct choice."
    seconds, points = options.get("quiz_seconds"), options.get("quiz_points")
    if seconds is not None and not QUIZ_SECONDS[0] <= seconds <= QUIZ_SECONDS[1]:
        problems["quiz_seconds"] = "A quiz question's time limit is 5 to 240 seconds."
    if points is not None and points < 1:
        problems["quiz_points"] = "A quiz question is worth at least 1 point."
    if not correct and (seconds is not None or points is not None):
        problems["quiz_correct"] = "A quiz question needs its correct choices."
    return problems


def quiz_choices_problem(poll: Poll, choices: int) -> str:
    """A correct choice past the last one."""
    try:
        correct = quiz_correct_positions(poll.options.get("quiz_correct"))
    except ValueError:
        return ""
    if correct and max(correct) > choices:
        return _("quiz_correct: choice %(n)s does not exist (there are %(choices)s).") % {
            "n": max(correct),
            "choices": choices,
        }
    return ""


@dataclass(frozen=True)
class QuizSettings:
    """A quiz question's settings, read from `Poll.options`."""

    correct_positions: tuple[int, ...]
    seconds: int
    points: int

    @property
    def limit_ms(self) -> int:
        return self.seconds * 1000


def quiz_settings(poll: Poll) -> QuizSettings | None:
    """The poll's quiz settings, None when it is no quiz question (no correct choice)."""
    try:
        correct = quiz_correct_positions(poll.options.get("quiz_correct"))
    except ValueError:
        return None
    if not correct:
        return None
    seconds = poll.options.get("quiz_seconds") or 20
    points = poll.options.get("quiz_points") or QUIZ_POINTS_DEFAULT
    return QuizSettings(tuple(correct), int(seconds), int(points))
