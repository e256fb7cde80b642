"""What each kind of question accepts, and which aggregates a ballot counts in.

A ballot is a tuple of integers whatever the kind: (choice,) for single choice, the picked
choices in id order for multiple choice, the ranking best first for ranked choice, and
(value,) for a rating scale. The web side (polls.pipeline.submit) and the worker
(polls.pipeline.store) both check ballots here, against the same rules.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .models import Poll

Kind = Poll.Kind


class BallotProblem(ValueError):
    """A ballot the poll's rules refuse; `message` says why, for the voter."""

    def __init__(self, message: str, *, unknown_choice: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.unknown_choice = unknown_choice


UNKNOWN_CHOICE = gettext_lazy("That choice is not part of this poll.")


def picks_range(poll: Poll, choices: int) -> tuple[int, int]:
    """Multiple choice: the fewest and most choices a voter picks."""
    low = poll.min_picks or 1
    high = poll.max_picks or choices
    return low, min(high, choices)


def ranks_allowed(poll: Poll, choices: int) -> int:
    """Ranked choice: how many choices a voter may rank."""
    return min(poll.max_ranks or choices, choices)


def normalise(poll: Poll, choice_ids: Sequence[int], ballot: Sequence[int]) -> tuple[int, ...]:
    """The ballot as stored, or BallotProblem. `choice_ids`: the poll's choices."""
    known = set(choice_ids)
    if poll.kind == Kind.SCALE:
        low, high = poll.scale_range
        if len(ballot) != 1 or not low <= ballot[0] <= high:
            raise BallotProblem(
                _("Give one value from %(low)s to %(high)s.") % {"low": low, "high": high}
            )
        return (ballot[0],)
    if any(choice not in known for choice in ballot):
        raise BallotProblem(str(UNKNOWN_CHOICE), unknown_choice=True)
    if len(set(ballot)) != len(ballot):
        raise BallotProblem(
            _("Rank each choice at most once.")
            if poll.kind == Kind.RANKED
            else _("Pick each choice at most once.")
        )
    if poll.kind == Kind.MULTIPLE:
        low, high = picks_range(poll, len(known))
        if not low <= len(ballot) <= high:
            raise BallotProblem(_picks_message(low, high))
        return tuple(sorted(ballot))
    if poll.kind == Kind.RANKED:
        most = ranks_allowed(poll, len(known))
        if not 1 <= len(ballot) <= most:
            raise BallotProblem(
                _("Rank from 1 to %(most)s of the choices, best first.") % {"most": most}
            )
        return tuple(ballot)
    if len(ballot) != 1:
        raise BallotProblem(_("Pick one of the poll's choices."))
    return (ballot[0],)


def _picks_message(low: int, high: int) -> str:
    if low == high:
        return _("Pick exactly %(low)s of the choices.") % {"low": low}
    return _("Pick from %(low)s to %(high)s of the choices.") % {"low": low, "high": high}


@dataclass(frozen=True)
class Counted:
    """Where one ballot counts: the choices whose Tally it adds to, its ranking (ranked),
    its value (scale)."""

    tallies: tuple[int, ...]
    ranking: tuple[int, ...] | None = None
    value: int | None = None


def counted(kind: str, ballot: Sequence[int]) -> Counted:
    if kind == Kind.SCALE:
        return Counted((), value=ballot[0])
    if kind == Kind.RANKED:
        return Counted((ballot[0],), ranking=tuple(ballot))
    return Counted(tuple(ballot))  # single, multiple: each choice picked


def api_shape(kind: str) -> tuple[str, str]:
    """The JSON API's field for a kind's ballot, and how to describe the whole body."""
    return {
        Kind.SINGLE: ("choice", '{"choice": <choice id>}'),
        Kind.MULTIPLE: ("choices", '{"choices": [<choice id>, ...]}'),
        Kind.RANKED: ("ranking", '{"ranking": [<choice id>, ...], best first}'),
        Kind.SCALE: ("value", '{"value": <number>}'),
    }[Kind(kind)]
