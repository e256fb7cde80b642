"""The results consumer (results.consumers): what a viewer is sent, and in which order. On
the results role's ASGI application in process, with the real channels-redis layer. Each
test here is a specification a surviving mutant broke (docs/testing.md, "Mutation
testing").
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable
from typing import Any, ParamSpec

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.utils import timezone

from polls.live import events, publisher
from polls.models import Choice, Poll
from polls.pipeline.message import QueuedVote
from polls.pipeline.store import record_votes
from polls.selectors import poll_results
from polls.voters import signed_voter_cookie
from results.protocol import MAX_CLIENT_MESSAGE
from tests.support.live import HubProbe, run_async
from votingsite.asgi import application

P = ParamSpec("P")

CONSUMER_TIMEOUT = 15  # generous: only a broken consumer waits this long
NOTHING_MORE = 1.0  # how long "nothing more arrives" is watched for


def viewer(slug: str, *, voter: str | None = None) -> WebsocketCommunicator:
    """A results page's socket to the results role's application, with a voter's cookie."""
    headers = [(b"origin", b"http://127.0.0.1:8000")]
    if voter is not None:
        cookie = f"{settings.VOTER_COOKIE_NAME}={signed_voter_cookie(voter)}"
        headers.append((b"cookie", cookie.encode()))
    return WebsocketCommunicator(application, f"/ws/polls/{slug}/", headers=headers)


async def received(ws: WebsocketCommunicator) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(await ws.receive_from(timeout=CONSUMER_TIMEOUT))
    return message


@sync_to_async
def vote(poll: Poll, label: str, voter: str | None = None) -> dict[str, Any]:
    """A vote stored as the worker stores it; returns the poll's snapshot after it."""
    choice = Choice.objects.get(poll=poll, label=label)
    voter_key = f"anon:{voter or uuid.uuid4().hex}"
    record_votes([QueuedVote(uuid.uuid4(), poll.pk, choice.pk, voter_key, timezone.now())])
    return poll_results(poll=poll)


async def send_event(poll: Poll, event: dict[str, Any]) -> None:
    await get_channel_layer().group_send(events.group_name(poll.pk), event)


def changed(poll: Poll, snapshot: dict[str, Any], **rules: Any) -> dict[str, Any]:
    """The poll.changed event of `poll` edited to `rules` (not saved)."""
    edited = Poll.objects.get(pk=poll.pk)
    for name, value in rules.items():
        setattr(edited, name, value)
    return events.poll_changed(edited, snapshot)


@pytest.fixture
def live_poll(make_poll: Callable[..., Poll], monkeypatch: pytest.MonkeyPatch) -> Poll:
    """A poll of its own slug; commits push nothing by themselves (the test sends events)."""
    monkeypatch.setattr(publisher, "polls_changed", lambda poll_ids: None)
    return make_poll(slug=f"live-{uuid.uuid4().hex[:8]}", labels=("Cats", "Dogs"))


@pytest.mark.django_db(transaction=True)
@run_async
async def test_a_sync_request_exactly_as_long_as_the_limit_is_answered(live_poll) -> None:
    ws = viewer(live_poll.slug)
    await ws.connect(timeout=CONSUMER_TIMEOUT)
    await received(ws)
    request = json.dumps({"type": "sync", "pad": ""})
    request = json.dumps({"type": "sync", "pad": "x" * (MAX_CLIENT_MESSAGE - len(request))})
    assert len(request) == MAX_CLIENT_MESSAGE
    await ws.send_to(text_data=request)
    assert (await received(ws))["poll"] == live_poll.slug
    await ws.disconnect()


@pytest.mark.django_db(transaction=True)
@run_async
async def test_a_viewer_the_poll_no_longer_admits_is_closed_with_4403_and_sent_nothing_more(
    live_poll,
) -> None:
    ws = viewer(live_poll.slug)
    await ws.connect(timeout=CONSUMER_TIMEOUT)
    first = await received(ws)
    hidden = await sync_to_async(changed)(
        live_poll, first, results_visibility=Poll.ResultsVisibility.HIDDEN
    )
    await send_event(live_poll, hidden)
    closed = await ws.receive_output(timeout=CONSUMER_TIMEOUT)
    assert closed == {"type": "websocket.close", "code": 4403}
    # Whatever follows before the socket is gone: newer tallies, the poll shown again.
    newer = await vote(live_poll, "Cats")
    await send_event(live_poll, events.results_update(newer))
    await send_event(live_poll, await sync_to_async(changed)(live_poll, newer))
    assert await ws.receive_nothing(timeout=NOTHING_MORE)
    await ws.disconnect()


@pytest.mark.django_db(transaction=True)
@run_async
async def test_after_a_poll_change_a_viewer_gets_only_newer_tallies(live_poll) -> None:
    ws = viewer(live_poll.slug)
    await ws.connect(timeout=CONSUMER_TIMEOUT)
    await received(ws)
    older = await vote(live_poll, "Cats")
    edited = await vote(live_poll, "Dogs")
    await send_event(live_poll, await sync_to_async(changed)(live_poll, edited))
    assert await received(ws) == edited
    newer = await vote(live_poll, "Dogs")
    for event in (events.results_update(older), events.results_update(newer)):
        await send_event(live_poll, event)
    assert await received(ws) == newer  # the older tallies never showed
    await ws.disconnect()


