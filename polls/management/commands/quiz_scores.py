from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from polls import quiz

from ._common import session_or_error


class Command(BaseCommand):
    help = (
        "A quiz session's full ranking, computed from the stored answers: place, name, score "
        "and total time of correct answers (ms), as CSV (default) or JSON."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("session", help="the session's join code (while live) or id")
        parser.add_argument("--json", action="store_true", help="JSON instead of CSV")

    def handle(self, *args: Any, **options: Any) -> None:
        session = session_or_error(options["session"])
        self.stdout.write(
            quiz.export_json(session) if options["json"] else quiz.export_csv(session), ending=""
        )
