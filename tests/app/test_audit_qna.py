"""A Q&A board's audit export (`export_audit --board CODE`) and the stand-alone verifier:
the verifier (its own process, standard library alone) counts each question's upvotes
again from the exported upvote actions (each voter's latest per question by admission
time) and says OK; a changed upvote row, or one changed line of the export, fails it,
the first question that does not fit named. Voters appear as v1, v2, ... never their
cookies."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from polls import live_sessions, qna_reads
from polls.models import LiveSession, QnaBoard, QnaUpvote
from polls.pipeline import qna_store
from polls.pipeline.qna_message import ASK, UPVOTE, QnaAction
from tests.app.test_audit import verify
from tests.support.kinds import kind_poll

pytestmark = pytest.mark.django_db


@pytest.fixture
def session() -> LiveSession:
    owner = User.objects.create_user("quinn")
    made = live_sessions.create_session(title="Ask me", owner=owner, polls=[], qna=True)
    return live_sessions.go_live(made)


@pytest.fixture
def board(session: LiveSession) -> QnaBoard:
    """Three questions; upvotes as the worker stores them, one taken back, one given late."""
    found = qna_reads.board_of(session)
    assert found is not None
    asks = [QnaAction(ASK, uuid.uuid4(), found.pk, f"anon:asker{n}", timezone.now(),
                      admitted_ms=n, text=text)
            for n, text in enumerate(["First?", "Second?", "Third?"], start=1)]  # fmt: skip
    qna_store.record(asks)
    first, second, _third = (a.id for a in asks)

    def up(question: uuid.UUID, voter: str, up: bool, at: int) -> QnaAction:
        return QnaAction(UPVOTE, uuid.uuid4(), found.pk, f"anon:{voter}", timezone.now(),
                         admitted_ms=at, question=question, up=up)  # fmt: skip

    qna_store.record(
        [up(first, "a", True, 10), up(first, "b", True, 11), up(second, "a", True, 12)]
    )
    qna_store.record([up(second, "b", True, 13), up(second, "b", False, 14)])  # taken back
    qna_store.record([up(first, "c", True, 20), up(first, "c", False, 15)])  # older, late
    assert [q.upvotes for q in found.questions.order_by("id")] == [3, 1, 0]
    return found


def export(session: LiveSession, tmp_path: Path) -> Path:
    path = tmp_path / f"qna-{session.pk}.json"
    call_command("export_audit", board=session.code, output=path)
    return path


def test_the_export_holds_questions_and_upvote_actions_and_verifies(
    session, board, tmp_path
) -> None:
    path = export(session, tmp_path)
    doc = json.loads(path.read_text())
    assert doc["format"] == "votingsite-qna-audit/1"
    assert [(q["text"], q["upvotes"]) for q in doc["questions"]] == [
        ("First?", 3), ("Second?", 1), ("Third?", 0)
    ]  # fmt: skip
    assert {a["voter"] for a in doc["upvotes"]} == {"v1", "v2", "v3"}
    assert "anon:" not in path.read_text()  # no voter's cookie
    assert doc["result"] == {"questions": 3, "upvotes": 4}
    code, said = verify(path)
    assert code == 0, said
    assert said.startswith("OK: the Q&A board of session"), said


def test_the_verifier_keeps_each_voters_latest_action_whatever_the_order(tmp_path) -> None:
    q = str(uuid.uuid4())
    doc: dict[str, Any] = {
        "format": "votingsite-qna-audit/1", "session": {"id": 1}, "board": {"id": 1},
        "questions": [{"id": q, "text": "?", "state": "shown", "upvotes": 0}],
        "upvotes": [{"question": q, "voter": "v1", "up": False, "admitted_ms": 9, "action": "b"},
                    {"question": q, "voter": "v1", "up": True, "admitted_ms": 5, "action": "a"}],
        "result": {"questions": 1, "upvotes": 0},
    }  # fmt: skip
    path = tmp_path / "hand.json"
    path.write_text(json.dumps(doc))
    assert verify(path)[0] == 0
    doc["upvotes"][0]["admitted_ms"] = 4  # now the up is the latest: 0 no longer fits
    path.write_text(json.dumps(doc))
    code, said = verify(path)
    assert (code, said) == (1, "FAIL: question 1: publishes 0 upvotes, its actions count 1")


def test_a_changed_stored_upvote_row_fails_the_verifier_naming_its_question(
    session, board, tmp_path
) -> None:
    second = board.questions.get(text="Second?")
    QnaUpvote.objects.filter(question=second, up=True).update(up=False)  # upvotes stays 1
    code, said = verify(export(session, tmp_path))
    assert code == 1
    assert said.startswith("FAIL: question 2 (line "), said
    assert said.endswith("publishes 1 upvotes, its actions count 0"), said


LINES: dict[str, tuple[str, Callable[[str], str], str]] = {
    "an upvote taken back": ('{"action":', lambda t: t.replace('"up":true', '"up":false'),
                             "FAIL: question 1 (line "),
    "a question's count": ('{"id":', lambda t: t.replace('"upvotes":3', '"upvotes":4'),
                           "FAIL: question 1 (line "),
    "an upvote moved to no question": ('{"action":', lambda t: t.replace('"question":"',
                                       '"question":"x'), "FAIL: upvote 1 (line "),
    "the total": ('"result":', lambda t: t.replace('"upvotes":4', '"upvotes":5'),
                  "FAIL: result: the upvotes"),
}  # fmt: skip


@pytest.mark.parametrize("case", LINES)
def test_one_changed_line_of_the_export_fails_and_is_named(
    case: str, session: Any, board: Any, tmp_path: Path
) -> None:
    path = export(session, tmp_path)
    assert verify(path)[0] == 0
    starts, change, named = LINES[case]
    lines = path.read_text().splitlines()
    number = next(i for i, line in enumerate(lines) if line.startswith(starts))
    changed = change(lines[number])
    assert changed != lines[number]
    lines[number] = changed
    path.write_text("\n".join(lines) + "\n")
    code, said = verify(path)
    assert code == 1
    assert said.startswith(named), said


def test_the_command_needs_a_slug_or_a_board_with_a_board(session: Any) -> None:
    with pytest.raises(CommandError, match="one of them"):
        call_command("export_audit")
    plain = live_sessions.go_live(
        live_sessions.create_session(
            title="No Q&A", owner=session.owner, polls=[kind_poll("single")]
        )
    )
    with pytest.raises(CommandError, match="has no Q&A board"):
        call_command("export_audit", board=plain.code)
