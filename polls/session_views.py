"""Live sessions' pages: join by code, the audience's page, the presenter's view and its
controls, and the embeddable results. The rules are polls.live_sessions'."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.models import AnonymousUser
from django.contrib.auth.views import redirect_to_login
from django.contrib.messages.storage.cookie import CookieStorage
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.middleware.csrf import get_token
from django.shortcuts import redirect, render, resolve_url
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from . import (
    displays,
    live_sessions,
    qna_reads,
    qr,
    quiz,
    ratelimits,
    receipts,
    selectors,
    snapshots,
)
from .live import audience as audience_cache
from .live.pages import kind_scripts, session_kinds
from .live.parts import CSRF_PLACEHOLDER
from .models import LiveSession
from .pipeline import ballots
from .responses import error_response, json_error, session_refused, wants_json
from .voters import LoginUnreadable

View = Callable[..., HttpResponse]


def _guarded(view: View) -> View:
    """A view that looks up a join code: refused lookups answer 429 with Retry-After; a
    page reached by its code hands the browser that code's join pass (a cookie)."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            response = view(request, *args, **kwargs)
        except live_sessions.JoinRefused as refused:
            message = _(
                "Too many wrong codes were tried from here; try again in %(seconds)s seconds."
            ) % {"seconds": refused.retry_after}
            return error_response(request, 429, message, retry_after=refused.retry_after)
        reached = getattr(request, "_join_reached", None)
        if reached and response.status_code < 400:
            response.set_cookie(
                ratelimits.JOIN_PASS_COOKIE,
                ratelimits.join_pass(reached),
                max_age=ratelimits.JOIN_PASS_MAX_AGE,
                httponly=True,
                samesite="Lax",
                secure=settings.SESSION_COOKIE_SECURE,
            )
        return response

    return wrapped


def _find(request: HttpRequest, code: str) -> LiveSession | None:
    """live_sessions.join for this request (its address, its join pass)."""
    session = live_sessions.join(
        code,
        address=ratelimits.client_ip(request),
        join_pass=request.COOKIES.get(ratelimits.JOIN_PASS_COOKIE),
    )
    if session is not None:
        request._join_reached = session.code  # type: ignore[attr-defined]
    return session


@require_http_methods(["GET", "POST"])
@_guarded
def join(request: HttpRequest) -> HttpResponse:
    """A field for the code; a wrong one gets a clear message, a right one the session."""
    code = (request.POST.get("code") or request.GET.get("code") or "").strip()
    error = ""
    if code:
        session = _find(request, code)
        if session is not None:
            return redirect("polls:session", code=session.code)
        error = _("No live session has that code: check the digits on the screen.")
    status = 404 if error else 200
    return render(request, "polls/join.html", {"code": code, "error": error}, status=status)


def _live(request: HttpRequest, code: str) -> LiveSession:
    session = _find(request, code)
    if session is None:
        raise Http404(_("No live session has that code."))
    return session


@require_GET
@_guarded
def audience(request: HttpRequest, code: str) -> HttpResponse:
    """The current poll with its voting form (follows the presenter: live with JavaScript,
    on reload without). `?part=poll` is the poll's part alone, which session.js swaps in.

    A new visitor (nothing of theirs can be on the page) is served the page kept for the
    session's code, language and seq (polls.live.audience) with its own CSRF token: a
    room's joins render nothing and read no Postgres. So is a visitor who has been here
    with nothing of theirs on it (a look at their ballot). Anyone else's is rendered for
    them."""
    new = _new_visitor(request)
    if new or _plain_visitor(request):
        page = _kept_page(request, code, returning=not new)
        if page is not None:
            return page
    session = _live(request, code)
    if new and not quiz.has_quiz(session):
        # Rendered once for every new visitor; a quiz's page is not kept (its countdown
        # carries the server's clock, a revealed question each player's result).
        return _keep_page(request, session)
    voter_key = request.voter_key  # type: ignore[attr-defined]
    part = request.GET.get("part") == "poll"
    context = _audience_context(
        session,
        voter_key=voter_key,
        # An unknown voter (log-in unreadable: VoterMiddleware) keeps the form; a vote gets 503.
        authenticated=None if voter_key is None else request.user.is_authenticated,
        receipt_cookie=request.COOKIES.get(receipts.COOKIE),
        path=request.path,
        sort=None if part else request.GET.get("qna", "top"),
    )
    if part:
        return render(request, "polls/_session_poll.html", context)
    return render(request, "polls/session.html", context)


