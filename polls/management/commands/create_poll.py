import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from polls import organising
from polls.kinds import DEFAULT_KIND, KINDS, kind_for, option_names
from polls.models import Poll

from ._common import parse_time

# Keys a --from-json file may use (the same names as the options).
JSON_KEYS = {
    "slug",
    "question",
    "choices",
    "open",
    "opens_at",
    "closes_at",
    "results_visibility",
    "allow_vote_change",
    "login_required",
    "ballot_secrecy",
    "kind",
    *option_names(),  # each kind's options
}


class Command(BaseCommand):
    help = (
        "Create a poll with its choices, as a draft unless --open. Either "
        'create_poll SLUG "Question?" --choice A --choice B [options], or '
        "create_poll --from-json FILE with an object of "
        + ", ".join(sorted(JSON_KEYS))
        + " (choices: a list of labels). A rating scale (--kind scale --scale 1 5) has no "
        "choices."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", nargs="?", help="URL name of the poll, e.g. best-pet")
        parser.add_argument("question", nargs="?", help="the question, e.g. 'Best pet?'")
        parser.add_argument(
            "--choice", action="append", default=[], help="a choice label; repeat, in order"
        )
        parser.add_argument("--open", action="store_true", help="open the poll at once")
        parser.add_argument("--opens-at", help="ISO 8601 time the poll starts taking votes")
        parser.add_argument("--closes-at", help="ISO 8601 time the poll stops by itself")
        parser.add_argument(
            "--results",
            choices=Poll.ResultsVisibility.values,
            default=Poll.ResultsVisibility.ALWAYS,
            help="who sees the results (default: always)",
        )
        parser.add_argument(
            "--no-vote-change", action="store_true", help="a voter's first vote is final"
        )
        parser.add_argument(
            "--login-required", action="store_true", help="only logged-in users may vote"
        )
        parser.add_argument(
            "--ballot-secrecy",
            choices=Poll.BallotSecrecy.values,
            default=Poll.BallotSecrecy.SECRET,
            help="secret (default): the board lists receipts only; public: with their ballots",
        )
        parser.add_argument(
            "--kind",
            choices=list(KINDS),
            default=DEFAULT_KIND,
            help="single (default), multiple, ranked or scale",
        )
        for kind in KINDS.values():
            kind.add_arguments(parser)
        parser.add_argument("--from-json", type=Path, help="read the poll from this JSON file")

    def handle(self, *args: Any, **options: Any) -> None:
        spec = (
            self._from_json(options["from_json"]) if options["from_json"] else options_spec(options)
        )
        if not spec.get("slug") or not spec.get("question"):
            raise CommandError("Give the poll's SLUG and QUESTION (or --from-json FILE).")
        try:
            poll = organising.create_poll(
                slug=str(spec["slug"]),
                question=str(spec["question"]),
                labels=[str(label) for label in spec.get("choices") or []],
                open_now=bool(spec.get("open", False)),
                opens_at=parse_time(spec.get("opens_at"), name="opens_at"),
                closes_at=parse_time(spec.get("closes_at"), name="closes_at"),
                results_visibility=str(
                    spec.get("results_visibility", Poll.ResultsVisibility.ALWAYS)
                ),
                allow_vote_change=bool(spec.get("allow_vote_change", True)),
                login_required=bool(spec.get("login_required", False)),
                ballot_secrecy=str(spec.get("ballot_secrecy", Poll.BallotSecrecy.SECRET)),
                kind=str(spec.get("kind") or DEFAULT_KIND),
                options=_options(spec),
            )
        except organising.PollSetupError as error:
            raise CommandError(f"Poll not created: {error}") from None
        labels = kind_for(poll).in_brief(poll, [c.label for c in poll.choices.all()])
        kind = "" if poll.kind == DEFAULT_KIND else f", {poll.get_kind_display().lower()}"
        self.stdout.write(
            self.style.SUCCESS(
                f"Created poll '{poll.slug}' ({poll.status}{kind}): {poll.question} [{labels}]"
            )
        )

    def _from_json(self, path: Path) -> dict[str, Any]:
        try:
            spec = json.loads(path.read_text(encoding="utf-8"))
        except OSError as error:
            raise CommandError(f"Cannot read {path}: {error.strerror}.") from None
        except ValueError as error:
            raise CommandError(f"{path} is not valid JSON: {error}.") from None
        if not isinstance(spec, dict):
            raise CommandError(f"{path} must hold a JSON object.")
        unknown = set(spec) - JSON_KEYS
        if unknown:
            raise CommandError(f"{path}: unknown key(s) {', '.join(sorted(unknown))}.")
        if not isinstance(spec.get("choices", []), list):
            raise CommandError(f"{path}: 'choices' must be a list of labels.")
        if spec.get("kind", DEFAULT_KIND) not in KINDS:
            raise CommandError(f"{path}: 'kind' must be one of {', '.join(KINDS)}.")
        return spec


def _options(spec: dict[str, Any]) -> dict[str, Any]:
    """The options of the spec's kind, each of its type."""
    options: dict[str, Any] = {}
    for option in kind_for(str(spec.get("kind") or DEFAULT_KIND)).options:
        value = spec.get(option.name)
        if value is None:
            continue
        if option.flag:
            if type(value) is not bool:
                raise CommandError(f"{option.name} must be true or false, not {value!r}.")
            options[option.name] = value
            continue
        if option.whole and not option.choices and type(value) is not int:
            raise CommandError(f"{option.name} must be a whole number, not {value!r}.")
        if option.choices and value not in option.choices:
            raise CommandError(f"{option.name} must be one of {', '.join(option.choices)}.")
        options[option.name] = value if option.whole and not option.choices else str(value)
    return options


def options_spec(options: dict[str, Any]) -> dict[str, Any]:
    return {
        "slug": options["slug"],
        "question": options["question"],
        "choices": options["choice"],
        "open": options["open"],
        "opens_at": options["opens_at"],
        "closes_at": options["closes_at"],
        "results_visibility": options["results"],
        "allow_vote_change": not options["no_vote_change"],
        "login_required": options["login_required"],
        "ballot_secrecy": options["ballot_secrecy"],
        "kind": options["kind"],
        **kind_for(options["kind"]).options_from_arguments(options),
    }
