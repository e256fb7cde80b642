"""A live session's Q&A board over HTTP: the audience's forms (ask, upvote, withdraw:
without JavaScript a form and a redirect back, with it JSON), the presenter's actions,
the JSON API (ask, upvote, list) and the exports. The rules are polls.qna's."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from . import qna, qna_reads, ratelimits
from .models import LiveSession, QnaBoard, Question
from .responses import json_error, qna_refused, wants_json
from .session_views import _guarded, _live, _presenter


def _board(session: LiveSession) -> QnaBoard:
    board = qna_reads.board_of(session)
    if board is None:
        raise Http404(_("This session has no Q&A board."))
    return board


def _done(
    request: HttpRequest, session: LiveSession, answer: dict[str, Any], said: str
) -> HttpResponse:
    if wants_json(request):
        return JsonResponse(answer, status=202 if answer.get("status") == "queued" else 200)
    messages.success(request, said)
    return redirect(f"{_session_url(session)}#qna")


def _session_url(session: LiveSession) -> str:
    return reverse("polls:session", args=[session.code])


def _refused(request: HttpRequest, session: LiveSession, error: qna.QnaError) -> HttpResponse:
    if wants_json(request) or error.status in (429, 503):
        return qna_refused(request, error)
    messages.error(request, str(error))
    return redirect(f"{_session_url(session)}#qna")


@require_POST
@_guarded
def ask(request: HttpRequest, code: str) -> HttpResponse:
    """The audience's question (form fields `text`, `name`)."""
    session = _live(request, code)
    board = _board(session)
    try:
        question = qna.ask(
            board,
            voter_key=request.voter_key,  # type: ignore[attr-defined]
            text=request.POST.get("text", ""),
            name=request.POST.get("name", ""),
            address=ratelimits.client_ip(request),
        )
    except qna.QnaError as error:
        return _refused(request, session, error)
    said = _("Your question was sent.")
    if board.moderation == QnaBoard.Moderation.BEFORE:
        said = _("Your question was sent: a moderator will look at it first.")
    return _done(request, session, {"id": str(question), "status": "queued"}, said)


@require_POST
@_guarded
def upvote(request: HttpRequest, code: str) -> HttpResponse:
    """An upvote's wanted state (`question`, `up` 1 or 0), never a toggle."""
    session = _live(request, code)
    board = _board(session)
    up = request.POST.get("up", "1") not in {"0", "false", ""}
    try:
        action = qna.upvote(
            board,
            voter_key=request.voter_key,  # type: ignore[attr-defined]
            question=request.POST.get("question", ""),
            up=up,
            address=ratelimits.client_ip(request),
        )
    except qna.QnaError as error:
        return _refused(request, session, error)
    said = _("Upvoted.") if up else _("Upvote taken back.")
    return _done(request, session, {"id": str(action), "status": "queued", "up": up}, said)


@require_POST
@_guarded
def withdraw(request: HttpRequest, code: str) -> HttpResponse:
    session = _live(request, code)
    board = _board(session)
    try:
        found = qna.withdraw(
            board,
            voter_key=request.voter_key,  # type: ignore[attr-defined]
            question=request.POST.get("question", ""),
        )
    except qna.QnaError as error:
        return _refused(request, session, error)
    return _done(request, session, {"id": str(found.uuid), "status": "withdrawn"},
                 _("Your question was withdrawn."))  # fmt: skip


# --- The presenter -------------------------------------------------------------------

_QUESTION_ACTIONS: dict[str, Callable[[Question], Any]] = {
    "answered": lambda q: qna.mark_answered(q, answered=True),
    "unanswered": lambda q: qna.mark_answered(q, answered=False),
    "pin": lambda q: qna.pin(q, pinned=True),
    "unpin": lambda q: qna.pin(q, pinned=False),
    "archive": qna.archive_question,
    "show": lambda q: qna.highlight(q.board, q),
    "approve": qna.approve_question,
    "hide": qna.hide_question,
    "restore": qna.restore_question,
}
_BOARD_ACTIONS: dict[str, Callable[[QnaBoard], Any]] = {
    "next": qna.next_question,
    "unshow": lambda b: qna.highlight(b, None),
    "close-asking": lambda b: qna.set_open(b, asking=False),
    "open-asking": lambda b: qna.set_open(b, asking=True),
    "close-upvoting": lambda b: qna.set_open(b, upvoting=False),
    "open-upvoting": lambda b: qna.set_open(b, upvoting=True),
    "archive-board": qna.archive,
    "board-off": lambda b: qna.enable(b.session, enabled=False),
    "board-on": lambda b: qna.enable(b.session, enabled=True),
}


