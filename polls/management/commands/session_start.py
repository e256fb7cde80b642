from typing import Any

from polls import live_sessions
from polls.models import LiveSession

from ._common import SessionCommand


class Command(SessionCommand):
    help = "Take a session live: it gets a join code, its polls open, the first one is current."

    def act(self, session: LiveSession, options: dict[str, Any]) -> LiveSession:
        return live_sessions.go_live(session)
