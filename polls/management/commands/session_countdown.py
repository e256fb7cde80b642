from typing import Any

from django.core.management.base import CommandParser

from polls import live_sessions
from polls.models import LiveSession

from ._common import SessionCommand


class Command(SessionCommand):
    help = (
        "Start the current quiz question's countdown (the server's clock), or end it early "
        "with --end."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--end", action="store_true", help="end the countdown early")

    def act(self, session: LiveSession, options: dict[str, Any]) -> LiveSession:
        if options["end"]:
            return live_sessions.lock(session)
        return live_sessions.start(session)
