import io
import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from polls import export
from polls.kinds import kind_for

from ._common import poll_or_error


class Command(BaseCommand):
    help = (
        "Export a poll's results (from its aggregates) as CSV (one row per choice) or JSON "
        "(with each kind's own results: rounds and winner, or mean, median and NPS) or, for "
        "a ranked poll, RCTab's summary JSON (--format rctab, what rcvis reads), to "
        "stdout or --output FILE. With --ballots: every ballot too (JSON), or instead (CSV: "
        "one row per ballot; a ranked poll's in rank columns, as pref-voting and pyrcv read). A "
        "word cloud's or open answers' entries with --entries, their counts per term with --terms."
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
        parser.add_argument(
            "--entries",
            action="store_true",
            help="a word cloud's or open answers' entries: one CSV row each (never who gave "
            "it), or an 'entries' list in the JSON's 'text'",
        )
        parser.add_argument(
            "--terms",
            action="store_true",
            help="a word cloud's or open answers' counts: one CSV row per term, most given "
            "first (the JSON's 'text' always has them)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        poll = poll_or_error(options["slug"])
        if (options["entries"] or options["terms"]) and not kind_for(poll).stores_entries:
            raise CommandError(f"Poll '{poll.slug}' takes no written entries.")
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
            if options["entries"]:
                document["text"] = export.text_document(poll, entries=True)
            text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
        elif options["entries"]:
            export.write_entries_csv(poll, buffer)
            text = buffer.getvalue()
        elif options["terms"]:
            export.write_terms_csv(poll, buffer)
            text = buffer.getvalue()
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
