from typing import Any

from django.core.management.base import CommandParser

from polls import live_sessions
from polls.models import LiveSession

from ._common import SessionCommand


class Command(SessionCommand):
    help = "Show the current poll's results on the audience's devices (--hide hides them)."

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--hide", action="store_true", help="hide the results again")

    def act(self, session: LiveSession, options: dict[str, Any]) -> LiveSession:
        return live_sessions.reveal(session, shown=not options["hide"])
