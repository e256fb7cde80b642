import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from polls import imports, organising
from polls.counting.ranked import TIE_RULES
from polls.counting.records import OVERVOTE_RULES, SKIP, ImportRules, RecordFormat

from ._common import poll_or_error


class Command(BaseCommand):
    help = (
        "Import an election office's cast-vote records (a CSV: one row per ballot, rank "
        "columns rank1, rank2..., an optional weight column) into a ranked poll with no "
        "ballots: all of them or nothing, in one transaction. Candidates are matched to the "
        "poll's choices by label (or made, with --create-choices). Exit 1: content that "
        "cannot be imported (each problem listed, by line); exit 2: a file that cannot be read "
        "as CSV. Marks and rules default to Minneapolis' (docs/organisers.md)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", help="the ranked poll's slug")
        parser.add_argument("file", type=Path, help="the cast-vote records, a UTF-8 CSV")
        parser.add_argument(
            "--rank-prefix", default="rank", help="the rank columns' name before the number"
        )
        parser.add_argument(
            "--weight-column",
            default="weight",
            help="the column of ballots per row, if the header has it (default: weight)",
        )
        parser.add_argument(
            "--undervote", default="undervote", help="the mark of a rank left empty"
        )
        parser.add_argument("--overvote", default="overvote", help="the mark of an overvote")
        parser.add_argument(
            "--write-in", default="UWI", help="the write-in mark ('' when the file has none)"
        )
        parser.add_argument(
            "--write-in-name", default="Write-in", help="the choice a write-in counts for"
        )
        parser.add_argument(
            "--overvote-rule",
            choices=OVERVOTE_RULES,
            default=SKIP,
            help="an overvote skips to the next rank (skip, default) or ends the ballot",
        )
        parser.add_argument(
            "--skipped-allowed",
            type=int,
            help="skipped ranks in a row allowed before a later mark (default: any)",
        )
        parser.add_argument(
            "--create-choices",
            action="store_true",
            help="make the candidates the poll lacks as choices (by name, the write-in last)",
        )
        parser.add_argument(
            "--tie", choices=TIE_RULES, help="set the poll's tie rule with the import"
        )
        parser.add_argument(
            "--batch", action="store_true", default=None, help="set batch elimination on"
        )
        parser.add_argument(
            "--until-two", action="store_true", default=None, help="set counting until two on"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        poll = poll_or_error(options["slug"])
        path: Path = options["file"]
        try:
            data = path.read_bytes()
        except OSError as error:
            raise CommandError(f"Cannot read {path}: {error.strerror}.", returncode=2) from None
        try:
            form = RecordFormat(
                undervote=options["undervote"],
                overvote=options["overvote"],
                write_in=options["write_in"],
                write_in_name=options["write_in_name"],
                weight_column=options["weight_column"],
                rank_prefix=options["rank_prefix"],
            )
            rules = ImportRules(
                overvote=options["overvote_rule"], skipped_allowed=options["skipped_allowed"]
            )
        except ValueError as error:
            raise CommandError(str(error)) from None
        count_rules = {
            name: options[name]
            for name in ("tie", "batch", "until_two")
            if options[name] is not None
        }
        started = time.perf_counter()
        try:
            report = imports.import_ballots(
                poll,
                data,
                file_name=path.name,
                form=form,
                rules=rules,
                create_choices=options["create_choices"],
                count_rules=count_rules,
            )
        except imports.UnreadableRecords as error:
            raise CommandError(f"{path} is not readable as CSV: {error}.", returncode=2) from None
        except imports.ImportProblems as error:
            for problem in error.problems:
                self.stderr.write(f"{path}: {problem}")
            raise CommandError(
                f"Nothing imported: {len(error.problems)} problem(s) in {path}.", returncode=1
            ) from None
        except organising.PollSetupError as error:
            raise CommandError(f"Nothing imported: {error}") from None
        took = time.perf_counter() - started
        inactive = ", ".join(f"{reason} {n}" for reason, n in report.inactive.items()) or "none"
        made = (
            f"; made choices: {', '.join(report.created_choices)}" if report.created_choices else ""
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"Imported {report.counted} ballots into '{poll.slug}' from {path.name} "
                f"({report.rows} rows, {report.ballots} ballots; ranking nobody: {inactive}; "
                f"sha256 {report.record.sha256}) in {took:.1f} s{made}."
            )
        )
