"""The moderator's pages (issue 34): a poll's or a live session's audience text, the
queue live, approve / hide / restore by keyboard and by click (thin: polls.moderation
decides); a session's page also holds its Q&A board's questions (polls.qna decides).
Who: staff, presenters and the "Moderators" group (polls.moderate_entries); others log
in or get a 403. Every page works without JavaScript (each button a form)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from . import live_sessions, moderation, qna, qna_reads, ratelimits, selectors, text_entries
from .models import LiveSession, Poll, Question
from .responses import error_response, json_error, qna_refused, wants_json


def _refused(
    request: HttpRequest, *, session: LiveSession | None = None, poll: Poll | None = None
) -> HttpResponse | None:
    """Log in first; then only moderators, and those who may present the session (or a
    session of the poll: its owner), may moderate."""
    user = request.user
    if not user.is_authenticated:
        if wants_json(request):
            return json_error(403, _("Log in to moderate."), code="login_required")
        return redirect_to_login(request.get_full_path())
    sessions = [session] if session is not None else []
    if poll is not None:
        sessions += [e.session for e in poll.session_entries.select_related("session")]
    if moderation.may_moderate(user) or any(live_sessions.may_present(user, s) for s in sessions):
        return None
    message = _("Only moderators and presenters may moderate audience text.")
    if wants_json(request):
        return json_error(403, message, code="not_moderator")
    return render(request, "polls/error.html", {"message": message}, status=403)


def _text_poll(slug: str) -> Poll:
    poll = selectors.poll_by_slug(slug=slug)
    if poll is None or not moderation.moderated(poll):
        raise Http404(_("No poll with audience text has that address."))
    return poll


def _queues(polls: list[Poll]) -> list[dict[str, Any]]:
    return [{"poll": poll, **moderation.queue(poll)} for poll in polls]


@require_GET
def moderate_poll(request: HttpRequest, slug: str) -> HttpResponse:
    """One poll's queue; `?part=queue` its section alone, `?part=panel` the presenter's
    compact panel (204 for a poll without audience text: the panel stays empty)."""
    poll = selectors.poll_by_slug(slug=slug)
    refused = _refused(request, poll=poll)
    if request.GET.get("part") == "panel" and poll is not None and not moderation.moderated(poll):
        return refused or HttpResponse(status=204)
    poll = _text_poll(slug)
    if refused is not None:
        return refused
    return _page(request, _queues([poll]), title=poll.question)


def _session(request: HttpRequest, code: str) -> LiveSession | HttpResponse:
    """The session a moderator names by its code, or the response refusing them."""
    if not request.user.is_authenticated:
        if wants_json(request):
            return json_error(403, _("Log in to moderate."), code="login_required")
        return redirect_to_login(request.get_full_path())
    if moderation.may_moderate(request.user):
        session = live_sessions.by_code(code)  # a moderator's lookups are not guesses
    else:  # an owner, perhaps: a lookup counted as a guess, as anyone's (no code oracle)
        try:
            session = live_sessions.join(
                code,
                address=ratelimits.client_ip(request),
                join_pass=request.COOKIES.get(ratelimits.JOIN_PASS_COOKIE),
            )
        except live_sessions.JoinRefused as too_many:
            wait = too_many.retry_after
            message = _(
                "Too many wrong codes were tried from here; try again in %(seconds)s seconds."
            ) % {"seconds": wait}
            return error_response(request, 429, message, retry_after=wait)
    if session is None:
        raise Http404(_("No live session has that code."))
    return _refused(request, session=session) or session


@require_GET
def moderate_session(request: HttpRequest, code: str) -> HttpResponse:
    """Every text poll of a live session, in its order, and its Q&A board's questions
    (`?part=qna` that section alone)."""
    session = _session(request, code)
    if isinstance(session, HttpResponse):
        return session
    board = qna_reads.board_of(session)
    qna_queue = qna_reads.for_moderator(board) if board is not None else None
    if request.GET.get("part") == "qna":
        if qna_queue is None:
            return HttpResponse(status=204)
        return render(request, "polls/_moderation_qna.html", {"qna": qna_queue, "session": session})
    polls = [e.poll for e in session.entries.select_related("poll") if moderation.moderated(e.poll)]
    return _page(request, _queues(polls), title=session.title, session=session, qna_queue=qna_queue)


_QUESTION_ACTIONS: dict[str, Callable[[Question], Question]] = {
    "approve": qna.approve_question,
    "hide": qna.hide_question,
    "restore": qna.restore_question,
}


@require_POST
def act_question(request: HttpRequest, code: str) -> HttpResponse:
    """One action on a Q&A question: `action` (approve, hide, restore, correct), `question`
    (its id) and, to correct a typo, `text` (the original is kept). JSON for the script
    (the board's new counts, or an error with its `code`); a plain form goes back."""
    session = _session(request, code)
    if isinstance(session, HttpResponse):
        return session
    board = qna_reads.board_of(session)
    if board is None:
        raise Http404(_("This session has no Q&A board."))
    action = request.POST.get("action", "")
    try:
        question = qna._question(board, request.POST.get("question", ""))
        if action == "correct":
            qna.correct_question(question, request.POST.get("text", ""))
            said = _("Corrected; the question as asked is kept.")
        elif action in _QUESTION_ACTIONS:
            _QUESTION_ACTIONS[action](question)
            said = {
                "approve": _("Approved: the question is shown."),
                "hide": _("Hidden: the question is off the board."),
                "restore": _("Restored: the question is shown."),
            }[action]
        else:
            raise qna.QnaError(_("Unknown action."), status=400, code="bad_action")
    except qna.QnaError as error:
        if wants_json(request):
            return qna_refused(request, error)
        messages.error(request, str(error))
        return _back_to_session(request, session)
    if wants_json(request):
        found = qna_reads.for_moderator(board, limit=0)
        return JsonResponse({"message": said, "pending": found["pending"],
                             "hidden": found["hidden"]})  # fmt: skip
    messages.success(request, said)
    return _back_to_session(request, session)


def _back_to_session(request: HttpRequest, session: LiveSession) -> HttpResponse:
    back = request.POST.get("next", "")
    if back.startswith("/") and url_has_allowed_host_and_scheme(back, allowed_hosts=None):
        return redirect(back)
    return redirect("polls:moderate-session", code=session.code)


def _page(
    request: HttpRequest,
    queues: list[dict[str, Any]],
    *,
    title: str,
    session: Any = None,
    qna_queue: dict[str, Any] | None = None,
) -> HttpResponse:
    context = {"queues": queues, "title": title, "session": session, "qna": qna_queue}
    part = request.GET.get("part")
    if part == "queue" and len(queues) == 1:
        return render(request, "polls/_moderation_queue.html", {"queue": queues[0]})
    if part == "panel" and len(queues) == 1:
        return render(request, "polls/_moderation_panel_queue.html", {"queue": queues[0]})
    return render(request, "polls/moderate.html", context)


@require_POST
def act(request: HttpRequest, slug: str) -> HttpResponse:
    """One action: `action` (approve, hide, restore), `unit` (term, entry, voter, waiting)
    and `value` (a term, an entry's number). JSON for the script (the poll's new queue
    counts, or an error with its `code`); a plain form goes back to where it came from."""
    poll = _text_poll(slug)
    refused = _refused(request, poll=poll)
    if refused is not None:
        return refused
    action, unit = request.POST.get("action", ""), request.POST.get("unit", "")
    if action == "hide-voter":  # every entry of the voter who gave this one
        action, unit = moderation.HIDE, moderation.VOTER
    target = moderation.Target(unit, request.POST.get("value") or None)
    try:
        done = moderation.apply(poll, action, target, by=request.user)
    except moderation.ModerationError as error:
        message = _refusal(error.code)
        if wants_json(request):
            return json_error(400, message, code=error.code)
        messages.error(request, message)
        return _back(request, poll)
    said = _said(done)
    if wants_json(request):
        counts = text_entries.totals(poll.pk)
        return JsonResponse({"moved": done.moved, "seq": done.seq, "message": said,
                             "pending": counts.pending, "hidden": counts.hidden})  # fmt: skip
    messages.success(request, said)
    return _back(request, poll)


def _refusal(code: str) -> str:
    """A refused action in the page's language (the service's own words are English)."""
    return {
        "bad_action": _("Unknown action."),
        "bad_term": _("That is not a word or phrase."),
        "bad_entry": _("That is not an entry number."),
        "no_entry": _("That entry is gone: its voter answered again."),
        "per_entry": _("Open answers are moderated one answer at a time."),
        "bad_target": _("That action does not apply there."),
    }.get(code, _("That action cannot be done."))


def _said(done: moderation.Outcome) -> str:
    return {
        moderation.APPROVE: _("Approved: %(n)s shown."),
        moderation.HIDE: _("Hidden: %(n)s."),
        moderation.RESTORE: _("Restored: %(n)s shown."),
    }[done.action] % {"n": done.moved}


def _back(request: HttpRequest, poll: Poll) -> HttpResponse:
    back = request.POST.get("next", "")
    if back.startswith("/") and url_has_allowed_host_and_scheme(back, allowed_hosts=None):
        return redirect(back)
    return redirect("polls:moderate-poll", slug=poll.slug)
