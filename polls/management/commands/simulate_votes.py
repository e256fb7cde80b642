import random
import time
from collections import Counter
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.http import Http404

from polls import selectors
from polls.kinds import kind_for
from polls.models import Poll
from polls.pipeline import submit

BAR_WIDTH = 30
# Redraw the progress bar at most this often (seconds): drawing must not slow the votes.
REDRAW_SECONDS = 0.1


class Command(BaseCommand):
    help = (
        "Send random ballots (of the poll's kind) through the real pipeline "
        "(polls.pipeline.submit.submit_vote, as the view does: queued in Redis, stored by the "
        "worker) from synthetic voters sim:<n>. A share of them (--change-ratio) then changes "
        "to another ballot. Prints progress and votes/s; "
        "with -v 2 also every vote taken, in order, as 'cast <voter> <ballot>' (choice ids "
        "or the value, comma-separated)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", help="an open poll's slug")
        parser.add_argument("--voters", type=int, required=True, help="how many voters")
        parser.add_argument(
            "--rate",
            type=float,
            default=0.0,
            help="votes per second (default: as fast as possible)",
        )
        parser.add_argument(
            "--change-ratio",
            type=float,
            default=0.0,
            help="share of voters (0-1) who then change their vote",
        )
        parser.add_argument(
            "--first-voter", type=int, default=0, help="number of the first voter (sim:<n>)"
        )
        parser.add_argument("--seed", type=int, help="random seed, for a repeatable run")

    def handle(self, *args: Any, **options: Any) -> None:
        voters, rate, ratio = options["voters"], options["rate"], options["change_ratio"]
        if voters < 1:
            raise CommandError("--voters must be at least 1.")
        if rate < 0:
            raise CommandError("--rate must not be negative.")
        if not 0 <= ratio <= 1:
            raise CommandError("--change-ratio must be between 0 and 1.")
        poll = self._poll(options["slug"])
        rng = random.Random(options["seed"])  # noqa: S311 (test data, not secrets)
        first = options["first_voter"]
        plan = [(f"sim:{first + n}", random_ballot(poll, rng)) for n in range(voters)]
        changers = rng.sample(plan, round(voters * ratio))
        plan += [(key, random_ballot(poll, rng, unlike=old)) for key, old in changers]
        taken, refused, seconds = self._send(poll, plan, rate)
        sent = len(taken)
        self.stdout.write("")
        if refused and not sent:
            reason, _ = refused.most_common(1)[0]
            raise CommandError(f"No vote was taken: {reason}")
        self.stdout.write(
            self.style.SUCCESS(
                f"Sent {sent} votes ({voters} voters, {len(changers)} changes) in {seconds:.2f}s: "
                f"{sent / seconds:.0f} votes/s."
            )
        )
        for reason, count in refused.items():
            self.stdout.write(self.style.WARNING(f"Refused {count}: {reason}"))
        if options["verbosity"] >= 2:
            for voter_key, ballot in taken:
                self.stdout.write(f"cast {voter_key} {','.join(map(str, ballot))}")

    def _poll(self, slug: str) -> Poll:
        try:
            return selectors.poll_for_voting(slug=slug)
        except Http404:
            raise CommandError(f"No poll '{slug}' that takes votes (unknown or a draft).") from None

    def _send(
        self, poll: Poll, plan: list[tuple[str, list[int]]], rate: float
    ) -> tuple[list[tuple[str, list[int]]], Counter[str], float]:
        taken: list[tuple[str, list[int]]] = []
        refused = Counter[str]()
        started = last_draw = time.monotonic()
        for index, (voter_key, ballot) in enumerate(plan, start=1):
            if rate:
                # Pace against the start, so a slow vote is caught up rather than lost.
                time.sleep(max(0.0, started + index / rate - time.monotonic()))
            try:
                submit.submit_vote(poll=poll, ballot=ballot, voter_key=voter_key)
                taken.append((voter_key, ballot))
            except submit.VoteQueueUnavailable as error:
                raise CommandError(error.message) from None
            except submit.VoteError as error:
                refused[error.message] += 1
            now = time.monotonic()
            if now - last_draw >= REDRAW_SECONDS or index == len(plan):
                self._draw(index, len(plan), now - started)
                last_draw = now
        return taken, refused, max(time.monotonic() - started, 1e-6)

    def _draw(self, done: int, total: int, seconds: float) -> None:
        filled = BAR_WIDTH * done // total
        bar = "#" * filled + "-" * (BAR_WIDTH - filled)
        speed = done / seconds if seconds else 0.0
        self.stdout.write(f"\r[{bar}] {done}/{total} {speed:.0f}/s", ending="")
        self.stdout.flush()


def random_ballot(poll: Poll, rng: random.Random, unlike: list[int] | None = None) -> list[int]:
    """A ballot the poll takes, drawn at random (another than `unlike`, if it can be)."""
    choice_ids = [c.id for c in poll.choices.all()]
    kind = kind_for(poll)
    for _ in range(20):
        ballot = kind.random_ballot(poll, rng, choice_ids)
        if ballot != unlike:
            return ballot
    return ballot