def _plain_visitor(request: HttpRequest) -> bool:
    """Whether only a ballot of this visitor's can be on the page: not logged in, no
    message or receipt cookie waiting, the whole page asked for as it is."""
    cookies = request.COOKIES
    return (
        settings.SESSION_COOKIE_NAME not in cookies
        and CookieStorage.cookie_name not in cookies
        and receipts.COOKIE not in cookies
        and not request.GET
        and request.voter_key is not None  # type: ignore[attr-defined]
    )


def _new_visitor(request: HttpRequest) -> bool:
    """Whether nothing of this visitor's can be on the page: plain, and its voter cookie
    given by this very request (VoterMiddleware)."""
    return settings.VOTER_COOKIE_NAME not in request.COOKIES and _plain_visitor(request)


def _kept_page(request: HttpRequest, code: str, *, returning: bool) -> HttpResponse | None:
    """The kept page for a right code, with this visitor's CSRF token; None when none is
    kept (or the code is not one as typed), or a visitor who has been here has something
    of theirs on it. The join rules for a right code (live_sessions.let_in): refused from
    an address that spent its budget, unless it holds this code's pass."""
    language = translation.get_language()
    if not (code.isascii() and code.isdigit()) or language not in dict(settings.LANGUAGES):
        return None
    page = audience_cache.kept(code, language)
    if page is None:
        return None
    live_sessions.let_in(
        code,
        address=ratelimits.client_ip(request),
        join_pass=request.COOKIES.get(ratelimits.JOIN_PASS_COOKIE),
    )
    if returning and _has_own(page, request.voter_key):  # type: ignore[attr-defined]
        return None
    request._join_reached = code  # type: ignore[attr-defined]
    return HttpResponse(audience_cache.with_token(page.html, get_token(request)))


def _has_own(page: audience_cache.Kept, voter_key: str) -> bool:
    """Whether a visitor who has been here has a ballot (being stored, or stored: the
    process's copy of the poll, then Redis and Postgres) or may have a question or an
    upvote (an enabled Q&A board: drawn for them) on the kept page."""
    if page.qna:
        return True
    if not page.poll_slug:
        return False
    try:
        poll = selectors.poll_for_voting(slug=page.poll_slug)
    except Http404:  # gone since: drawn for them, which says so
        return True
    shown = ballots.shown_ballot(poll=poll, voter_key=voter_key)
    return shown.ballot is not None or shown.storing


def _keep_page(request: HttpRequest, session: LiveSession) -> HttpResponse:
    """The page as every new visitor gets it: rendered for a visitor with no cookies
    (another HttpRequest: nothing of this one's gets in), kept, served with its token."""
    path = reverse("polls:session", args=[session.code])
    anyone = HttpRequest()
    anyone.method, anyone.path, anyone.path_info = "GET", path, path
    anyone.user = AnonymousUser()
    context = _audience_context(session, voter_key=None, authenticated=False,
                                receipt_cookie=None, path=path, sort="top")  # fmt: skip
    context["csrf_token"] = CSRF_PLACEHOLDER
    html = render_to_string("polls/session.html", context, request=anyone)
    language = translation.get_language()
    if language in dict(settings.LANGUAGES):
        poll = session.current_poll
        kept = audience_cache.Kept(code=session.code, seq=session.seq, html=html,
                                   poll_slug=poll.slug if poll else "",
                                   qna="qna" in context)  # fmt: skip
        audience_cache.keep(session.pk, language, kept)
    return HttpResponse(audience_cache.with_token(html, get_token(request)))


