from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from polls import organising

from ._common import poll_or_error


class Command(BaseCommand):
    help = (
        "Open a poll now: status open, a future opening time moved to now, a past closing "
        "time cleared (a future one is kept)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", help="the poll's slug")

    def handle(self, *args: Any, **options: Any) -> None:
        poll = organising.open_poll(poll_or_error(options["slug"]))
        until = f" until {poll.closes_at:%Y-%m-%d %H:%M:%S %Z}" if poll.closes_at else ""
        self.stdout.write(
            self.style.SUCCESS(f"Poll '{poll.slug}' is {poll.state_at(timezone.now())}{until}.")
        )
