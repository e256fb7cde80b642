from typing import Any

from polls import live_sessions
from polls.models import LiveSession

from ._common import SessionCommand


class Command(SessionCommand):
    help = "Make the session's previous poll current."

    def act(self, session: LiveSession, options: dict[str, Any]) -> LiveSession:
        return live_sessions.move(session, step=-1)
