"""A Q&A action on the wire (polls.pipeline.qna_message): what the web side sends is what
the worker reads back, the ledger entry the admission script stamps is the one the worker
strikes off, and anything malformed is refused (the worker drops it, the batch goes on)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from polls.pipeline.message import stamped
from polls.pipeline.qna_message import ASK, UPVOTE, QnaAction, member

AT = datetime(2026, 12, 6, 9, 30, 0, 123456, tzinfo=UTC)


def asked(text: str = "Why?", **kw: Any) -> QnaAction:
    return QnaAction(ASK, uuid.uuid4(), 7, "anon:a", AT, text=text, **kw)


def upvoted(up: bool = True) -> QnaAction:
    return QnaAction(UPVOTE, uuid.uuid4(), 7, "anon:a", AT, question=uuid.uuid4(), up=up)


@pytest.mark.parametrize(
    "action",
    [asked(), asked('"@t@" | @v1@ \\ \u00e9 👍🏽', name="Zoë", state="pending", flagged=True),
     upvoted(True), upvoted(False)],
)  # fmt: skip
def test_the_ledger_entry_the_script_stamps_is_the_one_the_worker_strikes_off(action) -> None:
    admission = member(action.to_admission_message())
    entry = stamped(admission, admitted_ms=1_765_000_000_123, versions={})
    read = QnaAction.from_message(json.loads(entry))
    assert read.admitted_ms == 1_765_000_000_123
    assert member(read.to_message()) == entry
    assert (read.kind, read.text, read.name, read.up, read.question) == (
        action.kind, action.text, action.name, action.up, action.question
    )  # fmt: skip


def test_a_question_text_never_holds_a_placeholder_the_script_would_stamp() -> None:
    admission = member(asked('"@t@"').to_admission_message())
    assert admission.count("@t@") == 1  # the admission time's own placeholder only


def good(**changes: Any) -> dict[str, Any]:
    message = {**upvoted().to_message(), "admitted_ms": 5}
    message.update(changes)
    return {k: v for k, v in message.items() if v is not None}


def question(**changes: Any) -> dict[str, Any]:
    q = {"text": "x", "name": "", "state": "shown", "flagged": False, **changes}
    return {**good(a="ask"), "q": json.dumps(q)}


@pytest.mark.parametrize(
    "message",
    [[], good(a="toggle"), good(up="yes"), good(up=None), good(question="nope"),
     good(board="7"), good(admitted_ms=None), good(voter_key=""), good(voter_key="x" * 65),
     good(voter_key="a\x00b"), good(cast_at="2026-12-06T09:30:00"),
     {**good(a="ask"), "q": "{}"}, {**good(a="ask"), "q": "not json"},
     question(text=""), question(state="hidden"), question(text="\ud800"), question(flagged=1)],
)  # fmt: skip
def test_a_malformed_action_is_refused(message) -> None:
    with pytest.raises(ValueError, match=r"\w"):  # any reason, said in words
        QnaAction.from_message(message)


def test_the_latest_action_is_the_later_admission_then_the_greater_id() -> None:
    first = QnaAction(UPVOTE, uuid.UUID(int=2), 7, "anon:a", AT, admitted_ms=10, up=True)
    later = QnaAction(UPVOTE, uuid.UUID(int=1), 7, "anon:a", AT, admitted_ms=11, up=False)
    tie = QnaAction(UPVOTE, uuid.UUID(int=3), 7, "anon:a", AT, admitted_ms=10, up=False)
    assert max([first, later, tie], key=lambda a: a.order) is later
    assert max([first, tie], key=lambda a: a.order) is tie