@pytest.mark.django_db(transaction=True)
@run_async
async def test_a_voter_keeps_watching_when_the_poll_starts_showing_results_only_to_voters(
    live_poll,
) -> None:
    await vote(live_poll, "Cats", voter="has-voted")
    voted, not_voted = viewer(live_poll.slug, voter="has-voted"), viewer(live_poll.slug)
    for ws in (voted, not_voted):
        await ws.connect(timeout=CONSUMER_TIMEOUT)
        snapshot = await received(ws)
    after_vote = await sync_to_async(changed)(
        live_poll, snapshot, results_visibility=Poll.ResultsVisibility.AFTER_VOTE
    )
    await send_event(live_poll, after_vote)
    assert await received(voted) == json.loads(after_vote["text"])
    closed = await not_voted.receive_output(timeout=CONSUMER_TIMEOUT)
    assert (closed["type"], closed["code"]) == ("websocket.close", 4403)
    for ws in (voted, not_voted):
        await ws.disconnect()


@pytest.mark.django_db(transaction=True)
@run_async
async def test_tallies_a_viewer_already_has_are_not_sent_again(live_poll) -> None:
    await vote(live_poll, "Cats")
    ws = viewer(live_poll.slug)
    await ws.connect(timeout=CONSUMER_TIMEOUT)
    current = await received(ws)
    newer = await vote(live_poll, "Dogs")
    # Each handed out by the hub in a round of its own: the hub has nothing to coalesce,
    # so only the consumer can hold the copy back.
    async with HubProbe(live_poll) as hub:
        for snapshot in (current, newer):
            await send_event(live_poll, events.results_update(snapshot))
            await hub.handed_out(snapshot["seq"])
    assert await received(ws) == newer  # the copy of what it had never showed
    await ws.disconnect()


@pytest.mark.django_db(transaction=True)
@run_async
async def test_a_sync_request_answers_with_the_poll_as_it_is_now(live_poll) -> None:
    ws = viewer(live_poll.slug)
    await ws.connect(timeout=CONSUMER_TIMEOUT)
    assert (await received(ws))["status"] == "open"
    # Closed without a live event (a bulk update sends none): only a fresh read shows it.
    closing = Poll.objects.filter(pk=live_poll.pk)
    await sync_to_async(closing.update)(status=Poll.Status.CLOSED, closes_at=timezone.now())
    await ws.send_to(text_data=json.dumps({"type": "sync"}))
    assert (await received(ws))["status"] == "closed"
    await ws.disconnect()


@pytest.mark.django_db(transaction=True)
@run_async
async def test_a_sync_for_a_poll_deleted_while_watched_closes_the_socket_with_4404(
    live_poll,
) -> None:
    ws = viewer(live_poll.slug)
    await ws.connect(timeout=CONSUMER_TIMEOUT)
    await received(ws)
    await sync_to_async(Poll.objects.filter(pk=live_poll.pk).delete)()
    await ws.send_to(text_data=json.dumps({"type": "sync"}))
    closed = await ws.receive_output(timeout=CONSUMER_TIMEOUT)
    assert (closed["type"], closed["code"]) == ("websocket.close", 4404)
    await ws.disconnect()


@pytest.mark.parametrize("consumer", ["poll", "session", "presenter"])
def test_an_event_no_socket_handles_is_logged_not_dropped_silently(
    consumer: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Both consumers share the protocol (results.protocol.LiveConsumer): an event type
    without a handler leaves a warning naming it, and the socket carries on."""
    from results.consumers import PollResultsConsumer
    from results.sessions import PresenterConsumer, SessionConsumer

    kinds = {"poll": PollResultsConsumer, "session": SessionConsumer,
             "presenter": PresenterConsumer}  # fmt: skip

    async def hand() -> None:
        await kinds[consumer]().handle_live_event({"type": "no.such.event"})

    with caplog.at_level("WARNING", logger="results.protocol"):
        run_async(hand)()
    assert "'no.such.event'" in caplog.text


@pytest.mark.django_db(transaction=True)
@run_async
async def test_each_open_socket_is_one_task_which_awaits_its_own_messages(live_poll) -> None:
    """A room holds thousands of idle sockets: each is its application's one task, which
    awaits `receive` itself (results.protocol.LiveConsumer), not with a second task per
    socket for it as Channels' await_many_dispatch makes (docs/performance.md, memory
    per socket)."""

    def pending() -> int:
        return sum(not task.done() for task in asyncio.all_tasks())

    first = viewer(live_poll.slug)  # the first one also starts the poll's hub
    await first.connect(timeout=CONSUMER_TIMEOUT)
    await received(first)
    before = pending()
    second = viewer(live_poll.slug)
    await second.connect(timeout=CONSUMER_TIMEOUT)
    await received(second)
    assert pending() - before == 1
    # and it still hears what the page sends, and its close
    await second.send_to(text_data=json.dumps({"type": "sync"}))
    assert (await received(second))["poll"] == live_poll.slug
    for ws in (second, first):
        await ws.disconnect()
