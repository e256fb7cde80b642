from typing import Any

import redis
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError

from polls import moderation

from ._common import poll_or_error


class Command(BaseCommand):
    help = (
        "Moderate a word cloud's or open answers' audience text, as the moderator's page "
        "does: a word cloud per term (every voter's, now and later), open answers per entry "
        "(#ID, as --list shows them). Open pages update at once. Exit codes: 0 done, 1 a bad "
        "poll, term or entry (nothing changed), 2 the stores are not answering (nothing "
        "changed)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", help="the poll's slug")
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--list", action="store_true", help="show what waits, is hidden")
        which.add_argument("--approve", metavar="TERM|#ID", help="show a term or an entry")
        which.add_argument("--hide", metavar="TERM|#ID", help="hide a term or an entry")
        which.add_argument("--restore", metavar="TERM|#ID", help="show a hidden term or entry")
        which.add_argument("--hide-voter", metavar="#ID", help="hide every entry of its voter")
        which.add_argument("--approve-all", action="store_true", help="approve all waiting")

    def handle(self, *args: Any, **options: Any) -> None:
        poll = poll_or_error(options["slug"])
        if not moderation.moderated(poll):
            raise CommandError(f"Poll '{poll.slug}' has no audience text to moderate.")
        if options["list"]:
            self._list(poll)
            return
        action, target = self._target(poll, options)
        try:
            done = moderation.apply(poll, action, target)
        except moderation.ModerationError as error:
            raise CommandError(f"{error} Nothing changed.") from None
        except (DatabaseError, redis.RedisError) as error:
            raise CommandError(
                f"the stores are not answering ({type(error).__name__}): nothing changed",
                returncode=2,
            ) from None
        what = f"term '{done.key}'" if done.key else f"{target.unit} {target.value or ''}".strip()
        self.stdout.write(self.style.SUCCESS(f"{action}: {what}, {done.moved} entries moved."))

    def _target(self, poll: Any, options: dict[str, Any]) -> tuple[str, moderation.Target]:
        if options["approve_all"]:
            return moderation.APPROVE, moderation.Target(moderation.WAITING)
        if options["hide_voter"]:
            return moderation.HIDE, moderation.Target(moderation.VOTER, options["hide_voter"])
        for action in moderation.ACTIONS:
            value = options[action]
            if value is None:
                continue
            # "#12" is an entry; open answers' plain numbers are too; else a cloud's term.
            entry = value.startswith("#") or (not moderation.per_term(poll) and value.isdigit())
            unit = moderation.ENTRY if entry else moderation.TERM
            return action, moderation.Target(unit, value)
        raise CommandError("Say what to do.")  # argparse requires one

    def _list(self, poll: Any) -> None:
        queue = moderation.queue(poll)
        self.stdout.write(
            f"'{poll.slug}' ({queue['mode']} mode): {queue['pending']} waiting, "
            f"{queue['hidden']} hidden, {queue['shown']} shown"
        )
        for title, rows in (("waiting", queue["waiting"]), ("hidden", queue["hidden_entries"])):
            for row in rows:
                count = f" x{row['count']}" if queue["unit"] == moderation.TERM else ""
                flag = " [filter]" if row["flagged"] else ""
                self.stdout.write(f"  {title}  #{row['id']}  {row['text']}{count}{flag}")
