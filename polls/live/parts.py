"""What an audience's page swaps in when the session changes, rendered once per language
by the process that made the change: the session event carries them, and each audience
socket is sent its page's language's (results.sessions). Only the current question is
rendered, never the ones to come (a quiz would leak its answers)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import translation

from polls import displays, quiz, snapshots
from polls.models import LiveSession

# The page puts its own CSRF token in place of this one (session.js).
CSRF_PLACEHOLDER = "csrf-of-this-page"


def session_parts(session: LiveSession, state: dict[str, Any]) -> dict[str, dict[str, str]]:
    """{language: {"ballot": the audience's poll part for a new voter}} for a question any
    phone may vote on as it is drawn (open, no log-in needed, results not shown), or
    {language: {"results_part": its results section}} once the presenter shows them; {}
    otherwise: the pages fetch their part then."""
    poll = session.current_poll
    wanted = state.get("poll")
    if poll is None or wanted is None:
        return {}
    if state["reveal"]:
        context: dict[str, Any] = {
            "poll": poll,
            **displays.results_context(poll, snapshots.results(poll=poll)),
            "quiz_correct_ids": quiz.revealed_key(poll),  # a quiz's chart marks its key
        }
        return _each_language("results_part", "polls/_session_results.html", context)
    if wanted["status"] != "open" or poll.login_required:
        return {}
    context = {"session": session, "state": state, "poll": poll, "needs_login": False,
               "is_open": not session.locked, "csrf_token": CSRF_PLACEHOLDER}  # fmt: skip
    return _each_language("ballot", "polls/_session_poll.html", context, ballot_form)


def quiz_reveal(session: LiveSession, state: dict[str, Any]) -> dict[str, Any] | None:
    """A revealed quiz question's per-player results (polls.quiz.revealed) and the
    phone's words for them per language: each audience socket is sent its own voter's
    (results.sessions), so no phone fetches anything at the reveal. None otherwise."""
    poll = session.current_poll
    if poll is None or not state.get("reveal") or not state.get("quiz"):
        return None
    results = quiz.revealed(poll, session)
    if results is None:
        return None
    # The last quiz question ends the quiz: each phone also gets its final place and the
    # podium, rendered here once per language (no phone fetches it).
    final = quiz.last_question(session)
    podium = quiz.podium(session) if final and session.quiz_leaderboard else None
    words = {}
    for language, _name in settings.LANGUAGES:
        with translation.override(language):
            words[language] = quiz.reveal_words()
            if final:
                words[language] |= quiz.final_words(len(results))
            if podium is not None:
                html = render_to_string("polls/_quiz_podium.html", {"podium": podium})
                words[language]["podium"] = html.strip()
    return {"results": results, "words": words}


def _each_language(
    name: str, template: str, context: dict[str, Any], more: Any = None
) -> dict[str, dict[str, str]]:
    parts = {}
    for language, _name in settings.LANGUAGES:
        # Words built for the context (a form's hints, a unit) are in the language too.
        with translation.override(language):
            full = context | (more(context["poll"]) if more else {})
            parts[language] = {name: render_to_string(template, full).strip()}
    return parts


def ballot_form(poll: Any) -> dict[str, Any]:
    """A new voter's form for the poll: the one call into the ballot partials' helpers."""
    return {"choices": poll.choices.all(), **displays.voting_form(poll, ballot=None)}
