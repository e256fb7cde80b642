from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from polls import organising

from ._common import poll_or_error


class Command(BaseCommand):
    help = "Close a poll now. Votes cast before this moment and still queued are counted."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", help="the poll's slug")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            poll = organising.close_poll(poll_or_error(options["slug"]))
        except organising.PollSetupError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(
            self.style.SUCCESS(
                f"Poll '{poll.slug}' closed at {poll.closes_at:%Y-%m-%d %H:%M:%S %Z}."
            )
        )
