from typing import Any

from polls import live_sessions
from polls.models import LiveSession

from ._common import SessionCommand


class Command(SessionCommand):
    help = "End the session: its polls close, its join code is freed."

    def act(self, session: LiveSession, options: dict[str, Any]) -> LiveSession:
        return live_sessions.end(session)
