import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import connection, transaction

from polls import audit

from ._common import poll_or_error


class Command(BaseCommand):
    help = (
        "Write a poll's audit export as JSON: its sealed chain, its board of receipts, its "
        "ballots (a secret poll's apart from their receipts, sorted) or entries, and the "
        "result it publishes, all read at one moment while votes may still come in. Check "
        "it with `python tools/verify.py FILE` (standard library only; docs/verification.md)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", help="the poll's slug")
        parser.add_argument("--output", type=Path, help="write here instead of stdout")

    def handle(self, *args: Any, **options: Any) -> None:
        poll = poll_or_error(options["slug"])
        outer = connection.in_atomic_block  # a test's transaction: its snapshot already
        with transaction.atomic():
            if not outer:  # one snapshot of the whole database: chain, board, result agree
                with connection.cursor() as cursor:
                    cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            if options["output"] is None:
                audit.write(poll, sys.stdout)
                return
            with options["output"].open("w", encoding="utf-8") as out:
                counts = audit.write(poll, out)
        held = ", ".join(f"{n} {name}" for name, n in counts.items())
        self.stderr.write(f"{poll.slug}: audit export written to {options['output']} ({held})")
