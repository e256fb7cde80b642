"""Live events: what open results pages are sent, one kind per `type`.

An event is a dict whose `type` names the consumer method that handles it, as Channels
dispatches: "results.update" -> `results_update`. An event that carries a `seq` is
ordered by it: a results process hands out only the newest of each type that arrive
while a round is still going out, and a consumer drops one older than what its viewer
has. Events without a `seq` are handed out in order, none dropped.

To add a kind: a builder here, a send in polls.live.publisher, a handler method on
results.consumers.PollResultsConsumer. Nothing in between reads an event's other fields.
"""

from __future__ import annotations

import functools
import json
from datetime import datetime
from typing import Any

from django.conf import settings
from redis.connection import parse_url

from polls.models import Poll

RESULTS_UPDATE = "results.update"
POLL_CHANGED = "poll.changed"
SESSION_STATE = "session.state"


@functools.cache
def _redis_db() -> int:
    return int(parse_url(settings.REDIS_URL).get("db", 0))


def group_name(poll_id: int) -> str:
    """The channel-layer group of a poll's viewers."""
    # Redis pub/sub channels are server-wide, whatever the database number: naming the
    # group after the database keeps two sites (or test runs) on one server apart.
    return f"poll-results.{_redis_db()}.{poll_id}"


def session_group(session_id: int) -> str:
    """The channel-layer group of a live session's audience and presenters."""
    return f"session.{_redis_db()}.{session_id}"


def session_state(
    state: dict[str, Any],
    parts: dict[str, dict[str, str]] | None = None,
    quiz: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The session moved, locked or revealed: its whole state (selectors.session_state),
    and the audience's parts per language (polls.live.parts: the current question's
    ballot, or its results), of which each audience socket is sent its own language's;
    at a quiz question's reveal, each player's result (polls.live.parts.quiz_reveal), of
    which each audience socket is sent its own voter's."""
    event = {
        "type": SESSION_STATE,
        "seq": state["seq"],
        "text": json.dumps(state),
        "parts": parts or {},
    }
    if quiz is not None:
        event["quiz"] = quiz
    return event


def results_update(snapshot: dict[str, Any]) -> dict[str, Any]:
    """The tallies changed: the snapshot, serialised once here; consumers send it as is."""
    return {"type": RESULTS_UPDATE, "seq": snapshot["seq"], "text": json.dumps(snapshot)}


# What decides who may watch a poll (Poll.results_visible_at), as the event carries it.
_RULE_FIELDS = ("status", "opens_at", "closes_at", "results_visibility")


def poll_changed(poll: Poll, snapshot: dict[str, Any]) -> dict[str, Any]:
    """The poll itself changed (its state, its visibility rule, its question): each viewer
    is checked against the rules again, and those who may still watch get the snapshot."""
    rules = {name: getattr(poll, name) for name in _RULE_FIELDS}
    for name in ("opens_at", "closes_at"):
        rules[name] = rules[name].isoformat() if rules[name] else None
    return {
        "type": POLL_CHANGED,
        "seq": snapshot["seq"],
        "rules": rules,
        "text": json.dumps(snapshot),
    }


def rules_of(event: dict[str, Any], *, poll_id: int) -> Poll:
    """The poll as a poll.changed event describes it (unsaved: for Poll's rule methods)."""
    rules = dict(event["rules"])
    for name in ("opens_at", "closes_at"):
        if rules[name]:
            rules[name] = datetime.fromisoformat(rules[name])
    return Poll(pk=poll_id, **rules)


QNA_UPDATE = "qna.update"


def qna_update(
    snapshot: dict[str, Any], mine: dict[str, dict[str, list[str]]] | None = None
) -> dict[str, Any]:
    """A Q&A board changed (a question stored or moved, upvotes counted): its bounded
    snapshot (polls.qna_reads.snapshot), serialised once; sent to the session's sockets.
    `mine`: the own marks (among the snapshot's questions) of the voters whose actions
    were just stored, by voter tag (polls.voters.voter_tag); each socket adds its own."""
    event = {"type": QNA_UPDATE, "seq": snapshot["seq"], "text": json.dumps(snapshot)}
    if mine:
        event["mine"] = mine
    return event
