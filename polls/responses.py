"""How errors are answered over HTTP, in one place: which status each vote error gets, and
JSON `{"error": message, "code": code}` on the API (the message in the request's language,
the code stable for programs: docs/api.md), the site's designed error pages elsewhere (templates/
404.html, 403.html, 500.html, 503.html, each on polls/error.html)."""

from __future__ import annotations

import logging
from typing import Any, TypeGuard

import redis
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template import TemplateDoesNotExist, loader
from django.utils import translation
from django.utils.translation import gettext as _

from .live_sessions import SessionError
from .pipeline import submit
from .qna import QnaError

logger = logging.getLogger(__name__)

# Seconds a client is asked to wait after a 503.
RETRY_AFTER_SECONDS = 5

_STATUS: dict[type[submit.VoteError], int] = {
    submit.UnknownChoice: 400,
    submit.InvalidBallot: 400,
    submit.LoginRequired: 403,
    submit.PollNotOpen: 409,
    submit.VoteChangeNotAllowed: 409,
    submit.VotingLocked: 409,
    submit.NotCurrentPoll: 409,
    submit.TimeUp: 409,
    submit.TooManyVotes: 429,
    submit.VoteQueueUnavailable: 503,
    submit.VoteOutcomeUnknown: 503,
}


def status_of(error: submit.VoteError) -> int:
    """The HTTP status of a vote error (400 for one not listed)."""
    return next((status for kind, status in _STATUS.items() if isinstance(error, kind)), 400)


def retry_after_of(error: submit.VoteError) -> str | None:
    """The Retry-After a vote error's answer carries, if any."""
    if isinstance(error, submit.TooManyVotes):
        return str(error.retry_after)
    return str(RETRY_AFTER_SECONDS) if status_of(error) == 503 else None


def wants_json(request: HttpRequest) -> bool:
    """The API, and a script that asks for JSON first (the presenter's controls)."""
    accept = request.headers.get("Accept", "").split(",")[0].split(";")[0].strip()
    return request.path.startswith("/api/") or accept == "application/json"


# The code of an error that names none: one per status.
_CODES = {
    400: "bad_request",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    429: "too_many_requests",
    500: "internal_error",
    503: "unavailable",
}


def code_of(status: int) -> str:
    return _CODES.get(status, "error")


def json_error(
    status: int,
    message: Any,
    *,
    code: str | None = None,
    retry_after: int | str | None = None,
    details: dict[str, str] | None = None,
) -> JsonResponse:
    body = {**(details or {}), "error": str(message), "code": code or code_of(status)}
    response = JsonResponse(body, status=status)
    if retry_after is not None:
        response["Retry-After"] = str(retry_after)
    return response


def error_page(
    status: int, detail: str = "", *, retry_after: int | str | None = None
) -> HttpResponse:
    """The designed page for an HTTP error (`<status>.html`, else polls/error.html), with
    `detail` saying what exactly went wrong. Rendered without the request on purpose: no
    context processor runs, so it works when the database (sessions, the user) does not,
    before the middleware has set anything up, and for the 500 page."""
    context: dict[str, object] = {"status": status}
    try:
        template = loader.get_template(f"{status}.html")
        context["detail"] = detail
    except TemplateDoesNotExist:  # the page's heading says it all
        template = loader.get_template("polls/error.html")
        context["message"] = detail
    body = template.render(context)
    response = HttpResponse(body, status=status)
    if retry_after is not None:
        response["Retry-After"] = str(retry_after)
    return response


def error_response(
    request: HttpRequest,
    status: int,
    message: Any,
    *,
    code: str | None = None,
    retry_after: int | str | None = None,
) -> HttpResponse:
    """For middleware, handlers and decorators: JSON on the API, else the designed page."""
    if wants_json(request):
        return json_error(status, message, code=code, retry_after=retry_after)
    return error_page(status, message, retry_after=retry_after)


def is_store_outage(exception: BaseException | None) -> TypeGuard[BaseException]:
    """Postgres or Redis failing to answer (down, hung past its deadline)."""
    return isinstance(exception, DatabaseError | redis.RedisError)


def store_unavailable(request: HttpRequest, exception: BaseException) -> HttpResponse:
    """The deliberate 503 for a store outage, wherever in the request it was raised (a view,
    a middleware), in the request's language: logged here, once, as a warning."""
    logger.warning("%s %s: store unavailable: %r", request.method, request.path, exception)
    # A middleware's failure may come before or after LocaleMiddleware's turn.
    with translation.override(translation.get_language_from_request(request)):
        message = _("This is unavailable for a moment; please try again shortly.")
        response = error_response(request, 503, message, retry_after=RETRY_AFTER_SECONDS)
    # Django's own flag (django.utils.log.log_response): not logged again as an error.
    response._has_been_logged = True  # type: ignore[attr-defined]
    return response


def session_refused(error: SessionError) -> JsonResponse:
    """A presenter's action the session's rules refuse (the last poll, not live...)."""
    return json_error(409, error, code="session_refused")


def qna_refused(request: HttpRequest, error: QnaError) -> HttpResponse:
    """A refused Q&A request (polls.qna): its status and code, Retry-After on 429 and 503;
    JSON on the API and for scripts (with the error's details: an action's id), else the
    designed page."""
    if wants_json(request):
        return json_error(error.status, error, code=error.code, retry_after=error.retry_after,
                          details=error.details)  # fmt: skip
    return error_page(error.status, str(error), retry_after=error.retry_after)
