"""Error answers: JSON `{"error": ...}` on the API, plain text elsewhere, one way everywhere."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse


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
