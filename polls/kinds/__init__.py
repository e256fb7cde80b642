"""The kinds of question, one module each, behind one registry.

A kind (polls.kinds.base.Kind) owns what differs between kinds: its options, what its
ballot may say and how it is stored, where a ballot counts, its results, its exports, its
templates and its part of the OpenAPI document. Everything else asks `kind_for(poll)`.
A ballot is a tuple whatever the kind (of integers; a text kind's of entries); the vote message
carries it as canonical JSON (polls.pipeline.message), which the worker gives back to the
kind (Kind.from_message). The web side (polls.pipeline.submit) and
the worker (polls.pipeline.store) both check ballots here, against the same rules.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from polls.models import Poll

from . import openapi
from .base import (
    UNKNOWN_CHOICE,
    BallotProblem,
    BallotShapeError,
    Counted,
    Kind,
    Option,
    ordinal,
    with_shares,
)
from .multiple import Multiple
from .openanswer import OpenAnswer
from .ranked import Ranked
from .scale import Scale
from .single import Single
from .wordcloud import WordCloud

# The kind a poll is unless it says otherwise (Poll.kind's default).
DEFAULT_KIND: str = Poll._meta.get_field("kind").get_default()

# Every kind, by its name (Poll.Kind's values, in their order).
KINDS: dict[str, Kind] = {
    kind.name: kind for kind in (Single(), Multiple(), Ranked(), Scale(), WordCloud(), OpenAnswer())
}


def kind_for(poll_or_name: Poll | str | Any) -> Kind:
    """The kind of a poll (or of a kind's name)."""
    name = poll_or_name if isinstance(poll_or_name, str) else poll_or_name.kind
    return KINDS[str(name)]


@cache
def openapi_text() -> bytes:
    """The API's OpenAPI document (polls.kinds.openapi), as served."""
    return json.dumps(openapi.document(list(KINDS.values())), ensure_ascii=False).encode()


def option_names() -> list[str]:
    """Every kind's option names (commands and forms that take any kind's options)."""
    names = [option.name for kind in KINDS.values() for option in kind.options]
    return list(dict.fromkeys(names))  # kinds share some (the quiz settings)


def rules(poll: Poll) -> dict[str, Any]:
    """What a ballot of this poll may say, beyond its choices (for the API and the pages)."""
    return kind_for(poll).rules(poll, len(poll.choices.all()))


def normalise(poll: Poll, choice_ids: Any, ballot: Any) -> tuple:
    """The ballot as stored, or BallotProblem. `choice_ids`: the poll's choices."""
    return kind_for(poll).normalise(poll, choice_ids, ballot)


def counted(kind: str, ballot: Any) -> Counted:
    """Where one stored ballot counts."""
    return KINDS[kind].counted(ballot)


__all__ = [
    "DEFAULT_KIND",
    "KINDS",
    "UNKNOWN_CHOICE",
    "BallotProblem",
    "BallotShapeError",
    "Counted",
    "Kind",
    "Option",
    "counted",
    "kind_for",
    "normalise",
    "openapi_text",
    "option_names",
    "ordinal",
    "rules",
    "with_shares",
]