def _audience_context(
    session: LiveSession,
    *,
    voter_key: str | None,
    authenticated: bool | None,
    receipt_cookie: str | None,
    path: str,
    sort: str | None,
) -> dict[str, Any]:
    """What the audience's page (or its poll part: `sort` None) draws for this voter; a
    voter_key of None draws it for a voter with nothing of theirs yet (no ballot, no
    receipt, no nickname, no question asked). `authenticated` None: not known (no log-in
    is asked for then)."""
    context: dict[str, Any] = {
        "session": session,
        "state": selectors.session_state(session=session),
        **kind_scripts(session_kinds(session)),
    }
    if session.current_poll is not None:
        poll = selectors.poll_for_voting(slug=session.current_poll.slug, fresh=True)
        needs_login = bool(poll.login_required and authenticated is False)
        # The vote just cast while it is being stored (its pending ballot), else the stored
        # one: the mark says which, as the "vote received" message does.
        shown = None if voter_key is None else ballots.shown_ballot(poll=poll, voter_key=voter_key)
        context |= {
            "poll": poll,
            "storing": bool(shown and shown.storing),
            "choices": poll.choices.all(),
            "needs_login": needs_login,
            "login_url": f"{resolve_url(settings.LOGIN_URL)}?{urlencode({'next': path})}",
            "is_open": poll.state == "open" and not needs_login and not session.locked,
            **displays.voting_form(poll, ballot=None if shown is None else shown.ballot),
        }
        yours = receipts.yours(
            poll=poll,
            voter_key=voter_key,
            vote_id=shown.vote_id if shown else "",
            storing=bool(shown and shown.storing),
            cookie=receipt_cookie,
        )
        context.update(yours.context())
        if session.reveal:
            context |= displays.results_context(poll, snapshots.results(poll=poll))
        context |= _quiz_audience(session, poll, voter_key)
    if sort is None:
        return context
    context |= _qna(session, voter_key, sort)
    if quiz.has_quiz(session) and voter_key is not None:
        context["nickname"] = quiz.nickname_of(session, voter_key)
        context["nickname_open"] = not quiz.quiz_started(session)
        context["nickname_max"] = quiz.NICKNAME_MAX
    return context


@require_POST
@_guarded
def nickname(request: HttpRequest, code: str) -> HttpResponse:
    """A player's nickname in a quiz session: refused with a clear message when the filter
    catches it, another player has it, or the quiz has started."""
    session = _live(request, code)
    voter_key = request.voter_key  # type: ignore[attr-defined]
    try:
        if voter_key is None:
            raise quiz.NicknameRefused(_("Your browser's cookie is unreadable: reload the page."))
        name = quiz.set_nickname(session, voter_key, request.POST.get("nickname", ""))
    except quiz.NicknameRefused as refused:
        if wants_json(request):
            return json_error(400, str(refused), code="nickname_refused")
        messages.error(request, str(refused))
    else:
        if wants_json(request):
            return JsonResponse({"nickname": name})
        messages.success(request, _("You play as %(name)s.") % {"name": name})
    return redirect("polls:session", code=session.code)


def _presenter(request: HttpRequest, code: str) -> LiveSession | HttpResponse:
    if request.voter_key is None:  # type: ignore[attr-defined]
        # Someone logged in whom Postgres cannot tell: the outage's 503, not a log-in page.
        raise LoginUnreadable("log-in session unreadable")
    user = request.user
    if user.is_authenticated and (user.is_staff or user.has_perm(live_sessions.PERMISSION)):
        # A presenter's own lookups are not guesses (and never refused for others').
        found = live_sessions.by_code(code)
        if found is None:
            raise Http404(_("No live session has that code."))
        session = found
    else:
        session = _live(request, code)
    if not request.user.is_authenticated:
        if wants_json(request):
            message = _("Log in to present this session.")
            return json_error(403, message, code="login_required")
        return redirect_to_login(request.get_full_path())
    if not live_sessions.may_present(request.user, session):
        message = _("Only the session's owner and its presenters may present it.")
        if wants_json(request):
            return json_error(403, message, code="not_presenter")
        return render(request, "polls/error.html", {"message": message}, status=403)
    return session


