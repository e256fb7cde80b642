from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from polls import qna, qna_reads

from ._common import session_or_error


class Command(BaseCommand):
    help = "Write a session's Q&A questions (upvotes, state, times) as CSV or JSON to stdout."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("session", help="the session's join code (while live) or id")
        parser.add_argument(
            "--format", choices=["csv", "json"], default="csv", help="csv (default) or json"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        board = qna_reads.board_of(session_or_error(options["session"]))
        if board is None:
            raise CommandError("This session has no Q&A board.")
        as_json = options["format"] == "json"
        self.stdout.write(qna.export_json(board) if as_json else qna.export_csv(board), ending="")
