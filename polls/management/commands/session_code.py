from typing import Any

from polls import live_sessions
from polls.models import LiveSession

from ._common import SessionCommand


class Command(SessionCommand):
    help = "Give the live session a new join code (the old one stops working)."

    def act(self, session: LiveSession, options: dict[str, Any]) -> LiveSession:
        return live_sessions.new_code(session)
