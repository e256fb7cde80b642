import sys
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction

from polls import audit, qna_reads

from ._common import poll_or_error, session_or_error


class Command(BaseCommand):
    help = (
        "Write a poll's audit export as JSON: its sealed chain, its board of receipts, its "
        "ballots (a secret poll's apart from their receipts, sorted) or entries, and the "
        "result it publishes, all read at one moment while votes may still come in. Check "
        "it with `python tools/verify.py FILE` (standard library only; docs/verification.md). "
        "With --board CODE instead of a slug: a live session's Q&A board, its questions and "
        "the upvote actions that count them."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", nargs="?", help="the poll's slug")
        parser.add_argument("--board", help="a session's join code or id: its Q&A board")
        parser.add_argument("--output", type=Path, help="write here instead of stdout")

    def handle(self, *args: Any, **options: Any) -> None:
        if (options["slug"] is None) == (options["board"] is None):
            raise CommandError("Give a poll's slug or --board CODE (one of them).")
        if options["board"] is not None:
            board = qna_reads.board_of(session_or_error(options["board"]))
            if board is None:
                raise CommandError(f"Session {options['board']} has no Q&A board.")
            self._write(lambda out: audit.write_board(board, out), options["output"],
                        f"the Q&A board of session {board.session_id}")  # fmt: skip
            return
        poll = poll_or_error(options["slug"])
        self._write(lambda out: audit.write(poll, out), options["output"], poll.slug)

    def _write(self, write: Callable[[IO[str]], dict[str, Any]], output: Path | None,
               name: str) -> None:  # fmt: skip
        outer = connection.in_atomic_block  # a test's transaction: its snapshot already
        with transaction.atomic():
            if not outer:  # one snapshot of the whole database: chain, board, result agree
                with connection.cursor() as cursor:
                    cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            if output is None:
                write(sys.stdout)
                return
            with output.open("w", encoding="utf-8") as out:
                counts = write(out)
        held = ", ".join(f"{n} {what}" for what, n in counts.items())
        self.stderr.write(f"{name}: audit export written to {output} ({held})")
