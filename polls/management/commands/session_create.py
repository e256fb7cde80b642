from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from polls import live_sessions

from ._common import poll_or_error


class Command(BaseCommand):
    help = (
        "Create a draft session of polls, in the order given, owned by a user; "
        "session_start takes it live."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("title", help="what the audience sees, e.g. 'Friday all-hands'")
        parser.add_argument(
            "--poll", action="append", default=[], help="a poll's slug; repeat, in order"
        )
        parser.add_argument("--owner", required=True, help="the username of its presenter")

    def handle(self, *args: Any, **options: Any) -> None:
        owner = get_user_model().objects.filter(username=options["owner"]).first()
        if owner is None:
            raise CommandError(f"No user '{options['owner']}'.")
        polls = [poll_or_error(slug) for slug in options["poll"]]
        try:
            session = live_sessions.create_session(title=options["title"], owner=owner, polls=polls)
        except live_sessions.SessionError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(
            self.style.SUCCESS(
                f"Created session #{session.pk} '{session.title}' ({len(polls)} polls)."
            )
        )
