from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from polls import organising

from ._common import poll_or_error


class Command(BaseCommand):
    help = (
        "Clear a word cloud's or open answers' entries, and the ballots they make up (its "
        "voters may answer again), as the admin's action does: open results pages update at "
        "once; recorded with the poll's resets. Asks for --yes: it cannot be undone."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", help="the poll's slug")
        parser.add_argument("--yes", action="store_true", help="clear them: it cannot be undone")

    def handle(self, *args: Any, **options: Any) -> None:
        poll = poll_or_error(options["slug"])
        if not options["yes"]:
            raise CommandError(
                f"This removes every entry of '{poll.slug}' and cannot be undone: "
                "run it again with --yes."
            )
        try:
            record = organising.clear_entries(poll)
        except organising.PollSetupError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(
            self.style.SUCCESS(
                f"Cleared '{poll.slug}': {record.entries_removed} entries of "
                f"{record.votes_removed} voter(s) removed."
            )
        )
