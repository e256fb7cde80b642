"""What a listening page (results page, embeds, a session's pages) loads to draw live."""

from __future__ import annotations

from collections.abc import Iterable

from polls.kinds import KINDS
from polls.models import LiveSession, Poll


def kind_scripts(kinds: Iterable[str] | None = None) -> dict[str, list[str]]:
    """The scripts of these kinds (polls/static/polls/kinds/<kind>.js and the shared ones
    they build on; all when None): a page loads only those it may show (a phone's first
    load stays small). They register themselves (window.PollKinds)."""
    # single.js is the bars every bar kind's script builds on (multiple.js says its
    # summary with it): always there, and half a kilobyte.
    wanted = set(KINDS) if kinds is None else {*kinds, "single"}
    # Each once, a shared one before the first kind's that builds on it (Kind.scripts).
    scripts = (script for name, kind in KINDS.items() if name in wanted for script in kind.scripts)
    return {"kind_scripts": list(dict.fromkeys(scripts))}


def session_kinds(session: LiveSession) -> list[str]:
    """The kinds a session's pages may show next: its polls'. A poll of another kind
    added while it is live makes the pages load again when it is shown (session.js)."""
    return list(
        Poll.objects.filter(session_entries__session=session)
        .values_list("kind", flat=True)
        .distinct()
    )
