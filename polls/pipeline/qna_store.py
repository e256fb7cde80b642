"""The worker's store of Q&A actions: one transaction per batch, idempotent.

- A question is inserted under the UUID its admission gave it: stored twice, once.
- An upvote action carries the wanted state (up or not). Per (voter, question) the row
  keeps the latest action by admission time (Redis's clock), then action id: a
  redelivered action changes nothing, an older one arriving late is ignored. The
  question's `upvotes` moves by the difference in the same transaction.
- Each board's writers take its advisory lock first (one order: board ids ascending), so
  two workers' batches of one board cannot interleave their counts.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from typing import Any

from django.db import (
    InterfaceError,
    OperationalError,
    close_old_connections,
    connection,
    transaction,
)
from django.db.models import F

from polls.live import publisher
from polls.models import QnaBoard, QnaUpvote, Question

from .qna_message import ASK, QnaAction

logger = logging.getLogger(__name__)

# The advisory lock's first key: Q&A boards (the second is the board's id).
LOCK_CLASS = 35
_RETRY_FIRST_SECONDS, _RETRY_MAX_SECONDS = 0.2, 5.0


def lock_boards(board_ids: Iterable[int]) -> None:
    """In a transaction: hold these boards' Q&A locks until it ends (ascending ids)."""
    with connection.cursor() as cursor:
        for board_id in sorted(set(board_ids)):
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [LOCK_CLASS, board_id])


def record(actions: Sequence[QnaAction]) -> set[int]:
    """Store a batch of actions; returns the boards that changed."""
    with transaction.atomic():
        boards = set(
            QnaBoard.objects.filter(pk__in={a.board_id for a in actions}).values_list(
                "pk", flat=True
            )
        )
        lock_boards(boards)
        mine = [a for a in actions if a.board_id in boards]
        changed = _ask([a for a in mine if a.kind == ASK])
        changed |= _upvote([a for a in mine if a.kind != ASK])
        for board_id in sorted(changed):
            QnaBoard.objects.filter(pk=board_id).update(seq=F("seq") + 1)
        if changed:
            voters: dict[int, set[str]] = {}
            for action in mine:
                voters.setdefault(action.board_id, set()).add(action.voter_key)
            publisher.announce_qna_after_commit(changed, voters)
    return changed


def _ask(asks: Sequence[QnaAction]) -> set[int]:
    if not asks:
        return set()
    rows = [
        Question(board_id=a.board_id, uuid=a.id, voter_key=a.voter_key, name=a.name,
                 text=a.text, state=a.state, flagged=a.flagged, asked_at=a.cast_at,
                 admitted_ms=a.admitted_ms or 0)
        for a in sorted(asks, key=lambda a: a.order)
    ]  # fmt: skip
    known = set(
        Question.objects.filter(uuid__in=[a.id for a in asks]).values_list("uuid", flat=True)
    )
    new = [row for row in rows if row.uuid not in known]
    Question.objects.bulk_create(new, ignore_conflicts=True)
    return {row.board_id for row in new}


def _upvote(ups: Sequence[QnaAction]) -> set[int]:
    if not ups:
        return set()
    latest: dict[tuple[str, str], QnaAction] = {}
    for action in ups:  # the latest of the batch per (question, voter)
        at = (str(action.question), action.voter_key)
        if at not in latest or action.order > latest[at].order:
            latest[at] = action
    # uuid -> (id, board id): read as rows, not model instances.
    questions = {
        str(uuid): (pk, board_id)
        for uuid, pk, board_id in Question.objects.filter(
            uuid__in={a.question for a in latest.values()}
        ).values_list("uuid", "pk", "board_id")
    }
    held = _held_rows({(questions[q][0], voter) for q, voter in latest if q in questions})
    deltas: dict[int, int] = {}
    kept: list[QnaUpvote] = []
    for at, action in sorted(latest.items()):
        question_id, board_id = questions.get(at[0], (None, None))
        if question_id is None or board_id != action.board_id:
            logger.error("dropping upvote %s of an unknown question %s", action.id, at[0])
            continue
        row = held.get((question_id, action.voter_key))
        if row is not None and (row[1], str(row[2])) >= action.order:
            continue  # redelivered, or older than the action kept
        before = bool(row and row[0])
        kept.append(
            QnaUpvote(question_id=question_id, voter_key=action.voter_key, up=action.up,
                      admitted_ms=action.admitted_ms or 0, action_id=action.id)
        )  # fmt: skip
        if action.up != before:
            deltas[question_id] = deltas.get(question_id, 0) + (1 if action.up else -1)
    # One statement for new rows and changed ones (the voter's row of a question is the
    # conflict), one for the counts: a batch touching hundreds of questions is two
    # statements, not one per question (the worker's main cost at the benchmark's size).
    QnaUpvote.objects.bulk_create(
        kept, update_conflicts=True, unique_fields=["question", "voter_key"],
        update_fields=["up", "admitted_ms", "action_id"],
    )  # fmt: skip
    _move_counts(deltas)
    touched = {questions[at[0]][1] for at in latest if at[0] in questions}
    return touched if kept else set()


def _held_rows(pairs: set[tuple[int, str]]) -> dict[tuple[int, str], tuple[bool, int, Any]]:
    """The stored rows of these (question id, voter) pairs, locked: (up, admitted_ms,
    action_id) by pair. Matched pair by pair: filtering by questions and by voters apart
    read every row of the batch's voters on the batch's questions, up to ten times the
    rows needed at the benchmark's size (a phone's ten rounds), as model instances."""
    if not pairs:
        return {}
    ordered = sorted(pairs)
    values = ", ".join(["(%s, %s)"] * len(ordered))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT u.question_id, u.voter_key, u.up, u.admitted_ms, u.action_id"  # noqa: S608 (our table's name; values are parameters)
            f" FROM {QnaUpvote._meta.db_table} AS u"
            f" JOIN (VALUES {values}) AS v(question_id, voter_key)"
            " ON u.question_id = v.question_id AND u.voter_key = v.voter_key"
            " ORDER BY u.id FOR UPDATE OF u",
            [n for pair in ordered for n in pair],
        )
        return {(q, voter): (up, ms, action) for q, voter, up, ms, action in cursor.fetchall()}


def _move_counts(deltas: dict[int, int]) -> None:
    """Each question's `upvotes` moved by its delta, in one UPDATE."""
    moved = sorted((pk, delta) for pk, delta in deltas.items() if delta)
    if not moved:
        return
    values = ", ".join(["(%s, %s)"] * len(moved))
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {Question._meta.db_table} AS q SET upvotes = q.upvotes + v.delta"  # noqa: S608 (our table's name; values are parameters)
            f" FROM (VALUES {values}) AS v(id, delta) WHERE q.id = v.id",
            [n for pair in moved for n in pair],
        )


def store_with_retry(actions: Sequence[QnaAction]) -> set[int]:
    """record, waiting out a database outage (backoff) instead of failing the batch."""
    delay = _RETRY_FIRST_SECONDS
    while True:
        try:
            return record(actions)
        except (OperationalError, InterfaceError) as exc:
            logger.warning("database unavailable (%s); retrying %d Q&A actions", exc, len(actions))
            connection.close()
            time.sleep(delay)
            delay = min(delay * 2, _RETRY_MAX_SECONDS)
            close_old_connections()
