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
        "(with each kind's own results: rounds and winner, or mean, median and NPS) or, for "
        "a ranked poll, RCTab's summary JSON (--format rctab, what rcvis reads), to "
        "stdout or --output FILE. With --ballots: every ballot too (JSON), or instead (CSV: "
        "one row per ballot; a ranked poll's in rank columns, as pref-voting and pyrcv read)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", help="the poll's slug")
        parser.add_argument(
            "--format",
            choices=["csv", "json", "rctab"],
            default="csv",
            help="csv (default), json, or rctab (a ranked poll's rounds as RCTab's summary)",
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
        if options["format"] == "rctab":
            summary = export.rctab_document(poll)
            if summary is None:
                raise CommandError(f"'{poll.slug}' has no rounds: only ranked polls export RCTab.")
            if options["ballots"]:
                raise CommandError("--ballots goes with csv or json, not rctab.")
            text = json.dumps(summary, indent=2, ensure_ascii=False) + "\n"
        elif options["format"] == "json":
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
