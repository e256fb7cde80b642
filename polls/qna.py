"""Q&A boards (issue 35): what the audience, the presenter and moderators do with
questions, and the rules. Views, the admin, commands and the worker's task call these.

- Asking and upvoting are admitted like votes (polls.pipeline.qna_admission: one Redis
  round trip decides a closed board, the limits, the deadline) and stored by the worker
  (polls.pipeline.qna_store). Everything refused is refused here, before the 202.
- An upvote carries the wanted state (up or not), never a toggle.
- Moderation: a board's mode (off: everything shown, unfiltered; after: shown, the
  profanity filter's catches held for review or refused; before: everything waits for a
  moderator). Moderators approve, hide, restore and correct a typo (the original kept).
- The presenter: answered, pinned, on the big screen, the next question, archive.
Reads (snapshots, a voter's own marks, pages) are polls.qna_reads'.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import time
import uuid
from typing import Any

import redis
from django.conf import settings
from django.db import transaction
from django.db.models import Count, F, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from polls import export, profanity, qna_reads, ratelimits
from polls.counting import text as engine
from polls.live import publisher
from polls.models import LiveSession, QnaBoard, Question
from polls.pipeline import answers, qna_admission, qna_store, sender
from polls.pipeline.qna_message import ASK, UPVOTE, QnaAction

logger = logging.getLogger(__name__)

QUESTION_GRAPHEMES = 280
NAME_GRAPHEMES = 40
_LIMITS = engine.answer_limits(QUESTION_GRAPHEMES)
_NAME_LIMITS = engine.answer_limits(NAME_GRAPHEMES)


class QnaError(Exception):
    """A refused Q&A request: its HTTP status, a machine `code` and a message in the
    request's language (polls.responses answers it)."""

    def __init__(
        self, message: str, *, status: int, code: str, retry_after: int | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.retry_after = status, code, retry_after
        self.details: dict[str, str] = {}  # more fields for the API's answer


# --- The board: on and off, open and closed -------------------------------------------


def enable(session: LiveSession, *, enabled: bool = True, **options: Any) -> QnaBoard:
    """Give the session a board (or turn it on or off); `options` are QnaBoard's
    settings (moderation, names, filter_refuses, asking_open, upvoting_open)."""
    with transaction.atomic():
        board, _created = QnaBoard.objects.select_for_update().get_or_create(session=session)
        board.enabled = enabled
        for name, value in options.items():
            if name not in {"moderation", "names", "filter_refuses", "asking_open",
                            "upvoting_open"}:  # fmt: skip
                raise TypeError(f"unknown Q&A option {name!r}")
            setattr(board, name, value)
        board.full_clean(exclude=["session", "highlighted"])
        return _changed(board)


def set_open(
    board: QnaBoard, *, asking: bool | None = None, upvoting: bool | None = None
) -> QnaBoard:
    """Open or close the board for new questions and for upvotes, independently."""
    with transaction.atomic():
        held = QnaBoard.objects.select_for_update().get(pk=board.pk)
        if asking is not None:
            held.asking_open = asking
        if upvoting is not None:
            held.upvoting_open = upvoting
        return _changed(held)


def close(board: QnaBoard) -> QnaBoard:
    """No more questions, no more upvotes (the questions stay shown)."""
    return set_open(board, asking=False, upvoting=False)


def archive(board: QnaBoard, *, archived: bool = True) -> QnaBoard:
    """Put the board away (closed and not shown), or bring it back (closed still)."""
    with transaction.atomic():
        held = QnaBoard.objects.select_for_update().get(pk=board.pk)
        held.archived = archived
        if archived:
            held.asking_open = held.upvoting_open = False
        return _changed(held)


def _changed(board: QnaBoard) -> QnaBoard:
    """Save a board's change (locked by the caller): a new version, Redis's copy written
    after the commit (compare-and-set: a late write of an older version changes nothing),
    and its snapshot pushed."""
    board.version = F("version") + 1
    board.seq = F("seq") + 1
    board.save()
    board.refresh_from_db()
    copy = copy_of(board)
    transaction.on_commit(lambda: qna_admission.write_copy(board.pk, copy))
    publisher.announce_qna_after_commit([board.pk])
    return board


def copy_of(board: QnaBoard) -> qna_admission.BoardCopy:
    return qna_admission.BoardCopy(
        version=board.version,
        enabled=board.enabled and not board.archived,
        asking=board.asking_open,
        upvoting=board.upvoting_open,
    )


def write_copy(board: QnaBoard) -> None:
    """Redis's copy from Postgres (it was lost: a restarted Redis without its data)."""
    qna_admission.write_copy(board.pk, copy_of(board))


def _touch(board_id: int) -> None:
    QnaBoard.objects.filter(pk=board_id).update(seq=F("seq") + 1)
    publisher.announce_qna_after_commit([board_id])


# --- The audience ------------------------------------------------------------------------


def _open_board(board: QnaBoard) -> None:
    if not board.enabled or board.archived or board.session.state != LiveSession.State.LIVE:
        raise QnaError(_("This session takes no questions now."), status=409, code="board_closed")


def ask(
    board: QnaBoard, *, voter_key: str | None, text: str, name: str = "", address: str = ""
) -> uuid.UUID:
    """Admit a question: normalised with the text engine (at most 280 graphemes), its
    name by the board's rule, the filter by its mode. Returns the question's id (202)."""
    _open_board(board)
    if not board.asking_open:
        raise QnaError(_("Questions are closed."), status=409, code="asking_closed")
    voter = _voter(voter_key)
    try:
        shown = engine.entry(text, _LIMITS).shown
    except engine.EntryProblem as problem:
        raise _text_refused(problem, QUESTION_GRAPHEMES, "question") from None
    given = _name(board, name)
    flagged = False
    if board.moderation != QnaBoard.Moderation.OFF:
        flagged = profanity.check(shown) is not None or (
            bool(given) and profanity.check(given) is not None
        )
    if flagged and board.filter_refuses:
        message = _("This question cannot be posted: please rephrase it.")
        raise QnaError(message, status=400, code="question_refused")
    held = flagged or board.moderation == QnaBoard.Moderation.BEFORE
    action = QnaAction(
        ASK, uuid.uuid4(), board.pk, voter, timezone.now(), text=shown, name=given,
        state=Question.State.PENDING if held else Question.State.SHOWN, flagged=flagged,
    )  # fmt: skip
    _admit(board, action, ratelimits.qna_limits(asking=True, voter_key=voter, client_ip=address))
    return action.id


def upvote(
    board: QnaBoard, *, voter_key: str | None, question: str, up: bool, address: str = ""
) -> uuid.UUID:
    """Admit an upvote action: the wanted state (`up` true or false) of one question."""
    _open_board(board)
    if not board.upvoting_open:
        raise QnaError(_("Upvoting is closed."), status=409, code="upvoting_closed")
    voter = _voter(voter_key)
    found = _question(board, question)
    if found.state != Question.State.SHOWN or found.archived_at or found.withdrawn_at:
        raise QnaError(_("This question is not shown."), status=409, code="question_not_shown")
    action = QnaAction(UPVOTE, uuid.uuid4(), board.pk, voter, timezone.now(),
                       question=found.uuid, up=up)  # fmt: skip
    _admit(board, action, ratelimits.qna_limits(asking=False, voter_key=voter, client_ip=address))
    return action.id


def withdraw(board: QnaBoard, *, voter_key: str | None, question: str) -> Question:
    """The author takes their question back (it leaves the board; kept for the record)."""
    found = _question(board, question)
    if voter_key is None or found.voter_key != voter_key:
        raise QnaError(_("Only its author may withdraw a question."), status=403, code="not_yours")
    return _set(found, withdrawn_at=found.withdrawn_at or timezone.now())


def _voter(voter_key: str | None) -> str:
    if voter_key is None:
        message = _("Your browser's cookie is unreadable: reload the page.")
        raise QnaError(message, status=503, code="unavailable", retry_after=5)
    return voter_key


def _question(board: QnaBoard, question: str) -> Question:
    try:
        wanted = uuid.UUID(str(question))
    except ValueError:
        wanted = None
    found = None if wanted is None else board.questions.filter(uuid=wanted).first()
    if found is None:
        raise QnaError(_("No such question on this board."), status=404, code="unknown_question")
    return found


def _name(board: QnaBoard, name: str) -> str:
    if board.names == QnaBoard.Names.ANONYMOUS:
        return ""
    try:
        return engine.entry(name, _NAME_LIMITS).shown
    except engine.EntryProblem as problem:
        if problem.code == engine.EMPTY:
            if board.names == QnaBoard.Names.REQUIRED:
                raise QnaError(
                    _("Please give your name."), status=400, code="name_required"
                ) from None
            return ""
        raise _text_refused(problem, NAME_GRAPHEMES, "name") from None


def _text_refused(problem: engine.EntryProblem, limit: int, what: str) -> QnaError:
    if problem.code == engine.EMPTY:
        message = _("Please write something.")
    else:
        message = ngettext(
            "At most %(limit)d character, please.", "At most %(limit)d characters, please.", limit
        ) % {"limit": limit}
    code = "empty" if problem.code == engine.EMPTY else "too_long"
    return QnaError(message, status=400, code=f"{what}_{code}")


def _admit(board: QnaBoard, action: QnaAction, limits: list[ratelimits.Limit]) -> None:
    deadline = time.time() + settings.VOTE_ADMISSION_DEADLINE_SECONDS
    try:
        code = _admission(board, action, limits, deadline)
    except Exception as exc:  # never sent, no answer in time, or the answer lost (answers)
        outcome = answers.after_failure(
            exc, deadline, lambda: qna_admission.held(action.id), what=f"Q&A action {action.id}"
        )
        if outcome is answers.Outcome.UNKNOWN:
            raise _outcome_unknown(action) from exc
        code = 0 if outcome is answers.Outcome.ADMITTED else qna_admission.REFUSED_LATE
    if code == 0:
        return
    if code > 0:
        message = _("Too many in a row: try again in %(seconds)s seconds.") % {"seconds": code}
        raise QnaError(message, status=429, code="too_many_requests", retry_after=code)
    if code == qna_admission.REFUSED_ASKING_CLOSED:
        raise QnaError(_("Questions are closed."), status=409, code="asking_closed")
    if code == qna_admission.REFUSED_UPVOTING_CLOSED:
        raise QnaError(_("Upvoting is closed."), status=409, code="upvoting_closed")
    if code == qna_admission.REFUSED_BOARD_CLOSED:
        raise QnaError(_("This session takes no questions now."), status=409, code="board_closed")
    message = _("This is unavailable for a moment; nothing was recorded. Please try again.")
    raise QnaError(message, status=503, code="unavailable", retry_after=5)


def _admission(
    board: QnaBoard, action: QnaAction, limits: list[ratelimits.Limit], deadline: float
) -> int:
    """The admission script's code for the action; Redis's copy of the board is written
    again from Postgres when Redis lost it (then the action is admitted once more). It
    goes with whatever other actions this process admits at the same moment
    (polls.pipeline.sender)."""
    entry = qna_admission.QnaEntry(action, limits, deadline)
    code = sender.queue_qna(entry, timeout=answers.answer_within(deadline))
    if code == qna_admission.REFUSED_UNKNOWN_STATE:
        try:
            write_copy(board)
        except redis.RedisError as exc:  # nothing sent since the refusal: not recorded
            logger.warning("Q&A board %s: its copy not written: %r", board.pk, exc)
            return code
        code = sender.queue_qna(entry, timeout=answers.answer_within(deadline))
    return code


def _outcome_unknown(action: QnaAction) -> QnaError:
    """The answer was lost after the action was sent, and Redis cannot be asked whether it
    took it. An upvote is safe to send again (it carries the wanted state); a question is
    looked for on the board first."""
    if action.kind == ASK:
        message = _(
            "The connection broke while your question was being sent, so we cannot tell"
            " whether it was recorded. Look for it on the board in a moment before asking"
            " again."
        )
    else:
        message = _(
            "The connection broke while your upvote was being sent, so we cannot tell"
            " whether it was recorded. Send it again: the same upvote twice counts once."
        )
    error = QnaError(message, status=503, code="outcome_unknown", retry_after=5)
    error.details = {"id": str(action.id)}
    return error


# --- The presenter ----------------------------------------------------------------------


def _set(question: Question, **fields: Any) -> Question:
    with transaction.atomic():
        for name, value in fields.items():
            setattr(question, name, value)
        question.save(update_fields=list(fields))
        _touch(question.board_id)
    return question


def mark_answered(question: Question, *, answered: bool = True) -> Question:
    """Answered (it moves below the unanswered), or not; answered, it leaves the big screen."""
    with transaction.atomic():
        if answered:
            QnaBoard.objects.filter(pk=question.board_id, highlighted=question).update(
                highlighted=None
            )
        return _set(
            question, answered_at=(question.answered_at or timezone.now()) if answered else None
        )


def pin(question: Question, *, pinned: bool = True) -> Question:
    """Pinned questions come first on every sort."""
    return _set(question, pinned=pinned)


def archive_question(question: Question) -> Question:
    """Off the board for good (kept for the export)."""
    return _set(question, archived_at=question.archived_at or timezone.now())


def highlight(board: QnaBoard, question: Question | None) -> QnaBoard:
    """Put a question on the big screen (None: take it off)."""
    with transaction.atomic():
        QnaBoard.objects.filter(pk=board.pk).update(highlighted=question)
        _touch(board.pk)
    board.refresh_from_db()
    return board


def next_question(board: QnaBoard) -> QnaBoard:
    """The top unanswered question after the one on the screen goes on the screen."""
    waiting = [q for q in qna_reads.top(board) if q.answered_at is None]
    current = board.highlighted_id
    after = [q for q in waiting if q.pk != current]
    return highlight(board, after[0] if after else None)


# --- Moderators (the moderator view routes here) -------------------------------------


def approve_question(question: Question) -> Question:
    """A held question goes on the board."""
    return _set(question, state=Question.State.SHOWN)


def hide_question(question: Question) -> Question:
    """Off the board (its upvotes kept: restored, it comes back with them)."""
    with transaction.atomic():
        QnaBoard.objects.filter(pk=question.board_id, highlighted=question).update(highlighted=None)
        return _set(question, state=Question.State.HIDDEN)


def restore_question(question: Question) -> Question:
    """A hidden question comes back."""
    return _set(question, state=Question.State.SHOWN)


def correct_question(question: Question, text: str) -> Question:
    """A typo corrected by a moderator; the original is kept (the first one, if corrected
    twice). The text is normalised as a question is."""
    try:
        shown = engine.entry(text, _LIMITS).shown
    except engine.EntryProblem as problem:
        raise _text_refused(problem, QUESTION_GRAPHEMES, "question") from None
    return _set(question, text=shown, original=question.original or question.text)


# --- Exports and the recount ------------------------------------------------------------

EXPORT_FIELDS = ["id", "text", "original", "name", "state", "upvotes", "answered", "pinned",
                 "asked_at", "answered_at", "withdrawn_at", "archived_at"]  # fmt: skip


def export_rows(board: QnaBoard) -> list[dict[str, Any]]:
    """Every question of the board (withdrawn and hidden ones too), most upvoted first."""
    rows = []
    for q in board.questions.order_by("-upvotes", "id"):
        rows.append({
            "id": str(q.uuid), "text": q.text, "original": q.original, "name": q.name,
            "state": "withdrawn" if q.withdrawn_at else "archived" if q.archived_at else q.state,
            "upvotes": q.upvotes, "answered": q.answered_at is not None, "pinned": q.pinned,
            **{f: _iso(getattr(q, f)) for f in ("asked_at", "answered_at", "withdrawn_at",
                                                "archived_at")},
        })  # fmt: skip
    return rows


def _iso(value: Any) -> str | None:
    return value.isoformat() if value else None


def export_csv(board: QnaBoard) -> str:
    """CSV with formula neutralisation (a cell a spreadsheet would run is quoted with ')."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=EXPORT_FIELDS)
    writer.writeheader()
    for row in export_rows(board):
        writer.writerow({k: export.cell(v) for k, v in row.items()})
    return out.getvalue()


def export_json(board: QnaBoard) -> str:
    session = board.session
    data = {"session": session.title, "board": board.pk, "questions": export_rows(board)}
    return json.dumps(data, ensure_ascii=False, indent=2)


def recount(board: QnaBoard, *, fix: bool = False) -> dict[str, tuple[int, int]]:
    """Each question whose kept `upvotes` differs from its stored up rows: {id: (kept,
    counted)}; with `fix`, mended (under the board's lock, as the worker writes)."""
    with transaction.atomic():
        qna_store.lock_boards([board.pk])
        counted = board.questions.annotate(n=Count("upvote_rows", filter=Q(upvote_rows__up=True)))
        wrong = {str(q.uuid): (q.upvotes, q.n) for q in counted if q.upvotes != q.n}
        if fix and wrong:
            for question_id, (_kept, n) in wrong.items():
                Question.objects.filter(uuid=question_id).update(upvotes=n)
            _touch(board.pk)
    return wrong
