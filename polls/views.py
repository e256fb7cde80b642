"""Voting role: HTML pages (no JavaScript needed) and the JSON API.

Thin: the rules live in polls.pipeline.submit, the reads in polls.selectors, and how an
error is answered in polls.responses.
"""

from __future__ import annotations

import json
import sys
import uuid
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.db import DatabaseError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render, resolve_url
from django.templatetags.static import static
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_GET, require_POST

from . import displays, kinds, receipts, selectors, snapshots
from .counting import receipts as receipt_codes
from .pipeline import ballots, submit
from .ratelimits import client_ip, receipt_missed, receipt_wait
from .responses import (
    error_page,
    is_store_outage,
    json_error,
    retry_after_of,
    status_of,
    store_unavailable,
    wants_json,
)
from .voters import LoginUnreadable

# --- HTML ---------------------------------------------------------------------------


@require_GET
def index(request: HttpRequest) -> HttpResponse:
    listed = selectors.polls_listed()
    context = {"listed": listed, "closed_days": settings.INDEX_CLOSED_DAYS}
    return render(request, "polls/index.html", context)


@require_GET
def favicon(request: HttpRequest) -> HttpResponse:
    """Browsers ask for /favicon.ico whatever the page links: the SVG icon (both roles)."""
    return redirect(static("polls/favicon.svg"))


@require_GET
def poll_detail(request: HttpRequest, slug: str) -> HttpResponse:
    poll = selectors.poll_for_voting(slug=slug)
    return _render_poll(request, poll)


def login_url(request: HttpRequest) -> str:
    """Where a voter logs in (settings.LOGIN_URL, the voters' log-in) and comes back from:
    the poll's page (a failed vote's POST address is no page to come back to)."""
    back = request.get_full_path()
    if request.method == "POST" and (match := request.resolver_match) and "slug" in match.kwargs:
        back = reverse("polls:detail", args=[match.kwargs["slug"]])
    return f"{resolve_url(settings.LOGIN_URL)}?{urlencode({'next': back})}"


def _needs_login(request: HttpRequest, poll: Any) -> bool:
    # An unknown voter (log-in unreadable: VoterMiddleware) keeps the form; a vote gets 503.
    known = request.voter_key is not None  # type: ignore[attr-defined]
    return bool(poll.login_required and not request.user.is_authenticated and known)


_NOT_RECORDED = gettext_noop(
    "Votes cannot be taken right now; nothing was recorded. Please try again shortly."
)


def _voter_key(request: HttpRequest) -> str:
    """Who votes; while Postgres cannot say who is logged in, nobody (never the cookie's
    anonymous identity instead: a 503, nothing recorded)."""
    voter_key: str | None = request.voter_key  # type: ignore[attr-defined]
    if voter_key is None:
        raise submit.VoteQueueUnavailable(_(_NOT_RECORDED))
    return voter_key


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
    # The vote just cast while it is being stored (its pending ballot), else the stored one.
    current = (
        ballots.shown_ballot(poll=poll, voter_key=voter_key)
        if voter_key is not None
        else ballots.Shown(None)
    )
    context.update(storing=current.storing, refused=current.refused, vote_id=current.vote_id)
    yours = receipts.yours(
        poll=poll,
        voter_key=voter_key,
        vote_id=current.vote_id,
        storing=current.storing,
        cookie=request.COOKIES.get(receipts.COOKIE),
    )
    context.update(yours.context())
    # After a refused form, show what the voter sent rather than make them start over.
    sent = _posted_ballot(poll, request.POST) if request.method == "POST" else None
    context.update(displays.voting_form(poll, ballot=current.ballot, shown=sent))
    context["share_url"] = settings.PUBLIC_BASE_URL + reverse("polls:detail", args=[poll.slug])
    context["description"] = selectors.poll_description(poll)
    if poll.state == poll.Status.CLOSED:
        try:
            context["final"] = selectors.final_results(
                poll=poll,
                voter_key=voter_key,
                is_staff=request.user.is_staff,
                read=snapshots.results,
            )
        except DatabaseError:  # the page still says the poll is closed
            context["final_hidden"] = _("The results cannot be read right now.")
        else:
            if context["final"] is None:
                context["final_hidden"] = selectors.results_hidden_reason(poll)
    return render(request, "polls/detail.html", context, status=status)


def _posted_ballot(poll: Any, data: Any) -> list[Any]:
    """The form's ballot as posted, unchecked: only compared with the poll's own values."""
    return kinds.kind_for(poll).posted(poll, data)