@require_GET
@_guarded
def present(request: HttpRequest, code: str) -> HttpResponse:
    """The presenter's view for the projector: join link, code and QR, the current poll
    and its live results, and the controls."""
    session = _presenter(request, code)
    if isinstance(session, HttpResponse):
        return session
    context = {"session": session, **_stage(session), **kind_scripts(session_kinds(session))}
    if request.GET.get("part") == "poll":
        return render(request, "polls/_present_poll.html", context)
    context |= _qna(session, None, "top", presenter=True)
    join_link = live_sessions.public_url(reverse("polls:session", args=[session.code]))
    context |= {
        "join_link": join_link,
        # Typed on a phone: the address without its scheme (browsers add it).
        "join_page": live_sessions.public_url(reverse("polls:join")).split("://", 1)[-1],
        # Read aloud in groups of three ("123 456", "123 456 789").
        "spoken_code": " ".join(session.code[i : i + 3] for i in range(0, len(session.code), 3)),
        "qr": qr.svg(join_link, title=_("Scan to join: %(link)s") % {"link": join_link}),
    }
    return render(request, "polls/present.html", context)


def _qna(
    session: LiveSession, voter_key: str | None, sort: str, *, presenter: bool = False
) -> dict[str, Any]:
    """The session's Q&A board as the page draws it without JavaScript: its snapshot,
    the questions in the chosen order (top or newest), each marked with this voter's own
    question and upvote; the presenter also sees the questions held for review."""
    board = qna_reads.board_of(session)
    if board is None or not (board.enabled or presenter):
        return {}
    snapshot = qna_reads.snapshot(board)
    sort = "newest" if sort == "newest" else "top"
    mine = qna_reads.mine(board, voter_key)
    asked, upvoted = set(mine["asked"]), set(mine["upvoted"])
    questions = [
        {**q, "mine": q["id"] in asked, "upvoted": q["id"] in upvoted} for q in snapshot[sort]
    ]
    context = {"qna": board, "qna_snapshot": snapshot, "qna_sort": sort,
               "qna_questions": questions, "qna_mine": mine}  # fmt: skip
    if presenter:
        context["qna_pending"] = [qna_reads.item(q) for q in qna_reads.pending(board)]
    return context


def _stage(session: LiveSession) -> dict[str, Any]:
    """The current poll and its results (the presenter sees them whether shown or not)."""
    context: dict[str, Any] = {"state": selectors.session_state(session=session)}
    poll = session.current_poll
    if poll is not None:
        context["poll"] = poll
        context |= displays.results_context(poll, snapshots.results(poll=poll))
        context |= _quiz_stage(session, poll)
    return context


def _quiz_stage(session: LiveSession, poll: Any) -> dict[str, Any]:
    """A quiz question on the projector: its countdown; once revealed, the correct
    choices and the leaderboard."""
    state = quiz.state_of(session)
    if state is None:
        return {}
    context: dict[str, Any] = {"quiz": state}
    if session.reveal:
        settings = quiz.settings_of(poll)
        correct = quiz.correct_ids(poll, settings) if settings else ()
        context["quiz_correct"] = [c.label for c in poll.choices.all() if c.pk in correct]
        context["quiz_correct_ids"] = correct  # the chart marks them
        context["leaderboard"] = quiz.leaderboard(session) if session.quiz_leaderboard else None
        if context["leaderboard"] is not None and quiz.last_question(session):
            # The quiz's end: the podium, then the top ten's others.
            context["podium"] = quiz.podium(session)
            board = context["leaderboard"]
            context["final_rest"] = [row for row in board if not quiz.on_podium(row)]
    return context


def _quiz_audience(session: LiveSession, poll: Any, voter_key: str | None) -> dict[str, Any]:
    """A quiz question on a phone: the time left; once revealed, right or wrong, the
    points, and the player's score and rank."""
    state = quiz.state_of(session)
    if state is None:
        return {}
    context: dict[str, Any] = {"quiz": state}
    if not state["running"]:
        context["is_open"] = False
    if state["started"] and not state["running"]:
        # Time is up: an answer admitted (202) is counted, so no "being stored" and no
        # form to send again; the part says the answers are closed.
        context |= {"quiz_closed": True, "storing": False}
    if session.reveal:
        context["quiz_correct_ids"] = quiz.revealed_key(poll)  # the chart marks them
    if session.reveal and voter_key is not None:
        context["quiz_result"] = quiz.result_of(poll, voter_key)
        if session.quiz_leaderboard:  # the organiser may keep places off the phones
            context["quiz_standing"] = quiz.rank_of(quiz.standings(session), voter_key)
        context["quiz_final"] = quiz.final_of(session, voter_key)
    return context


