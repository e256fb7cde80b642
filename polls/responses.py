"""How errors are answered over HTTP, in one place: which status each vote error gets, and
JSON `{"error": ...}` on the API, plain text elsewhere (middleware and decorators)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse

from .pipeline import submit

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
    submit.TooManyVotes: 429,
    submit.VoteQueueUnavailable: 503,
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
    return request.path.startswith("/api/")


def json_error(status: int, message: str, *, retry_after: int | str | None = None) -> JsonResponse:
    response = JsonResponse({"error": message}, status=status)
    if retry_after is not None:
        response["Retry-After"] = str(retry_after)
    return response


def error_response(
    request: HttpRequest, status: int, message: str, *, retry_after: int | str | None = None
) -> HttpResponse:
    """For middleware and decorators, which answer before any view's own template."""
    if wants_json(request):
        return json_error(status, message, retry_after=retry_after)
    response = HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")
    if retry_after is not None:
        response["Retry-After"] = str(retry_after)
    return response
