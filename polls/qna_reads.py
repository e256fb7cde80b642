"""What pages, sockets and the API read of a Q&A board: its snapshot (bounded: the top 50
and the newest 50 shown questions, whatever the board's size), a voter's own questions
and upvotes, and pages of questions for the API. Writes are polls.qna's."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from django.db.models import Count, F, Q, QuerySet, Sum

from polls.models import QnaBoard, QnaUpvote, Question

SNAPSHOT_TOP = 50
_UNANSWERED_FIRST = F("answered_at").asc(nulls_first=True)
SNAPSHOT_NEWEST = 50
PAGE_MAX = 100


def shown(board: QnaBoard) -> QuerySet[Question]:
    """The questions the audience sees: shown, neither withdrawn nor archived."""
    return board.questions.filter(state=Question.State.SHOWN, withdrawn_at=None, archived_at=None)


_ITEM_FIELDS = ("uuid", "text", "name", "upvotes", "answered_at", "pinned", "asked_at")


def _as_item(row: tuple[Any, ...]) -> dict[str, Any]:
    """A question as pages and sockets read it, from its _ITEM_FIELDS in order."""
    uuid, text, name, upvotes, answered_at, pinned, asked_at = row
    return {
        "id": str(uuid),
        "text": text,
        "name": name,
        "upvotes": upvotes,
        "answered": answered_at is not None,
        "pinned": pinned,
        "asked_at": asked_at.isoformat(),
    }


def item(question: Question) -> dict[str, Any]:
    return _as_item(tuple(getattr(question, field) for field in _ITEM_FIELDS))


def _items(rows: QuerySet[Question]) -> list[dict[str, Any]]:
    """item() of each row, read as values: no model instances (a snapshot is built at
    every push of a busy board)."""
    return [_as_item(row) for row in rows.values_list(*_ITEM_FIELDS)]


def pending(board: QnaBoard, limit: int = SNAPSHOT_NEWEST) -> list[Question]:
    """Questions waiting for a moderator, oldest first."""
    live = board.questions.filter(state=Question.State.PENDING, withdrawn_at=None, archived_at=None)
    return list(live.order_by("id")[:limit])


def for_moderator(board: QnaBoard, limit: int = SNAPSHOT_NEWEST) -> dict[str, Any]:
    """The moderator's view of a board: questions waiting (oldest first), shown and hidden
    (newest first), `limit` of each, and the counts of each state."""
    live = board.questions.filter(withdrawn_at=None, archived_at=None)
    found = live.aggregate(
        pending=Count("pk", filter=Q(state=Question.State.PENDING)),
        hidden=Count("pk", filter=Q(state=Question.State.HIDDEN)),
        shown=Count("pk", filter=Q(state=Question.State.SHOWN)),
    )
    return {
        "board": board,
        **{name: int(value) for name, value in found.items()},
        "waiting": pending(board, limit),
        "shown_questions": newest(board, limit),
        "hidden_questions": list(live.filter(state=Question.State.HIDDEN).order_by("-id")[:limit]),
    }


# Pinned first, then unanswered before answered, most upvoted, newest.
_TOP_ORDER = ("-pinned", _UNANSWERED_FIRST, "-upvotes", "-id")


def top(board: QnaBoard, limit: int = SNAPSHOT_TOP) -> list[Question]:
    """Pinned first, then unanswered before answered, most upvoted, newest."""
    return list(shown(board).order_by(*_TOP_ORDER)[:limit])


def newest(board: QnaBoard, limit: int = SNAPSHOT_NEWEST) -> list[Question]:
    return list(shown(board).order_by("-id")[:limit])


def counts(board: QnaBoard) -> dict[str, int]:
    """Questions shown, waiting for review, answered; upvotes on shown questions."""
    shown_state = Q(state=Question.State.SHOWN)
    found = board.questions.filter(withdrawn_at=None, archived_at=None).aggregate(
        questions=Count("pk", filter=shown_state),
        pending=Count("pk", filter=Q(state=Question.State.PENDING)),
        answered=Count("pk", filter=shown_state & Q(answered_at__isnull=False)),
        upvotes=Sum("upvotes", filter=shown_state, default=0),
    )
    return {name: int(value) for name, value in found.items()}


def snapshot_head(board: QnaBoard) -> dict[str, Any]:
    """Whether the board is shown and open, without its questions."""
    return {
        "enabled": board.enabled and not board.archived,
        "asking": board.asking_open,
        "upvoting": board.upvoting_open,
        "names": board.names,
        "counts": counts(board),
    }


def snapshot(board: QnaBoard) -> dict[str, Any]:
    """The board as every page draws it; `seq` orders snapshots."""
    highlighted = board.highlighted
    on_screen = (
        item(highlighted)
        if highlighted is not None and highlighted.state == Question.State.SHOWN
        and highlighted.withdrawn_at is None and highlighted.archived_at is None
        else None
    )  # fmt: skip
    return {
        "type": "qna",
        "board": board.pk,
        "seq": board.seq,
        "enabled": board.enabled and not board.archived,
        "asking": board.asking_open,
        "upvoting": board.upvoting_open,
        "names": board.names,
        "top": _items(shown(board).order_by(*_TOP_ORDER)[:SNAPSHOT_TOP]),
        "newest": _items(shown(board).order_by("-id")[:SNAPSHOT_NEWEST]),
        "highlight": on_screen,
        "counts": counts(board),
    }


def mine(board: QnaBoard, voter_key: str | None) -> dict[str, list[str]]:
    """A voter's own questions (not withdrawn) and the questions they upvote (stored)."""
    if not voter_key:
        return {"asked": [], "upvoted": []}
    asked = board.questions.filter(voter_key=voter_key, withdrawn_at=None)
    upvoted = QnaUpvote.objects.filter(question__board=board, voter_key=voter_key, up=True)
    return {
        "asked": [str(u) for u in asked.values_list("uuid", flat=True)],
        "upvoted": [str(u) for u in upvoted.values_list("question__uuid", flat=True)],
    }


