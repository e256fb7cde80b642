"""A Q&A action as it travels from the web role through Redis to the worker: a question
asked, or an upvote's wanted state (up or not: never a toggle, since a redelivered toggle
would flip it back). The `polls.record_qna` task's one argument is a list of them.

    a            "ask" or "upvote"
    id           UUID: the question's (ask) or the action's (upvote); storing twice changes nothing
    board        the Q&A board's id
    voter_key    string, 1-64 characters, no NUL
    cast_at      ISO 8601 with a zone, the web host's clock
    admitted_ms  Redis's clock in the admission script (ms): orders a voter's upvote actions
    q            ask: canonical JSON text of {"text", "name", "state", "flagged"} (JSON
                 inside a string: "@" escaped, so no text can hold the script's placeholder)
    question     upvote: the question's UUID
    up           upvote: true (upvoted) or false (not)

Versions only add fields; a worker ignores fields it does not know.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .message import canonical_json

TASK_NAME = "polls.record_qna"
ASK = "ask"
UPVOTE = "upvote"
STATES = ("shown", "pending")
MAX_TEXT = 4 * 280 * 2  # code points of a stored question, generously (the web side bounds it)


@dataclass(frozen=True)
class QnaAction:
    kind: str  # ASK or UPVOTE
    id: uuid.UUID
    board_id: int
    voter_key: str
    cast_at: datetime
    admitted_ms: int | None = None
    text: str = ""
    name: str = ""
    state: str = "shown"
    flagged: bool = False
    question: uuid.UUID | None = None
    up: bool = False

    def to_message(self) -> dict[str, Any]:
        message: dict[str, Any] = {
            "a": self.kind,
            "id": str(self.id),
            "board": self.board_id,
            "voter_key": self.voter_key,
            "cast_at": self.cast_at.isoformat(),
        }
        if self.admitted_ms is not None:
            message["admitted_ms"] = self.admitted_ms
        if self.kind == ASK:
            message["q"] = canonical_json(
                {"text": self.text, "name": self.name, "state": self.state,
                 "flagged": self.flagged}
            )  # fmt: skip
        else:
            message["question"] = str(self.question)
            message["up"] = self.up
        return message

    def to_admission_message(self) -> dict[str, Any]:
        """With the placeholder the admission script fills with Redis's time."""
        return {**self.to_message(), "admitted_ms": "@t@"}

    @classmethod
    def from_message(cls, data: Any) -> QnaAction:
        """Parse a message; ValueError for anything that is not a well-formed action."""
        if not isinstance(data, dict):
            raise ValueError("Q&A message is not an object")
        try:
            kind, board_id, voter_key = data["a"], data["board"], data["voter_key"]
            action_id = uuid.UUID(str(data["id"]))
            cast_at = datetime.fromisoformat(str(data["cast_at"]))
            admitted_ms = data["admitted_ms"]
        except (KeyError, ValueError, TypeError) as exc:
            raise ValueError(f"malformed Q&A message: {exc!r}") from None
        if kind not in (ASK, UPVOTE) or type(board_id) is not int or type(admitted_ms) is not int:
            raise ValueError("a, board and admitted_ms must be an action, an id and an integer")
        if not isinstance(voter_key, str) or not 0 < len(voter_key) <= 64 or "\x00" in voter_key:
            raise ValueError("voter_key must be 1-64 characters without NUL")
        if cast_at.tzinfo is None:
            raise ValueError("cast_at must carry a time zone")
        common = {"kind": kind, "id": action_id, "board_id": board_id, "voter_key": voter_key,
                  "cast_at": cast_at, "admitted_ms": admitted_ms}  # fmt: skip
        if kind == UPVOTE:
            try:
                question = uuid.UUID(str(data["question"]))
            except (KeyError, ValueError) as exc:
                raise ValueError(f"malformed upvote: {exc!r}") from None
            if type(data.get("up")) is not bool:
                raise ValueError("up must be true or false")
            return cls(**common, question=question, up=data["up"])
        return cls(**common, **_question_of(data.get("q")))

    @property
    def order(self) -> tuple[int, str]:
        """Which of a voter's actions on a question is the latest: admission time, then id."""
        return (self.admitted_ms or 0, str(self.id))


def _question_of(text: Any) -> dict[str, Any]:
    if not isinstance(text, str) or len(text) > 4 * MAX_TEXT:
        raise ValueError("q must be JSON text")
    try:
        q = json.loads(text)
    except (ValueError, RecursionError):
        raise ValueError("q is not JSON") from None
    if not isinstance(q, dict) or set(q) != {"text", "name", "state", "flagged"}:
        raise ValueError("q holds text, name, state and flagged")
    shown, name, state, flagged = q["text"], q["name"], q["state"], q["flagged"]
    if not isinstance(shown, str) or not 0 < len(shown) <= MAX_TEXT:
        raise ValueError("a question's text is 1 to MAX_TEXT code points")
    if not isinstance(name, str) or len(name) > 160 or state not in STATES:
        raise ValueError("a name of at most 160 code points, a known state")
    if type(flagged) is not bool:
        raise ValueError("flagged is true or false")
    if any("\x00" in s or _has_surrogate(s) for s in (shown, name)):
        raise ValueError("no NUL or lone surrogate (Postgres cannot store them)")
    return {"text": shown, "name": name, "state": state, "flagged": flagged}


def _has_surrogate(text: str) -> bool:
    return any(0xD800 <= ord(ch) <= 0xDFFF for ch in text)


def member(message: dict[str, Any]) -> str:
    """The ledger entry of an action, from its message (placeholders in, as the script
    stamps them; no other "@" can occur: the text travels escaped in `q`)."""
    return json.dumps(message, sort_keys=True, separators=(",", ":"))
