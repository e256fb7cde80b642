import csv
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from polls import organising

# Exit codes: 0 imported; 1 the file's content has problems (each listed, nothing
# imported); 2 the file cannot be read at all.
BAD_CONTENT, UNREADABLE = 1, 2


class Command(BaseCommand):
    help = (
        "Create voter accounts (not staff) from a CSV file with the header "
        "username,password[,email,first_name,last_name]: all of them, or none when a row "
        "has a problem. Passwords are stored hashed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("csv_file", help="the voters, one a line, after a header line")
        parser.add_argument(
            "--update",
            action="store_true",
            help="give existing (non-staff) accounts the file's password and names",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["csv_file"])
        try:
            with path.open(encoding="utf-8-sig", newline="") as file:
                reader = csv.DictReader(file)
                columns = [c.strip() for c in reader.fieldnames or []]
                reader.fieldnames = columns
                rows = list(reader)
        except FileNotFoundError:
            raise CommandError(f"{path}: no such file.", returncode=UNREADABLE) from None
        except (OSError, UnicodeDecodeError, csv.Error) as error:
            raise CommandError(
                f"{path}: cannot be read as a UTF-8 CSV file ({error}).", returncode=UNREADABLE
            ) from None
        if not columns:
            raise CommandError(f"{path}: the file is empty.", returncode=BAD_CONTENT)
        try:
            done = organising.import_voters(rows, columns=columns, update=options["update"])
        except organising.VoterImportError as error:
            listed = "\n".join(f"  {problem}" for problem in error.problems)
            raise CommandError(
                f"{path}: nothing imported, {len(error.problems)} problem(s):\n{listed}",
                returncode=BAD_CONTENT,
            ) from None
        self.stdout.write(
            self.style.SUCCESS(
                f"{len(done.created)} voter account(s) created, {len(done.updated)} updated, "
                f"{len(done.skipped)} already there and left as they are."
            )
        )
        if done.skipped and not options["update"]:
            self.stdout.write("Existing accounts kept their passwords (--update changes them).")
