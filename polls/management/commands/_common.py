"""What the poll and session commands share: finding a poll or a session, reading times,
and the shape of a presenter's action."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import redis
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from polls import live_sessions, selectors
from polls.models import LiveSession, Poll


def poll_or_error(slug: str) -> Poll:
    poll = selectors.poll_by_slug(slug=slug)
    if poll is None:
        raise CommandError(f"No poll with slug '{slug}'.")
    return poll


def parse_time(value: str | None, *, name: str) -> datetime | None:
    """An ISO 8601 time; without a zone it is taken in the site's time zone."""
    if value is None:
        return None
    try:
        parsed = parse_datetime(value)
    except ValueError:
        parsed = None
    if parsed is None:
        raise CommandError(f"{name}: '{value}' is not a time like 2026-05-01T18:00 or ...+02:00.")
    return timezone.make_aware(parsed) if timezone.is_naive(parsed) else parsed


def session_or_error(ref: str) -> LiveSession:
    """A session by its live join code or its id (#12 or 12)."""
    session = live_sessions.by_code(ref)
    if session is None and ref.lstrip("#").isdigit():
        session = LiveSession.objects.filter(pk=int(ref.lstrip("#"))).first()
    if session is None:
        raise CommandError(f"No session with code or id '{ref}'.")
    return session


class SessionCommand(BaseCommand):
    """One presenter action on a session, named by its join code or id."""

    action_help = ""

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("session", help="the session's join code (while live) or id")

    def act(self, session: LiveSession, options: dict[str, Any]) -> LiveSession:
        raise NotImplementedError

    def handle(self, *args: Any, **options: Any) -> None:
        session = session_or_error(options["session"])
        try:
            session = self.act(session, options)
        except live_sessions.SessionError as error:
            raise CommandError(str(error)) from None
        except (DatabaseError, redis.RedisError) as error:  # the action rolled back whole
            raise CommandError(
                f"the stores are not answering ({type(error).__name__}): nothing changed",
                returncode=2,
            ) from None
        state = selectors.session_state(session=session)
        poll = state["poll"]
        where = (
            f"question {state['position']} of {state['count']}: {poll['question']}" if poll else ""
        )
        flags = ", ".join(
            word
            for word, on in (("locked", state["locked"]), ("results shown", state["reveal"]))
            if on
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"Session '{session.title}' ({session.state}"
                + (f", code {session.code}" if session.code else "")
                + f"){': ' + where if where else ''}{' [' + flags + ']' if flags else ''}"
            )
        )
