"""The next question's ballot as the audience's page shows it, rendered once per language
when a session moves: the session event carries it, and each audience socket is sent the
one in its page's language (results.sessions). Only the current question is rendered,
never the ones to come (a quiz would leak its answers)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import translation

from polls import displays
from polls.models import LiveSession

# The page puts its own CSRF token in place of this one (session.js).
CSRF_PLACEHOLDER = "csrf-of-this-page"


def session_ballots(session: LiveSession, state: dict[str, Any]) -> dict[str, str]:
    """{language: the audience's poll part} for a question any phone may vote on as it
    is drawn (open, no log-in needed); {} otherwise: the pages fetch their part then."""
    poll = session.current_poll
    wanted = state.get("poll")
    if poll is None or wanted is None or wanted["status"] != "open" or poll.login_required:
        return {}
    parts = {}
    for language, _name in settings.LANGUAGES:
        with translation.override(language):  # the form's hints are words too
            context = {
                "session": session,
                "state": state,
                "poll": poll,
                "needs_login": False,
                "is_open": not session.locked,
                "csrf_token": CSRF_PLACEHOLDER,
                **ballot_form(poll),
            }
            parts[language] = render_to_string("polls/_session_poll.html", context).strip()
    return parts


def ballot_form(poll: Any) -> dict[str, Any]:
    """A new voter's form for the poll: the one call into the ballot partials' helpers."""
    return {"choices": poll.choices.all(), **displays.voting_form(poll, ballot=None)}
