from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.urls import reverse

from polls import live_sessions, organising, qna, qna_reads


class Command(BaseCommand):
    help = (
        "Create the demo: the classic poll (cats-vs-dogs), one poll of each other kind, "
        "a live session of four polls of its own (the last a moderated word cloud: the filter's "
        "catches wait for a moderator) with a Q&A board, and "
        "a live quiz of three questions, owned by the first superuser. "
        "Prints the session's links. Running it again changes nothing."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        poll, created = organising.seed_demo_poll()
        verb = "Created" if created else "Kept"
        self.stdout.write(f"{verb} demo poll '{poll.slug}': {poll.question}")
        owner = get_user_model().objects.filter(is_superuser=True).order_by("pk").first()
        if owner is None:
            self.stdout.write("No superuser yet: the demo session waits for one (ensure_admin).")
            return
        polls = organising.seed_demo_session_polls()
        session = live_sessions.seed_demo_session(polls=polls, owner=owner)
        if qna_reads.board_of(session) is None:  # its Q&A board (issue 35), once
            qna.enable(session)
        self._links(session)
        quiz = organising.seed_demo_quiz_polls()  # three quiz questions (issue 36)
        self._links(
            live_sessions.seed_demo_session(
                polls=quiz, owner=owner, title=live_sessions.DEMO_QUIZ_TITLE
            )
        )

    def _links(self, session: Any) -> None:
        code = session.code
        self.stdout.write(f"Demo session '{session.title}' is live, join code {code}:")
        self.stdout.write(
            f"  audience:  {live_sessions.public_url(reverse('polls:session', args=[code]))}"
        )
        self.stdout.write(
            f"  presenter: {live_sessions.public_url(reverse('polls:present', args=[code]))}"
        )
        self.stdout.write(
            "  moderator: "
            + live_sessions.public_url(reverse("polls:moderate-session", args=[code]))
        )