@require_POST
@_guarded
def control(request: HttpRequest, code: str) -> HttpResponse:
    """A presenter's action on the board (`action`, and `question` for a question's)."""
    session = _presenter(request, code)
    if isinstance(session, HttpResponse):
        return session
    board = _board(session)
    action = request.POST.get("action", "")
    try:
        if action in _QUESTION_ACTIONS:
            question = qna._question(board, request.POST.get("question", ""))
            _QUESTION_ACTIONS[action](question)
        elif action in _BOARD_ACTIONS:
            _BOARD_ACTIONS[action](board)
        else:
            message = _("Unknown action %(action)s.") % {"action": repr(action)}
            return (
                json_error(400, message, code="unknown_action")
                if wants_json(request)
                else (HttpResponse(message, status=400))
            )
    except qna.QnaError as error:
        if wants_json(request):
            return qna_refused(request, error)
        messages.error(request, str(error))
        return redirect("polls:present", code=session.code)
    if wants_json(request):
        board.refresh_from_db()
        return JsonResponse(qna_reads.snapshot(board))
    return redirect("polls:present", code=session.code)


@require_GET
@_guarded
def export(request: HttpRequest, code: str, fmt: str) -> HttpResponse:
    """The board's questions as CSV or JSON (presenters only)."""
    session = _presenter(request, code)
    if isinstance(session, HttpResponse):
        return session
    board = _board(session)
    if fmt == "csv":
        response = HttpResponse(qna.export_csv(board), content_type="text/csv; charset=utf-8")
    else:
        response = HttpResponse(qna.export_json(board), content_type="application/json")
    response["Content-Disposition"] = f'attachment; filename="qna-{session.pk}.{fmt}"'
    return response


# --- The API ------------------------------------------------------------------------


def _api(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """An API view: no such live session or board is a JSON 404 with its code."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except Http404 as missing:
            return json_error(404, str(missing) or _("No live session has that code."),
                              code="not_found")  # fmt: skip

    return wrapped


def _api_body(request: HttpRequest) -> dict[str, Any] | JsonResponse:
    if request.content_type != "application/json":
        return json_error(415, _("Send JSON (Content-Type: application/json)."))
    try:
        body = json.loads(request.body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return json_error(400, _("The body is not valid JSON."), code="invalid_json")
    if not isinstance(body, dict):
        return json_error(400, _("Send a JSON object."), code="invalid_body")
    return body


@require_GET
@_guarded
@_api
def api_questions(request: HttpRequest, code: str) -> HttpResponse:
    """GET: a page of the board's shown questions (`sort` top or newest, `limit`,
    `offset`), with the asking voter's own questions and upvotes."""
    session = _live(request, code)
    board = _board(session)
    sort = request.GET.get("sort", "top")
    try:
        limit = int(request.GET.get("limit", qna_reads.PAGE_MAX))
        offset = int(request.GET.get("offset", 0))
    except ValueError:
        limit = offset = -1
    if (
        sort not in {"top", "newest"}
        or not 1 <= limit <= qna_reads.PAGE_MAX
        or not 0 <= offset <= 10**6
    ):
        message = _("sort is top or newest; limit 1-100; offset 0 or more.")
        return json_error(400, message, code="invalid_query")
    answer = qna_reads.page(board, sort=sort, limit=limit, offset=offset)
    voter_key = request.voter_key  # type: ignore[attr-defined]
    answer["mine"] = qna_reads.mine(board, voter_key)
    return JsonResponse(answer)


@require_POST
@_guarded
@_api
def api_ask(request: HttpRequest, code: str) -> HttpResponse:
    """POST {"text", "name"?}: 202 {"id", "status": "queued"}."""
    session = _live(request, code)
    board = _board(session)
    body = _api_body(request)
    if isinstance(body, JsonResponse):
        return body
    text, name = body.get("text"), body.get("name", "")
    if set(body) - {"text", "name"} or not isinstance(text, str) or not isinstance(name, str):
        return json_error(400, _("text and name are strings."), code="invalid_body")
    try:
        question = qna.ask(board, voter_key=request.voter_key, text=text, name=name,  # type: ignore[attr-defined]
                           address=ratelimits.client_ip(request))  # fmt: skip
    except qna.QnaError as error:
        return qna_refused(request, error)
    return JsonResponse({"id": str(question), "status": "queued"}, status=202)


@require_POST
@_guarded
@_api
def api_upvote(request: HttpRequest, code: str, question: str) -> HttpResponse:
    """POST {"up": true|false}: 202 {"id", "status": "queued", "up"}."""
    session = _live(request, code)
    board = _board(session)
    body = _api_body(request)
    if isinstance(body, JsonResponse):
        return body
    up = body.get("up")
    if set(body) != {"up"} or type(up) is not bool:
        return json_error(400, _("up is true or false."), code="invalid_body")
    try:
        action = qna.upvote(board, voter_key=request.voter_key, question=question, up=up,  # type: ignore[attr-defined]
                            address=ratelimits.client_ip(request))  # fmt: skip
    except qna.QnaError as error:
        return qna_refused(request, error)
    return JsonResponse({"id": str(action), "status": "queued", "up": up}, status=202)
