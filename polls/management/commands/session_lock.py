from typing import Any

from django.core.management.base import CommandParser

from polls import live_sessions
from polls.models import LiveSession

from ._common import SessionCommand


class Command(SessionCommand):
    help = "Lock voting on the current poll (--unlock opens it again)."

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--unlock", action="store_true", help="open voting again")

    def act(self, session: LiveSession, options: dict[str, Any]) -> LiveSession:
        return live_sessions.lock(session, locked=not options["unlock"])