def shown_ids(snapshot: dict[str, Any]) -> set[str]:
    """The questions a snapshot shows (top, newest, on screen): all a page draws."""
    ids = {q["id"] for q in snapshot["top"]} | {q["id"] for q in snapshot["newest"]}
    if snapshot.get("highlight"):
        ids.add(snapshot["highlight"]["id"])
    return ids


def marks_of(
    board: QnaBoard, voter_keys: Collection[str], among: Collection[str]
) -> dict[str, dict[str, list[str]]]:
    """Each voter's own marks (`mine`) among the questions `among` (a snapshot's): bounded
    by them whatever the voter did on the rest of the board. Two queries for all voters."""
    marks: dict[str, dict[str, list[str]]] = {k: {"asked": [], "upvoted": []} for k in voter_keys}
    if not marks or not among:
        return marks
    asked = board.questions.filter(voter_key__in=marks, withdrawn_at=None, uuid__in=among)
    for key, uuid in asked.values_list("voter_key", "uuid"):
        marks[key]["asked"].append(str(uuid))
    upvoted = QnaUpvote.objects.filter(
        question__board=board, voter_key__in=marks, up=True, question__uuid__in=among
    )
    for key, uuid in upvoted.values_list("voter_key", "question__uuid"):
        marks[key]["upvoted"].append(str(uuid))
    return marks


def page(
    board: QnaBoard, *, sort: str = "top", limit: int = PAGE_MAX, offset: int = 0
) -> dict[str, Any]:
    """A page of shown questions for the API (`sort`: top or newest), with the board's
    head (its switches and counts: `total` is its count of shown questions, so the
    board's questions are counted once, the one read that grows with the board)."""
    head = snapshot_head(board)
    order = _TOP_ORDER if sort == "top" else ("-id",)
    rows = _items(shown(board).order_by(*order)[offset : offset + limit])
    total = head["counts"]["questions"]
    return {"questions": rows, "total": total, "offset": offset, "board": head}


def board_of(session: Any) -> QnaBoard | None:
    """The session's board, if it has one."""
    return QnaBoard.objects.filter(session=session).select_related("highlighted").first()
