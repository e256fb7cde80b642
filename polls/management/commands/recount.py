from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from polls import openness, organising, qna, quiz
from polls.models import Poll, QnaBoard

from ._common import poll_or_error


class Command(BaseCommand):
    help = (
        "Recompute tallies and totals from the Vote rows (one poll, or all), each poll in one "
        "locked transaction, and compare Redis's copy of what is open with Postgres (mending "
        "it as the workers' reconciler does), and check each poll's sealed chain against its "
        "stored ballots. With --check, change nothing: print the differences and exit 1 if "
        "there are any."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", nargs="?", help="the poll's slug (default: every poll)")
        parser.add_argument("--check", action="store_true", help="report only; exit 1 on drift")

    def handle(self, *args: Any, **options: Any) -> None:
        check = options["check"]
        polls = [poll_or_error(options["slug"])] if options["slug"] else Poll.objects.order_by("pk")
        drifted = 0
        for poll in polls:
            report = organising.recount_poll(poll, check=check)
            # A quiz question's scores derive from its stored answers: say how many, and
            # whether any came outside its countdown.
            line, fault = quiz.audit(poll)
            if line:
                self.stdout.write(f"{poll.slug}: {line}")
            drifted += fault
            # The sealed chain against the stored ballots: a changed row is named.
            broken = organising.chain_problems(poll)
            for problem in broken:
                self.stdout.write(f"{poll.slug}: chain: {problem}")
            drifted += bool(broken)
            if report.matches:
                self.stdout.write(f"{poll.slug}: ok ({report.counted_total} votes)")
                continue
            drifted += 1
            verb = "differs" if check else "fixed"
            self.stdout.write(
                f"{poll.slug}: {verb}: total stored {report.stored_total}, "
                f"counted {report.counted_total}"
            )
            for diff in report.differences:
                self.stdout.write(f"  {diff.label}: stored {diff.stored}, counted {diff.counted}")
        ids = {poll.pk for poll in polls}
        copies = [line for pk, line in openness.disagreements() if pk in ids]
        for line in copies:
            self.stdout.write(f"what is open: {line}")
        if copies and not check:
            openness.reconcile()
        if check and copies:
            drifted += 1
        if not options["slug"]:
            drifted += self._boards(check=check)
        if check and drifted:
            raise CommandError(
                f"{drifted} poll(s) have tallies (or a sealed chain) that differ from their "
                "votes; run recount without --check to fix them (the chain then records the "
                "fix: docs/verification.md).",
                returncode=1,
            )
        if not check:
            self.stdout.write(self.style.SUCCESS(f"Recount done: {drifted} poll(s) fixed."))

    def _boards(self, *, check: bool) -> int:
        """Q&A boards: each question's upvotes from its stored actions. Boards that differ."""
        drifted = 0
        for board in QnaBoard.objects.order_by("pk"):
            wrong = qna.recount(board, fix=not check)
            for question, (kept, counted) in wrong.items():
                verb = "differs" if check else "fixed"
                self.stdout.write(
                    f"Q&A board {board.pk}: question {question} {verb}: upvotes stored "
                    f"{kept}, counted {counted}"
                )
            drifted += bool(wrong)
        return drifted
