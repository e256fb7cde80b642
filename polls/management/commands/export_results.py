import io
import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from polls import export

from ._common import poll_or_error


class Command(BaseCommand):
    help = (
        "Export a poll's results (from the tallies) as CSV (one row per choice) or JSON, "
        "to stdout or --output FILE."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", help="the poll's slug")
        parser.add_argument(
            "--format", choices=["csv", "json"], default="csv", help="csv (default) or json"
        )
        parser.add_argument("--output", type=Path, help="write here instead of stdout")

    def handle(self, *args: Any, **options: Any) -> None:
        poll = poll_or_error(options["slug"])
        rows = export.export_rows(polls=[poll])
        if options["format"] == "csv":
            buffer = io.StringIO()
            export.write_csv(rows, buffer)
            text = buffer.getvalue()
        else:
            # export_rows read the tallies once; every row carries the poll's total.
            document = {
                "poll": poll.slug,
                "question": poll.question,
                "status": poll.state_at(timezone.now()),
                "total": rows[0]["total"] if rows else 0,
                "exported_at": timezone.now().isoformat(),
                "choices": [{k: row[k] for k in ("choice", "votes", "percent")} for row in rows],
            }
            text = json.dumps(document, indent=2) + "\n"
        output = options["output"]
        if output is None:
            self.stdout.write(text, ending="")
            return
        try:
            output.write_text(text, encoding="utf-8")
        except OSError as error:
            raise CommandError(f"Cannot write {output}: {error.strerror}.") from None
        self.stderr.write(f"Wrote the results of '{poll.slug}' to {output}.")
