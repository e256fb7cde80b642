"""Voting role: HTML pages (no JavaScript needed) and the JSON API.

Thin: the rules live in polls.pipeline.submit, the reads in polls.selectors, and how an
error is answered in polls.responses.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_GET, require_POST

from . import displays, kinds, selectors
from .pipeline import submit
from .ratelimits import client_ip
from .responses import json_error, retry_after_of, status_of, wants_json

# --- HTML ---------------------------------------------------------------------------


@require_GET
def index(request: HttpRequest) -> HttpResponse:
    return render(request, "polls/index.html", {"polls": selectors.polls_listed()})


@require_GET
def poll_detail(request: HttpRequest, slug: str) -> HttpResponse:
    poll = selectors.poll_for_voting(slug=slug)
    return _render_poll(request, poll)


def login_url(request: HttpRequest) -> str:
    """Where a voter logs in (the admin's login page) and comes back from."""
    return f"{reverse('admin:login')}?{urlencode({'next': request.get_full_path()})}"


def _needs_login(request: HttpRequest, poll: Any) -> bool:
    return bool(poll.login_required and not request.user.is_authenticated)


def _render_poll(
    request: HttpRequest, poll: Any, *, error: str | None = None, status: int = 200
) -> HttpResponse:
    voter_key = request.voter_key  # type: ignore[attr-defined]
    needs_login = _needs_login(request, poll)
    context: dict[str, Any] = {
        "poll": poll,
        "choices": poll.choices.all(),
        "error": error,
        "is_open": poll.state == "open" and not needs_login,
        "needs_login": needs_login,
        "login_url": login_url(request),
    }
    # After a refused form, show what the voter sent rather than make them start over.
    shown = _posted_ballot(poll, request.POST) if request.method == "POST" else None
    context.update(displays.voting_form(poll, voter_key=voter_key, shown=shown))
    return render(request, "polls/detail.html", context, status=status)


def _posted_ballot(poll: Any, data: Any) -> list[Any]:
    """The form's ballot as posted, unchecked: only compared with the poll's own values."""
    if poll.kind == poll.Kind.MULTIPLE:
        return list(data.getlist("choices"))
    if poll.kind == poll.Kind.SCALE:
        return [data.get("value", "")]
    return [data.get(f"rank{n}", "") for n in range(1, len(poll.choices.all()) + 1)]


@require_POST
def vote(request: HttpRequest, slug: str) -> HttpResponse:
    poll = selectors.poll_for_voting(slug=slug)
    try:
        submit.submit_vote(
            poll=poll,
            voter_key=request.voter_key,  # type: ignore[attr-defined]
            client_ip=client_ip(request),
            **submit.ballot_from_form(poll, request.POST),
        )
    except submit.LoginRequired as error:
        context = {"poll": poll, "message": error.message, "login_url": login_url(request)}
        return render(request, "polls/login_required.html", context, status=status_of(error))
    except submit.VoteError as error:
        back = _back_to(request)
        if back:  # a session's page votes here and shows the answer itself
            messages.error(request, error.message)
            return _see_other(back)
        response = _render_poll(request, poll, error=error.message, status=status_of(error))
        if retry_after := retry_after_of(error):
            response["Retry-After"] = retry_after
        return response
    messages.success(request, "Vote received. It will show here and in the results in a moment.")
    return _see_other(_back_to(request) or reverse("polls:detail", args=[poll.slug]))


def _back_to(request: HttpRequest) -> str:
    """The page a form asked to come back to ("next"), if it is one of this site's."""
    target = request.POST.get("next", "")
    if target.startswith("/") and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return ""


def _see_other(url: str) -> HttpResponse:
    response = redirect(url)
    response.status_code = 303  # See Other: reloading the page must not post again
    return response


# --- JSON API -----------------------------------------------------------------------


def _api_poll(slug: str, *, fresh: bool = False) -> Any:
    try:
        return selectors.poll_for_voting(slug=slug, fresh=fresh)
    except Http404:
        return None


@require_GET
@ensure_csrf_cookie
def api_poll(request: HttpRequest, slug: str) -> JsonResponse:
    poll = _api_poll(slug)
    if poll is None:
        return json_error(404, f"No poll with slug {slug!r}.")
    voter_key = request.voter_key  # type: ignore[attr-defined]
    document: dict[str, Any] = {
        "poll": poll.slug,
        "question": poll.question,
        "kind": poll.kind,
        "status": poll.state,
        "choices": [{"id": c.id, "label": c.label} for c in poll.choices.all()],
        "login_required": poll.login_required,
        "allow_vote_change": poll.allow_vote_change,
        "results_visibility": poll.results_visibility,
    }
    document.update(selectors.ballot_rules(poll=poll))
    if poll.kind == poll.Kind.SINGLE:
        document["your_choice"] = selectors.current_choice_id(poll=poll, voter_key=voter_key)
    else:
        document["your_ballot"] = selectors.stored_ballot(poll=poll, voter_key=voter_key)
    return JsonResponse(document)


@require_POST
def api_vote(request: HttpRequest, slug: str) -> JsonResponse:
    poll = _api_poll(slug)
    if poll is None:
        return json_error(404, f"No poll with slug {slug!r}.")
    if request.content_type != "application/json":
        return json_error(415, "Send the vote as JSON (Content-Type: application/json).")
    _, shape = kinds.api_shape(poll.kind)
    try:
        body = json.loads(request.body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return json_error(400, f"The body is not valid JSON; send {shape}.")
    if not isinstance(body, dict):
        return json_error(400, f"Send {shape}.")
    try:
        queued = submit.submit_vote(
            poll=poll,
            voter_key=request.voter_key,  # type: ignore[attr-defined]
            client_ip=client_ip(request),
            **submit.ballot_from_api(poll, body),
        )
    except submit.VoteError as error:
        return json_error(status_of(error), error.message, retry_after=retry_after_of(error))
    return JsonResponse({"vote_id": str(queued.vote_id), "status": "queued"}, status=202)


@require_GET
def api_results(request: HttpRequest, slug: str) -> JsonResponse:
    # Results read the database anyway: read the poll afresh too, not a copy up to
    # POLL_CACHE_SECONDS old (its status and visibility show in the answer).
    poll = _api_poll(slug, fresh=True)
    if poll is None:
        return json_error(404, f"No poll with slug {slug!r}.")
    if not selectors.results_visible(
        poll=poll,
        voter_key=request.voter_key,  # type: ignore[attr-defined]
        is_staff=request.user.is_staff,
    ):
        return json_error(403, selectors.results_hidden_reason(poll))
    return JsonResponse(selectors.poll_results(poll=poll))


_OPENAPI = Path(__file__).with_name("openapi.json")


@require_GET
def api_schema(request: HttpRequest) -> HttpResponse:
    """The API's OpenAPI 3.1 document (polls/openapi.json; docs/api.md explains it)."""
    return HttpResponse(_OPENAPI.read_bytes(), content_type="application/json")


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    message = "CSRF check failed: reload the page and try again."
    if wants_json(request):
        return json_error(
            403,
            "CSRF check failed: send the csrftoken cookie and its value in the X-CSRFToken header.",
        )
    return render(request, "polls/error.html", {"message": message}, status=403)


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if wants_json(request):
        return json_error(404, "Not found.")
    return render(request, "polls/error.html", {"message": "Not found."}, status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    if wants_json(request):
        return json_error(500, "Internal error; the team has been told.")
    return render(request, "polls/error.html", {"message": "Something went wrong."}, status=500)
