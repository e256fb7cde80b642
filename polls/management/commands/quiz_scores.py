import csv
import json
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
        rows = quiz.export_rows(session_or_error(options["session"]))
        if options["json"]:
            self.stdout.write(json.dumps(rows, ensure_ascii=False, indent=2))
            return
        writer = csv.DictWriter(
            self.stdout, fieldnames=["rank", "name", "score", "correct_time_ms"]
        )
        writer.writeheader()
        # A nickname is the players' own text: a leading =, +, - or @ must not become a
        # spreadsheet formula (the same guard as the results' CSV).
        for row in rows:
            name = str(row["name"])
            writer.writerow({**row, "name": "'" + name if name[:1] in "=+-@\t\r" else name})
