"""Ranked choice: rank some or all of the choices, best first. The ballot: the ranking.
Results: instant runoff and Borda points (polls.counting.ranked). Options: max_ranks (all),
and the count's rules (docs/organisers.md, Ranked-choice rules): tie, batch, until_two, and
the lot's seed, made with the poll and never changed (published with the results)."""

from __future__ import annotations

import random
import secrets
from collections.abc import Sequence
from typing import Any

from django import forms
from django.utils.translation import get_language, gettext_lazy, ngettext
from django.utils.translation import gettext as _

from polls.counting import ranked as counting
from polls.counting.rctab import rctab_summary
from polls.models import BallotImport, Poll

from . import ranked_words
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


RULE_OPTIONS = ("tie", "batch", "until_two", "seed")  # the count's rules in Poll.options
SEED_LENGTH = 32  # hex digits from secrets: 128 bits
MAX_SEED = 200


def new_seed() -> str:
    return secrets.token_hex(SEED_LENGTH // 2)


def rules_for(poll: Poll) -> counting.RankedRules:
    """The poll's count rules. A poll made without organising (a shell, an old test) may
    have no seed: its lot then draws from its slug, which the results publish too."""
    options = poll.options
    return counting.RankedRules(
        tie=options.get("tie") or counting.PREVIOUS_THEN_POSITION,
        seed=options.get("seed") or poll.slug,
        batch=bool(options.get("batch")),
        until_two=bool(options.get("until_two")),
    )


def rules_document(rules: counting.RankedRules) -> dict[str, Any]:
    """The rules as the snapshot and the API publish them."""
    return {
        "tie": rules.tie,
        "batch": rules.batch,
        "until_two": rules.until_two,
        "seed": rules.seed,
    }


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
        "tied": {
            "type": "array",
            "items": {"type": "integer"},
            "description": "No winner: these tied, and the tie rule let none of them go",
        },
        "rules": {"$ref": "#/components/schemas/RankedRules"},
        "described": {
            "type": "array",
            "items": {"type": "array", "items": {"type": "string"}},
            "description": "The results API only: each round in plain words, in "
            "described_language (docs/api.md, The rounds in words)",
        },
        "described_language": {"type": "string", "description": "en, de, fr or es"},
        "inactive_from_start": {
            "type": "object",
            "additionalProperties": {"type": "integer", "minimum": 0},
            "description": "Imported ballots that rank nobody, by reason (undervote, "
            "overvote, skipped): in no round",
        },
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
                "eliminations",
                "tie",
                "inactive",
            ],
            "properties": {
                "counts": {"type": "array", "items": {"$ref": "#/components/schemas/Count"}},
                "exhausted": {"type": "integer", "minimum": 0},
                "eliminated": {
                    "type": ["integer", "null"],
                    "description": "The one choice that goes after this round; null when "
                    "none goes or several go together (see eliminations)",
                },
                "transfers": {
                    "type": "array",
                    "items": {"$ref": "#/components/schemas/Count"},
                    "description": "Where the ballots of every choice going went next (summed)",
                },
                "transferred_to_exhausted": {"type": "integer", "minimum": 0},
                "eliminations": {
                    "type": "array",
                    "items": {"$ref": "#/components/schemas/Elimination"},
                    "description": "Every choice that goes after this round (several: batch "
                    "elimination, or all tied going), in the poll's order",
                },
                "tie": {"oneOf": [{"$ref": "#/components/schemas/Tie"}, {"type": "null"}]},
                "inactive": {
                    "type": "object",
                    "additionalProperties": {"type": "integer", "minimum": 0},
                    "description": "Of the exhausted, those whose ranking ended for a reason "
                    "an import gave (overvote, skipped)",
                },
            },
        },
        "Elimination": {
            "type": "object",
            "additionalProperties": False,
            "required": ["id", "transfers", "exhausted"],
            "properties": {
                "id": {"type": "integer"},
                "transfers": {"type": "array", "items": {"$ref": "#/components/schemas/Count"}},
                "exhausted": {"type": "integer", "minimum": 0},
            },
        },
        "Tie": {
            "type": "object",
            "additionalProperties": False,
            "required": ["tied", "rule", "broken_by", "still_tied", "lot"],
            "properties": {
                "tied": {"type": "array", "items": {"type": "integer"}},
                "rule": {"enum": list(counting.TIE_RULES)},
                "broken_by": {"enum": ["previous_rounds", "position", "lot", "all_go", "none_go"]},
                "still_tied": {
                    "type": "array",
                    "items": {"type": "integer"},
                    "description": "Left tied after the earlier rounds",
                },
                "lot": {
                    "type": "array",
                    "description": "The tickets, lowest first: the first goes",
                    "items": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["id", "ticket"],
                        "properties": {"id": {"type": "integer"}, "ticket": {"type": "string"}},
                    },
                },
            },
        },
        "RCTabSummary": {
            "type": "object",
            "description": "RCTab's summary JSON (BrightSpots/rcv ResultsWriter; "
            "docs/api.md): votes as decimal strings",
            "required": ["config", "jsonFormatVersion", "results", "summary"],
            "properties": {
                "config": {
                    "type": "object",
                    "required": ["contest", "date", "generatedBy", "jurisdiction", "office"],
                    "additionalProperties": {"type": "string"},
                },
                "jsonFormatVersion": {"const": "1"},
                "results": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": [
                            "inactiveBallots",
                            "round",
                            "tally",
                            "tallyResults",
                            "threshold",
                        ],
                        "properties": {
                            "round": {"type": "integer", "minimum": 1},
                            "tally": {
                                "type": "object",
                                "additionalProperties": {"type": "string"},
                            },
                            "tallyResults": {
                                "type": "array",
                                "items": {
                                    "type": "object",
                                    "required": ["transfers"],
                                    "properties": {
                                        "eliminated": {"type": "string"},
                                        "elected": {"type": "string"},
                                        "transfers": {
                                            "type": "object",
                                            "additionalProperties": {"type": "string"},
                                        },
                                    },
                                },
                            },
                            "threshold": {"type": "string"},
                            "inactiveBallots": {
                                "type": "object",
                                "additionalProperties": {"type": "string"},
                            },
                        },
                    },
                },
                "summary": {"type": "object"},
            },
        },
        "RankedRules": {
            "type": "object",
            "additionalProperties": False,
            "required": ["tie", "batch", "until_two", "seed"],
            "properties": {
                "tie": {"enum": list(counting.TIE_RULES)},
                "batch": {"type": "boolean"},
                "until_two": {"type": "boolean"},
                "seed": {"type": "string", "description": "The lot's seed, fixed and published"},
            },
        },
    }
    paths = {
        "/api/polls/{slug}/results/rctab.json": {
            "get": {
                "summary": "A ranked poll's rounds as RCTab's summary JSON (what rcvis reads)",
                "description": "Made from the results snapshot (computed once per change). "
                "Any other kind of poll: 404 with the code no_rounds.",
                "parameters": [{"$ref": "#/components/parameters/slug"}],
                "responses": {
                    "200": {
                        "description": "RCTab's summary, jsonFormatVersion 1",
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/RCTabSummary"}
                            }
                        },
                    },
                    "403": {"$ref": "#/components/responses/Error"},
                    "404": {"$ref": "#/components/responses/Error"},
                    "405": {"$ref": "#/components/responses/Error"},
                    "503": {"$ref": "#/components/responses/Retry"},
                },
            }
        }
    }
    rules_schema = {"max_ranks": {"type": "integer"}}
    result_keys = ("rounds", "winner", "rules", "tied", "inactive_from_start")
    imports_records = True
    has_rctab = True
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
        Option(
            "tie",
            lambda: forms.ChoiceField(
                label=gettext_lazy("Tie for fewest votes"),
                required=False,
                choices=[
                    ("", gettext_lazy("Earlier rounds, then position (default)")),
                    (counting.PREVIOUS_THEN_LOT, gettext_lazy("Earlier rounds, then a lot")),
                    (counting.ELIMINATE_ALL_TIED, gettext_lazy("All tied go together")),
                ],
                help_text=gettext_lazy("Ranked choice: who goes when several have the fewest."),
            ),
            "ranked: who goes when several have the fewest votes (previous_then_position)",
            whole=False,
            choices=counting.TIE_RULES,
        ),
        Option(
            "batch",
            lambda: forms.BooleanField(
                label=gettext_lazy("Batch elimination"),
                required=False,
                help_text=gettext_lazy(
                    "Ranked choice: drop together every choice that cannot win."
                ),
            ),
            "ranked: drop together every choice that cannot win",
            flag=True,
        ),
        Option(
            "until_two",
            lambda: forms.BooleanField(
                label=gettext_lazy("Count until two remain"),
                required=False,
                help_text=gettext_lazy("Ranked choice: report the final two-way round."),
            ),
            "ranked: count on to a final two-way round",
            flag=True,
        ),
        Option(
            "seed",
            lambda: forms.CharField(
                label=gettext_lazy("Lot's seed"),
                required=False,
                disabled=True,
                help_text=gettext_lazy("Ranked choice: made with the poll, never changed."),
            ),
            "ranked: the lot's seed (default: made with secrets; fixed once the poll exists)",
            whole=False,
            fixed=True,
        ),
    )

    def option_problems(self, options: dict[str, Any]) -> dict[str, str]:
        problems = {}
        most = options.get("max_ranks")
        if most is not None and most < 1:
            problems["max_ranks"] = "A voter ranks at least one choice."
        tie = options.get("tie")
        if tie not in (None, "", *counting.TIE_RULES):
            problems["tie"] = f"{tie!r} is not a tie rule: one of {', '.join(counting.TIE_RULES)}."
        for flag in ("batch", "until_two"):
            if options.get(flag) not in (None, True, False):
                problems[flag] = "On or off: true or false."
        seed = options.get("seed")
        if seed is not None and not (isinstance(seed, str) and 0 < len(seed) <= MAX_SEED):
            problems["seed"] = f"A text of 1 to {MAX_SEED} characters."
        return problems

    def settled_options(self, options: dict[str, Any], stored: dict[str, Any]) -> dict[str, Any]:
        # The seed is made with the poll (or given then) and never changes after.
        seed = stored.get("seed") or options.get("seed") or new_seed()
        off = [flag for flag in ("batch", "until_two") if options.get(flag) is False]
        return {name: value for name, value in options.items() if name not in off} | {"seed": seed}

    def count_rules(self, options: dict[str, Any]) -> dict[str, Any]:
        return {
            "tie": options.get("tie") or counting.PREVIOUS_THEN_POSITION,
            "batch": bool(options.get("batch")),
            "until_two": bool(options.get("until_two")),
        }

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
        rules = rules_for(poll)
        imports = list(
            BallotImport.objects.filter(poll_id=poll.pk, withdrawn_at=None).values_list(
                "ended", "inactive"
            )
        )
        profile = _with_reasons(rankings, [entry for ended, _gone in imports for entry in ended])
        runoff = counting.instant_runoff(profile, candidates, rules)
        inactive: dict[str, int] = {}
        for _ended, by_reason in imports:
            for reason, ballots in by_reason.items():
                inactive[reason] = inactive.get(reason, 0) + ballots
        return {
            "rounds": [_round(r, candidates) for r in runoff.rounds],
            "winner": runoff.winner,
            "tied": list(runoff.tied),
            "rules": rules_document(rules),
            "inactive_from_start": dict(sorted(inactive.items())),
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

    def api_results_words(self, snapshot: dict[str, Any]) -> dict[str, Any]:
        if "rounds" not in snapshot:  # a kept snapshot from before the kind changed
            return {}
        return {
            "described": ranked_words.describe(snapshot),
            "described_language": get_language() or "en",
        }

    def rctab_summary(self, poll: Poll, snapshot: dict[str, Any]) -> dict[str, Any] | None:
        names = {c["id"]: c["label"] for c in snapshot["choices"]}
        return rctab_summary(
            runoff_of(snapshot),
            names,
            contest=poll.question,
            date=poll.created_at.date().isoformat() if poll.created_at else "",
            inactive_from_start=snapshot.get("inactive_from_start") or {},
        )

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


def _with_reasons(
    rankings: list[tuple[tuple[int, ...], int]], ended: list[list[Any]]
) -> list[tuple[tuple[int, ...], int, str]]:
    """The stored rankings, with the imported ballots whose ranking ended for a reason
    (BallotImport.ended) split off under that reason, for the rounds' inactive counts."""
    reasons: dict[tuple[int, ...], dict[str, int]] = {}
    for ranking, reason, ballots in ended:
        by_reason = reasons.setdefault(tuple(ranking), {})
        by_reason[reason] = by_reason.get(reason, 0) + ballots
    profile: list[tuple[tuple[int, ...], int, str]] = []
    for ranking, votes in rankings:
        left = votes
        for reason, ballots in sorted(reasons.get(ranking, {}).items()):
            taken = min(ballots, left)  # never more than the stored count
            profile.append((ranking, taken, reason))
            left -= taken
        profile.append((ranking, left, ""))
    return profile


def _counts(counts: dict[int, int], candidates: list[int]) -> list[dict[str, Any]]:
    return [{"id": c, "votes": counts[c]} for c in candidates if c in counts]


def _round(r: counting.Round, candidates: list[int]) -> dict[str, Any]:
    """One round in the snapshot: the fields the pages read since the first runoff, and
    every choice going with its own transfers, the tie and how it was broken, and the
    inactive ballots by reason (docs/api.md, Ranked choice's rounds)."""
    return {
        "counts": with_shares(_counts(r.counts, candidates)),
        "exhausted": r.exhausted,
        "eliminated": r.eliminated,
        "transfers": _counts(r.transfers, candidates),
        "transferred_to_exhausted": r.transferred_to_exhausted,
        "eliminations": [
            {
                "id": move.choice,
                "transfers": _counts(move.to, candidates),
                "exhausted": move.exhausted,
            }
            for move in r.eliminations
        ],
        "tie": None
        if r.tie is None
        else {
            "tied": list(r.tie.tied),
            "rule": r.tie.rule,
            "broken_by": r.tie.broken_by,
            "still_tied": list(r.tie.still_tied),
            "lot": [{"id": choice, "ticket": ticket} for choice, ticket in r.tie.lot],
        },
        "inactive": dict(sorted(r.inactive.items())),
    }


def runoff_of(snapshot: dict[str, Any]) -> counting.Runoff:
    """The runoff a snapshot publishes, back as polls.counting's rounds (for RCTab's
    summary, from the snapshot computed once per change)."""
    rounds = []
    for shown in snapshot["rounds"]:
        moves = tuple(
            counting.Transfer(
                move["id"], {t["id"]: t["votes"] for t in move["transfers"]}, move["exhausted"]
            )
            for move in shown.get("eliminations", [])
        )
        one = shown["eliminated"] is not None
        rounds.append(
            counting.Round(
                {c["id"]: c["votes"] for c in shown["counts"]},
                shown["exhausted"],
                shown["eliminated"],
                {t["id"]: t["votes"] for t in shown["transfers"]},
                shown["transferred_to_exhausted"],
                together=() if one else tuple(move.choice for move in moves),
                by_choice=() if one else moves,
                inactive=dict(shown.get("inactive", {})),
            )
        )
    return counting.Runoff(rounds, snapshot["winner"], tuple(snapshot.get("tied", ())))


def going(current: dict[str, Any]) -> list[int]:
    """The choices that go after a round (one, several together, or none)."""
    if current["eliminated"] is not None:
        return [current["eliminated"]]
    return [move["id"] for move in current.get("eliminations", [])]


def ranked_view(snapshot: dict[str, Any]) -> dict[str, Any]:
    """The runoff as a person reads it: each round's continuing choices with the votes
    they gained from the choice eliminated in the round before, the rounds as a table,
    and the first preferences with Borda points. live.js `rankedView` is the same."""
    labels = {c["id"]: c["label"] for c in snapshot["choices"]}
    rounds = snapshot["rounds"]
    winner = snapshot["winner"]
    words = ranked_words.describe(snapshot)
    shown = []
    for index, current in enumerate(rounds):
        before = rounds[index - 1] if index else None
        gained = {t["id"]: t["votes"] for t in before["transfers"]} if before else {}
        source = ", ".join(labels.get(c, "") for c in going(before)) if before else ""
        active = sum(c["votes"] for c in current["counts"])
        last = index == len(rounds) - 1
        out = going(current)
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
                        "eliminated": c["id"] in out,
                        "winner": last and c["id"] == winner,
                        "outflow": _outflow(labels, current, c["id"]) if c["id"] in out else "",
                    }
                    for c in current["counts"]
                ],
                "exhausted": current["exhausted"],
                "exhausted_gain": before["transferred_to_exhausted"] if before else 0,
                "reasons": ranked_words.by_reason(current.get("inactive") or {}),
                "source": source,
                "words": words[index],
                "numbers": [
                    {
                        "label": labels.get(c["id"], ""),
                        "votes": ranked_words.grouped(c["votes"]),
                        "share": ranked_words.share(c["percent"]),
                    }
                    for c in current["counts"]
                ],
                "inactive": ranked_words.grouped(current["exhausted"]),
            }
        )
    start = snapshot.get("inactive_from_start") or {}
    return {
        "outcome": _outcome(labels, rounds, winner),
        "rounds": shown,
        "last": shown[-1] if shown else None,
        "table": _rounds_table(snapshot),
        "transfers": _transfers_table(labels, rounds),
        "apart": sum(start.values()),
        "apart_reasons": ranked_words.by_reason(start),
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
    if out := going(current):
        return _("%(choice)s eliminated") % {"choice": ", ".join(labels.get(c, "") for c in out)}
    if winner is not None:
        return _("%(choice)s has more than half") % {"choice": labels.get(winner, "")}
    return _("No ballots left in the count") if last else ""


def _outflow(labels: dict[int, str], current: dict[str, Any], choice: int) -> str:
    """Where the eliminated choice's ballots go next round."""
    move = next((m for m in current.get("eliminations", []) if m["id"] == choice), None)
    transfers, exhausted = (
        (move["transfers"], move["exhausted"])
        if move is not None
        else (current["transfers"], current["transferred_to_exhausted"])
    )
    parts = [f"{labels.get(t['id'], '')} +{t['votes']}" for t in transfers]
    if exhausted:
        parts.append(_("exhausted +%(votes)s") % {"votes": exhausted})
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
                    "out": cid in going(current),
                    "won": index == len(rounds) - 1 and winner == cid,
                }
            )
        rows.append({"id": choice["id"], "label": choice["label"], "cells": cells})
    return {
        "numbers": list(range(1, len(rounds) + 1)),
        "rows": rows,
        "exhausted": [r["exhausted"] for r in rounds],
    }


def _transfers_table(labels: dict[int, str], rounds: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The Sankey's numbers as rows (its no-script and screen-reader form): after each
    round, from each choice going, to each next choice or to inactive."""
    rows = []
    for index, current in enumerate(rounds):
        for move in current.get("eliminations") or []:
            for t in move["transfers"]:
                rows.append(
                    {
                        "round": index + 1,
                        "source": labels.get(move["id"], ""),
                        "target": labels.get(t["id"], ""),
                        "votes": t["votes"],
                    }
                )
            if move["exhausted"]:
                rows.append(
                    {
                        "round": index + 1,
                        "source": labels.get(move["id"], ""),
                        "target": _("inactive"),
                        "votes": move["exhausted"],
                    }
                )
    return rows
