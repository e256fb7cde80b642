"""What a listening page (results page, embeds, a session's pages) loads to draw live."""

from __future__ import annotations

from polls.kinds import KINDS


def kind_scripts() -> dict[str, list[str]]:
    """Each kind's script (polls/static/polls/kinds/<kind>.js): a session's page may show
    any kind next, and they register themselves (window.PollKinds)."""
    return {"kind_scripts": [kind.script for kind in KINDS.values()]}
