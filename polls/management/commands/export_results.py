import io
import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from polls import export

from ._common import poll_or_error


class Command(BaseCommand):
    help = (
        "Export a poll's results (from its aggregates) as CSV (one row per choice) or JSON "
        "(with each kind's own results: rounds and winner, or mean, median and NPS), to "
        "stdout or --output FILE. With --ballots: every ballot too (JSON), or instead (CSV: "
        "one row per ballot; a ranked poll's in rank columns, as pref-voting and pyrcv read)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", help="the poll's slug")
        parser.add_argument(
            "--format", choices=["csv", "json"], default="csv", help="csv (default) or json"
        )
        parser.add_argument("--output", type=Path, help="write here instead of stdout")
        parser.add_argument(
            "--ballots",
            action="store_true",
            help="the ballots: one CSV row each, or a 'ballots' list in the JSON",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        poll = poll_or_error(options["slug"])
        buffer = io.StringIO()
        if options["format"] == "json":
            document = export.results_document(poll, ballots=options["ballots"])
            text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
        elif options["ballots"]:
            export.write_ballots_csv(poll, buffer)
            text = buffer.getvalue()
        else:
            export.write_csv(export.export_rows(polls=[poll]), buffer)
            text = buffer.getvalue()
        output = options["output"]
        if output is None:
            self.stdout.write(text, ending="")
            return
        try:
            output.write_text(text, encoding="utf-8")
        except OSError as error:
            raise CommandError(f"Cannot write {output}: {error.strerror}.") from None
        self.stderr.write(f"Wrote the results of '{poll.slug}' to {output}.")
