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
            publisher.announce_qna_after_commit(changed)
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
    questions = {
        str(q.uuid): q
        for q in Question.objects.filter(uuid__in={a.question for a in latest.values()})
    }
    held = {
        (str(row.question.uuid), row.voter_key): row
        for row in QnaUpvote.objects.select_for_update()
        .select_related("question")
        .filter(
            question__in=list(questions.values()),
            voter_key__in={a.voter_key for a in latest.values()},
        )
        .order_by("pk")
    }
    deltas: dict[int, int] = {}
    kept: list[QnaUpvote] = []
    for at, action in sorted(latest.items()):
        question = questions.get(at[0])
        if question is None or question.board_id != action.board_id:
            logger.error("dropping upvote %s of an unknown question %s", action.id, at[0])
            continue
        row = held.get(at)
        if row is not None and (row.admitted_ms, str(row.action_id)) >= action.order:
            continue  # redelivered, or older than the action kept
        before = bool(row and row.up)
        kept.append(
            QnaUpvote(question=question, voter_key=action.voter_key, up=action.up,
                      admitted_ms=action.admitted_ms or 0, action_id=action.id)
        )  # fmt: skip
        if action.up != before:
            deltas[question.pk] = deltas.get(question.pk, 0) + (1 if action.up else -1)
    # One statement for new rows and changed ones (the voter's row of a question is the
    # conflict), one for the counts: a batch touching hundreds of questions is two
    # statements, not one per question (the worker's main cost at the benchmark's size).
    QnaUpvote.objects.bulk_create(
        kept, update_conflicts=True, unique_fields=["question", "voter_key"],
        update_fields=["up", "admitted_ms", "action_id"],
    )  # fmt: skip
    _move_counts(deltas)
    touched = {questions[at[0]].board_id for at, a in latest.items() if at[0] in questions}
    return touched if kept else set()


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