@require_POST
def vote(request: HttpRequest, slug: str) -> HttpResponse:
    poll = selectors.poll_for_voting(slug=slug)
    try:
        queued = submit.submit_vote(
            poll=poll,
            voter_key=_voter_key(request),
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
    messages.success(
        request, _("Vote received. It is being stored and shows in the results in a moment.")
    )
    response = _see_other(_back_to(request) or reverse("polls:detail", args=[poll.slug]))
    # The page it goes to shows the receipt before the vote is stored (then from the row).
    response.set_cookie(
        receipts.COOKIE,
        receipts.cookie_value(
            poll_id=poll.pk, vote_id=str(queued.vote_id), receipt=queued.receipt, nonce=queued.nonce
        ),
        max_age=receipts.COOKIE_MAX_AGE,
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )
    return response


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


def _no_such_poll(slug: str) -> JsonResponse:
    return json_error(
        404, _("No poll with slug '%(slug)s'.") % {"slug": slug}, code="poll_not_found"
    )


@require_GET
@ensure_csrf_cookie
def api_poll(request: HttpRequest, slug: str) -> JsonResponse:
    poll = _api_poll(slug)
    if poll is None:
        return _no_such_poll(slug)
    voter_key = request.voter_key  # type: ignore[attr-defined]
    document: dict[str, Any] = {
        "poll": poll.slug,
        "question": poll.question,
        "kind": poll.kind,
        "status": poll.state,
        "choices": [{"id": c.id, "label": c.label} for c in poll.choices.all()],
        "login_required": poll.login_required,
        "allow_vote_change": poll.allow_vote_change,
        "ballot_secrecy": poll.ballot_secrecy,
        "results_visibility": poll.results_visibility,
    }
    document.update(selectors.ballot_rules(poll=poll))
    unknown = voter_key is None  # log-in unreadable: no vote to show
    stored = None if unknown else selectors.stored_ballot(poll=poll, voter_key=voter_key)
    document.update(kinds.kind_for(poll).api_your_ballot(stored))
    return JsonResponse(document)


@require_POST
def api_vote(request: HttpRequest, slug: str) -> JsonResponse:
    poll = _api_poll(slug)
    if poll is None:
        return _no_such_poll(slug)
    if request.content_type != "application/json":
        return json_error(415, _("Send the vote as JSON (Content-Type: application/json)."))
    shape = kinds.kind_for(poll).api_shape
    try:
        body = json.loads(request.body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return json_error(
            400,
            _("The body is not valid JSON; send %(shape)s.") % {"shape": shape},
            code="invalid_json",
        )
    if not isinstance(body, dict):
        return json_error(400, _("Send %(shape)s.") % {"shape": shape}, code="invalid_ballot")
    try:
        queued = submit.submit_vote(
            poll=poll,
            voter_key=_voter_key(request),
            client_ip=client_ip(request),
            **submit.ballot_from_api(poll, body),
        )
    except submit.VoteError as error:
        return json_error(
            status_of(error),
            error.message,
            code=error.code,
            retry_after=retry_after_of(error),
            details=error.details,
        )
    return JsonResponse(
        {
            "vote_id": str(queued.vote_id),
            "status": "queued",
            "receipt": receipt_codes.grouped(queued.receipt),
            "seal_key": queued.nonce,
        },
        status=202,
    )


@require_GET
def api_vote_status(request: HttpRequest, slug: str, vote_id: uuid.UUID) -> JsonResponse:
    """What became of one of this voter's votes (by the vote_id its 202 gave)."""
    poll = _api_poll(slug)
    if poll is None:
        return _no_such_poll(slug)
    voter_key = request.voter_key  # type: ignore[attr-defined]
    if voter_key is None:  # whose vote it is cannot be told
        raise LoginUnreadable("log-in session unreadable")
    status = ballots.vote_status(poll=poll, voter_key=voter_key, vote_id=str(vote_id))
    if status is None:
        return json_error(
            404,
            _(
                "No vote of yours with this id is known on this poll: it was replaced by a later"
                " vote of yours, its refusal has expired, or it is not yours."
            ),
            code="vote_not_found",
        )
    return JsonResponse(status)


@require_GET
def board(request: HttpRequest, slug: str) -> HttpResponse:
    """The poll's board of counted receipts (correct without JavaScript), when its results
    are visible to this viewer."""
    poll = selectors.poll_for_voting(slug=slug, fresh=True)
    voter_key = request.voter_key  # type: ignore[attr-defined]
    is_staff = request.user.is_staff
    context: dict[str, Any] = {"poll": poll}
    if not selectors.results_visible(poll=poll, voter_key=voter_key, is_staff=is_staff):
        context["hidden"] = selectors.results_hidden_reason(poll)
        return render(request, "polls/board.html", context, status=403)
    after = receipt_codes.parsed(request.GET.get("after", "")) or ""
    context["board"] = receipts.board(poll=poll, after=after)
    context["after"] = after
    context["final"] = selectors.final_results(
        poll=poll, voter_key=voter_key or "", is_staff=is_staff, read=snapshots.results
    )
    return render(request, "polls/board.html", context)


@require_GET
def receipt_check(request: HttpRequest, slug: str) -> HttpResponse:
    """Check a receipt: a form for the code (GET, so a link can carry it), and the answer."""
    poll = selectors.poll_for_voting(slug=slug)
    typed = request.GET.get("code", "").strip()[:40]
    context: dict[str, Any] = {"poll": poll, "typed": typed}
    if not typed:
        return render(request, "polls/receipt.html", context)
    status, answer, wait = _checked_receipt(request, poll, typed)
    context.update(answer=answer, wait=wait)
    if answer is None and not wait:
        context["malformed"] = True
    response = render(request, "polls/receipt.html", context, status=status)
    if wait:
        response["Retry-After"] = str(wait)
    return response


def _checked_receipt(
    request: HttpRequest, poll: Any, typed: str
) -> tuple[int, receipts.Checked | None, int | None]:
    """(status, answer, seconds to wait): 429 once this client has spent its misses, 400
    for something that cannot be a receipt, else 200 with the receipt's fate."""
    voter_key = request.voter_key  # type: ignore[attr-defined]
    address = client_ip(request)
    if wait := receipt_wait(address, voter_key):
        return 429, None, wait
    code = receipt_codes.parsed(typed)
    if code is None:
        receipt_missed(address, voter_key)
        return 400, None, None
    answer = receipts.check(poll=poll, code=code)
    if answer.status == receipts.NOT_FOUND:
        receipt_missed(address, voter_key)
    return 200, answer, None


@require_GET
def api_board(request: HttpRequest, slug: str) -> JsonResponse:
    poll = _api_poll(slug, fresh=True)
    if poll is None:
        return _no_such_poll(slug)
    if (hidden := _results_hidden(request, poll)) is not None:
        return hidden
    after = request.GET.get("after", "")
    code = receipt_codes.parsed(after) if after else ""
    try:
        limit = int(request.GET.get("limit", receipts.BOARD_PAGE))
    except ValueError:
        limit = 0
    if code is None or not 1 <= limit <= receipts.BOARD_PAGE_MAX:
        return json_error(
            400,
            _("'after' must be a receipt and 'limit' a number from 1 to %(max)s.")
            % {"max": receipts.BOARD_PAGE_MAX},
            code="invalid_page",
        )
    return JsonResponse(
        {"poll": poll.slug, **receipts.board(poll=poll, after=code, limit=limit).as_json()}
    )


@require_GET
def api_receipt(request: HttpRequest, slug: str, code: str) -> JsonResponse:
    poll = _api_poll(slug)
    if poll is None:
        return _no_such_poll(slug)
    _status, answer, wait = _checked_receipt(request, poll, code[:40])
    if wait:
        return json_error(
            429,
            _("Too many receipt checks found nothing; try again in %(seconds)s seconds.")
            % {"seconds": wait},
            code="too_many_checks",
            retry_after=wait,
        )
    if answer is None:
        return json_error(
            400,
            _("A receipt is 10 characters, like ABCDE-FGHJK."),
            code="invalid_receipt",
        )
    return JsonResponse(answer.as_json())


@require_GET
def api_results(request: HttpRequest, slug: str) -> JsonResponse:
    # Results read the database anyway: read the poll afresh too, not a copy up to
    # POLL_CACHE_SECONDS old (its status and visibility show in the answer).
    poll = _api_poll(slug, fresh=True)
    if poll is None:
        return _no_such_poll(slug)
    if (hidden := _results_hidden(request, poll)) is not None:
        return hidden
    snapshot = snapshots.results(poll=poll)
    return JsonResponse(snapshot | kinds.kind_for(poll).api_results_words(snapshot))


@require_GET
def api_results_rctab(request: HttpRequest, slug: str) -> JsonResponse:
    """A ranked poll's rounds as RCTab's summary JSON (what rcvis reads), made from the
    same snapshot as the results: computed once per change."""
    poll = _api_poll(slug, fresh=True)
    if poll is None:
        return _no_such_poll(slug)
    if not kinds.kind_for(poll).has_rctab:
        return json_error(
            404, _("This poll has no rounds: only ranked choice exports them."), code="no_rounds"
        )
    if (hidden := _results_hidden(request, poll)) is not None:
        return hidden
    snapshot = snapshots.results(poll=poll)
    return JsonResponse(kinds.kind_for(poll).rctab_summary(poll, snapshot))


def _results_hidden(request: HttpRequest, poll: Any) -> JsonResponse | None:
    """The API's 403 when the caller may not see this poll's results yet, else None."""
    if selectors.results_visible(
        poll=poll,
        voter_key=request.voter_key,  # type: ignore[attr-defined]
        is_staff=request.user.is_staff,
    ):
        return None
    return json_error(403, selectors.results_hidden_reason(poll), code="results_hidden")


def _text_poll(request: HttpRequest, slug: str) -> Any:
    """The text poll whose results the caller may see, or the JSON error saying why not."""
    poll = _api_poll(slug, fresh=True)
    if poll is None:
        return _no_such_poll(slug)
    if not kinds.kind_for(poll).stores_entries:
        return json_error(
            404, _("This poll takes no written entries: see its results."), code="not_found"
        )
    if (hidden := _results_hidden(request, poll)) is not None:
        return hidden
    return poll


def _whole(request: HttpRequest, name: str, default: int | None, most: int) -> int | None:
    """A query's whole number from 1 to `most`, `default` when absent; ValueError else."""
    text = request.GET.get(name)
    if text is None:
        return default
    if not (text.isascii() and text.isdecimal() and len(text) <= 19 and 1 <= int(text) <= most):
        raise ValueError(name)
    return int(text)


@require_GET
def api_terms(request: HttpRequest, slug: str) -> JsonResponse:
    """A text poll's terms, most given first, a page at a time (beyond the snapshot's)."""
    poll = _text_poll(request, slug)
    if isinstance(poll, JsonResponse):
        return poll
    try:
        page = _whole(request, "page", 1, 1_000_000) or 1
    except ValueError:
        return json_error(400, _("'page' is a whole number from 1."), code="bad_request")
    terms = selectors.text_terms(poll=poll, page=page)
    url = reverse("polls:api-terms", args=[poll.slug])
    full = len(terms) == selectors.TEXT_PAGE_SIZE
    return JsonResponse(
        {
            "poll": poll.slug,
            "page": page,
            "terms": terms,
            "next": f"{url}?page={page + 1}" if full else None,
        }
    )


@require_GET
def api_entries(request: HttpRequest, slug: str) -> JsonResponse:
    """A text poll's shown entries, newest first, a page at a time (never who gave them)."""
    poll = _text_poll(request, slug)
    if isinstance(poll, JsonResponse):
        return poll
    try:
        before = _whole(request, "before", None, 2**63 - 1)
    except ValueError:
        return json_error(400, _("'before' is an entry id, a whole number."), code="bad_request")
    entries = selectors.text_entries_page(poll=poll, before=before)
    url = reverse("polls:api-entries", args=[poll.slug])
    full = len(entries) == selectors.TEXT_PAGE_SIZE
    return JsonResponse(
        {
            "poll": poll.slug,
            "entries": entries,
            "next": f"{url}?before={entries[-1]['id']}" if full else None,
        }
    )


@require_GET
def api_schema(request: HttpRequest) -> HttpResponse:
    """The API's OpenAPI 3.1 document, built from the kinds (polls.kinds.openapi;
    docs/api.md explains it)."""
    return HttpResponse(kinds.openapi_text(), content_type="application/json")


def api_not_found(request: HttpRequest) -> HttpResponse:
    """Any other path under /api/ (a slug no poll can have, say): the API's JSON 404, in
    debug too (where Django would otherwise answer its HTML page)."""
    return json_error(404, _("Not found."))


_CSRF_API = gettext_noop(
    "CSRF check failed: send the csrftoken cookie and its value in the X-CSRFToken header."
)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    if wants_json(request):
        return json_error(403, _(_CSRF_API), code="csrf_failed")
    return error_page(403, _("CSRF check failed: reload the page and try again."))


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if wants_json(request):
        return json_error(400, _("The request could not be understood."))
    return error_page(400, _("The request could not be understood."))


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if wants_json(request):
        return json_error(403, _("Not allowed."))
    return error_page(403)


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if wants_json(request):
        return json_error(404, _("Not found."))
    return error_page(404)


def server_error(request: HttpRequest) -> HttpResponse:
    # Django calls this inside its `except`: a store outage a middleware raised (the log-in
    # session read in VoterMiddleware, say) gets the deliberate 503 a view's would.
    if is_store_outage(exception := sys.exc_info()[1]):
        return store_unavailable(request, exception)
    if wants_json(request):
        return json_error(500, _("Internal error; the team has been told."))
    return error_page(500)
