from typing import Any

from django.core.management.base import CommandError

from polls import qna, qna_reads
from polls.models import LiveSession

from ._common import SessionCommand


class Command(SessionCommand):
    help = "Close the session's Q&A board: no more questions, no more upvotes."

    def act(self, session: LiveSession, options: dict[str, Any]) -> LiveSession:
        board = qna_reads.board_of(session)
        if board is None:
            raise CommandError("This session has no Q&A board.")
        qna.close(board)
        return session