_ACTIONS = {
    "next": lambda s: live_sessions.move(s, step=1),
    "previous": lambda s: live_sessions.move(s, step=-1),
    "lock": lambda s: live_sessions.lock(s, locked=True),
    "unlock": lambda s: live_sessions.lock(s, locked=False),
    "start": live_sessions.start,
    "reveal": lambda s: live_sessions.reveal(s, shown=True),
    "hide": lambda s: live_sessions.reveal(s, shown=False),
    "end": live_sessions.end,
    "new-code": live_sessions.new_code,
}


@require_POST
@_guarded
def control(request: HttpRequest, code: str) -> HttpResponse:
    """A presenter's action (next, previous, lock, unlock, reveal, hide, end, new-code):
    JSON for the view's script (`Accept: application/json`: the new state, or an error with
    its `code`, a store outage's 503 included), a redirect back for a plain form."""
    session = _presenter(request, code)
    if isinstance(session, HttpResponse):
        return session
    action = request.POST.get("action", "")
    if action not in _ACTIONS:  # not a control the view offers
        message = _("Unknown action %(action)s.") % {"action": repr(action)}
        if wants_json(request):
            return json_error(400, message, code="unknown_action")
        return render(request, "polls/error.html", {"message": message}, status=400)
    # "next" before a quiz question's answer was shown is allowed, and the presenter told.
    note = ""
    if action == "next" and live_sessions.reveal_skipped(session):
        note = _("Moved on without showing the correct answer.")
    try:
        session = _ACTIONS[action](session)
        if note and not wants_json(request):
            messages.info(request, note)
    except live_sessions.SessionError as error:
        if wants_json(request):
            return session_refused(error)
        messages.error(request, str(error))
    if wants_json(request):
        answer = selectors.session_state(session=session)
        answer["quiz"] = quiz.state_of(session)
        if note:
            answer["note"] = note
        return JsonResponse(answer)
    return _back(session)


def _back(session: LiveSession) -> HttpResponse:
    """A plain form's answer: the presenter's view again (a refusal as a message on it)."""
    if session.state != LiveSession.State.LIVE:
        return redirect("polls:index")
    return redirect("polls:present", code=session.code)


@require_GET
@xframe_options_exempt  # framed by the sites EMBED_FRAME_ANCESTORS names (CSP)
def embed_poll(request: HttpRequest, slug: str) -> HttpResponse:
    """One poll's results only, for an <iframe> in slides, a stream or a website."""
    poll = selectors.poll_for_voting(slug=slug, fresh=True)
    voter_key = request.voter_key  # type: ignore[attr-defined]
    if not selectors.results_visible(poll=poll, voter_key=voter_key, is_staff=False):
        raise Http404(_("No public results."))
    snapshot = snapshots.results(poll=poll)
    context = {"poll": poll, **displays.results_context(poll, snapshot), **_embed(request),
               **kind_scripts([poll.kind])}  # fmt: skip
    return _framable(render(request, "polls/embed.html", context))


@require_GET
@xframe_options_exempt
@_guarded
def embed_session(request: HttpRequest, code: str) -> HttpResponse:
    """A session's current poll's results, following the presenter: shown when the
    presenter shows them to the audience (an embed is as public as a phone)."""
    session = _live(request, code)
    context: dict[str, Any] = {"session": session, "poll": session.current_poll,
                               "state": selectors.session_state(session=session),
                               **_embed(request),
                               **kind_scripts(session_kinds(session))}  # fmt: skip
    if session.current_poll is not None and session.reveal:
        snapshot = snapshots.results(poll=session.current_poll)
        context |= displays.results_context(session.current_poll, snapshot)
    template = "polls/_embed_poll.html" if request.GET.get("part") == "poll" else "polls/embed.html"
    return _framable(render(request, template, context))


def _embed(request: HttpRequest) -> dict[str, str]:
    """?theme=light|dark|transparent (default: the viewer's)."""
    theme = request.GET.get("theme", "")
    return {"theme": theme if theme in {"light", "dark", "transparent"} else ""}


def _framable(response: HttpResponse) -> HttpResponse:
    # django-csp reads this to replace frame-ancestors for this response only.
    response._csp_replace = {"frame-ancestors": settings.EMBED_FRAME_ANCESTORS or ["'none'"]}  # type: ignore[attr-defined]
    return response
