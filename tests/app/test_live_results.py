"""Live results over the WebSocket: the consumer on the real channels-redis pub/sub layer
(test Redis), coalesced pushes from the publisher, and the real roles end to end."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.db import connection

from polls.live import events, publisher
from polls.models import Poll
from polls.selectors import poll_results
from results import fanout
from tests.support.live import TIMEOUT, HubProbe, cast, receive, run_async, votes_of
from votingsite.asgi import application

pytestmark = pytest.mark.django_db(transaction=True)


def socket(slug: str, origin: bytes = b"http://127.0.0.1:8000") -> WebsocketCommunicator:
    """A WebSocket to the results role's ASGI application, as a browser would open it."""
    return WebsocketCommunicator(application, f"/ws/polls/{slug}/", headers=[(b"origin", origin)])


@sync_to_async
def snapshot(poll: Poll) -> dict[str, Any]:
    return poll_results(poll=poll)


@pytest.fixture
def manual_push(monkeypatch: pytest.MonkeyPatch) -> None:
    """Commits announce nothing by themselves: the test decides when a snapshot is pushed."""
    monkeypatch.setattr(publisher, "polls_changed", lambda poll_ids: None)


# --- The consumer on the real pub/sub layer ----------------------------------------------


@run_async
async def test_connect_sends_the_current_snapshot(poll: Poll, manual_push: None) -> None:
    await cast(poll, "Cats", "Cats", "Dogs")
    choices = await sync_to_async(lambda: list(poll.choices.all()))()
    ws = socket(poll.slug)
    connected, _ = await ws.connect(timeout=TIMEOUT)
    assert connected

    first = await receive(ws)
    assert first == {
        "type": "results",
        "poll": poll.slug,
        "question": poll.question,
        "status": "open",
        "total": 3,
        "seq": first["seq"],
        "choices": [
            {
                "id": c.pk,
                "label": c.label,
                "votes": {"Cats": 2, "Dogs": 1}[c.label],
                # The share, rounded once on the server (polls.counting.shares): the page
                # shows it as it is.
                "percent": {"Cats": 66.7, "Dogs": 33.3}[c.label],
            }
            for c in choices
        ],
        "seal": first["seal"],  # the sealed chain's head: tests/app/test_chain.py
    }
    assert isinstance(first["seq"], int)
    assert first["seq"] > 0
    await ws.disconnect()


@run_async
async def test_a_published_change_reaches_a_connected_viewer(poll: Poll, manual_push: None) -> None:
    ws = socket(poll.slug)
    await ws.connect(timeout=TIMEOUT)
    before = await receive(ws)
    assert before["total"] == 0

    await cast(poll, "Dogs", "Dogs")
    await sync_to_async(publisher.publish_now)(poll.pk)

    update = await receive(ws)
    assert update["type"] == "results"
    assert update["total"] == 2
    assert votes_of(update) == {"Cats": 0, "Dogs": 2}
    assert update["seq"] > before["seq"]
    await ws.disconnect()


@run_async
async def test_every_viewer_of_the_poll_gets_the_update_and_only_that_poll(
    poll: Poll, make_poll: Callable[..., Poll], manual_push: None
) -> None:
    other = await sync_to_async(make_poll)(slug=f"other-{uuid.uuid4().hex[:8]}")
    viewers = [socket(poll.slug), socket(poll.slug)]
    bystander = socket(other.slug)
    for ws in [*viewers, bystander]:
        await ws.connect(timeout=TIMEOUT)
        await receive(ws)

    await cast(poll, "Cats")
    await sync_to_async(publisher.publish_now)(poll.pk)
    for ws in viewers:
        assert (await receive(ws))["total"] == 1

    # The bystander's next message is its own poll's update, not the other poll's.
    await cast(other, "Fish")
    await sync_to_async(publisher.publish_now)(other.pk)
    news = await receive(bystander)
    assert news["poll"] == other.slug
    assert votes_of(news)["Fish"] == 1
    for ws in [*viewers, bystander]:
        await ws.disconnect()


@run_async
async def test_an_older_snapshot_is_never_delivered_after_a_newer_one(
    poll: Poll, manual_push: None
) -> None:
    ws = socket(poll.slug)
    await ws.connect(timeout=TIMEOUT)
    await receive(ws)
    states = []
    for label in ("Cats", "Dogs", "Cats"):
        await cast(poll, label)
        states.append(await snapshot(poll))
    first, second, third = states
    assert first["seq"] < second["seq"] < third["seq"]

    # Publishers in different worker processes can race: the layer may carry them out of
    # order. It does keep the order of one publisher's messages, so `third` arrives last.
    layer = get_channel_layer()
    group = events.group_name(poll.pk)
    for state in (second, first, third):
        await layer.group_send(group, events.results_update(state))

    delivered = [await receive(ws)]
    while delivered[-1] != third:
        delivered.append(await receive(ws))
    # `second` may be superseded by `third` before it goes out; `first` never comes late.
    assert delivered in ([second, third], [third])
    await ws.disconnect()


@run_async
async def test_a_viewer_connecting_mid_stream_never_goes_back_from_its_snapshot(
    poll: Poll, manual_push: None
) -> None:
    await cast(poll, "Cats")
    stale = await snapshot(poll)
    await cast(poll, "Dogs")
    ws = socket(poll.slug)
    await ws.connect(timeout=TIMEOUT)
    current = await receive(ws)
    assert current["total"] == 2

    layer = get_channel_layer()
    await layer.group_send(events.group_name(poll.pk), events.results_update(stale))
    await cast(poll, "Dogs")
    await sync_to_async(publisher.publish_now)(poll.pk)
    assert (await receive(ws))["total"] == 3  # the stale push in between never showed
    await ws.disconnect()


@run_async
async def test_an_older_snapshot_handed_out_in_a_round_of_its_own_is_dropped_by_the_consumer(
    poll: Poll, manual_push: None
) -> None:
    """The consumer's own seq check: each push reaches the hub alone, so the hub has
    nothing to coalesce and hands the late, older one to the viewer's consumer too."""
    ws = socket(poll.slug)
    await ws.connect(timeout=TIMEOUT)
    await receive(ws)
    states = []
    for label in ("Cats", "Dogs", "Cats"):
        await cast(poll, label)
        states.append(await snapshot(poll))
    first, second, third = states

    layer = get_channel_layer()
    async with HubProbe(poll) as hub:
        for state in (second, first, third):
            await layer.group_send(events.group_name(poll.pk), events.results_update(state))
            await hub.handed_out(state["seq"])

    assert [await receive(ws), await receive(ws)] == [second, third]
    await ws.disconnect()


@run_async
async def test_a_stale_push_handed_out_alone_after_connect_never_reaches_the_viewer(
    poll: Poll, manual_push: None
) -> None:
    await cast(poll, "Cats")
    stale = await snapshot(poll)
    await cast(poll, "Dogs")
    ws = socket(poll.slug)
    await ws.connect(timeout=TIMEOUT)
    assert (await receive(ws))["total"] == 2

    layer = get_channel_layer()
    async with HubProbe(poll) as hub:
        await layer.group_send(events.group_name(poll.pk), events.results_update(stale))
        await hub.handed_out(stale["seq"])
        await cast(poll, "Dogs")
        fresh = await snapshot(poll)
        await layer.group_send(events.group_name(poll.pk), events.results_update(fresh))
        await hub.handed_out(fresh["seq"])

    assert await receive(ws) == fresh  # the stale push in between never showed
    await ws.disconnect()


@run_async
async def test_an_unknown_poll_is_closed_with_4404(manual_push: None) -> None:
    ws = socket("no-such-poll")
    connected, _ = await ws.connect(timeout=TIMEOUT)
    # Accepted first, so the browser sees the close code instead of a failed handshake.
    assert connected
    closed = await ws.receive_output(timeout=TIMEOUT)
    assert closed["type"] == "websocket.close"
    assert closed["code"] == 4404


@run_async
async def test_a_draft_poll_is_as_unknown_as_a_missing_one(
    make_poll: Callable[..., Poll], manual_push: None
) -> None:
    draft = await sync_to_async(make_poll)(slug="secret-draft", status=Poll.Status.DRAFT)
    ws = socket(draft.slug)
    await ws.connect(timeout=TIMEOUT)
    closed = await ws.receive_output(timeout=TIMEOUT)
    assert (closed["type"], closed["code"]) == ("websocket.close", 4404)


@run_async
async def test_garbage_from_a_client_changes_nothing_and_sync_still_answers(
    poll: Poll, manual_push: None
) -> None:
    ws = socket(poll.slug)
    await ws.connect(timeout=TIMEOUT)
    first = await receive(ws)
    for text in [
        "not json",
        "{",
        "null",
        '"sync"',
        "[1, 2, 3]",
        '{"type": 5}',
        '{"type": "results", "total": 999}',
        "[" * 50_000 + "]" * 50_000,  # too deep for the json module
        "x" * 1_000_000,
    ]:
        await ws.send_to(text_data=text)
    await ws.send_to(bytes_data=b"\x00\xff\xfe binary")
    # None of those gets an answer; the next message is the answer to a real request.
    await cast(poll, "Cats")
    await ws.send_json_to({"type": "sync"})
    fresh = await receive(ws)
    assert fresh["total"] == 1
    assert fresh["seq"] > first["seq"]
    await ws.disconnect()


@run_async
async def test_sync_answers_with_a_fresh_snapshot(poll: Poll, manual_push: None) -> None:
    ws = socket(poll.slug)
    await ws.connect(timeout=TIMEOUT)
    await receive(ws)
    await cast(poll, "Dogs")  # nothing pushed (manual_push): only a re-sync shows it
    await ws.send_json_to({"type": "sync"})
    assert votes_of(await receive(ws)) == {"Cats": 0, "Dogs": 1}
    await ws.disconnect()


@pytest.mark.parametrize(
    "origin",
    [
        b"http://evil.example",
        b"null",
        b"http://127.0.0.1.evil.example:8000",
        # The site's host on another port or scheme is another origin.
        b"http://127.0.0.1:6666",
        b"http://127.0.0.1",
        b"https://127.0.0.1:8000",
    ],
)
@run_async
async def test_a_page_from_another_origin_cannot_open_the_socket(
    poll: Poll, origin: bytes, manual_push: None
) -> None:
    connected, _ = await socket(poll.slug, origin=origin).connect(timeout=TIMEOUT)
    assert not connected


@run_async
async def test_a_client_without_an_origin_is_refused(poll: Poll, manual_push: None) -> None:
    ws = WebsocketCommunicator(application, f"/ws/polls/{poll.slug}/")
    connected, _ = await ws.connect(timeout=TIMEOUT)
    assert not connected


# --- Coalescing: the publisher a worker runs after each commit ---------------------------


@pytest.fixture
def publisher_closes_its_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    """The publisher thread lives in this process; it must not hold a connection to the
    test database, which is dropped at the end of the session."""
    real = publisher.publish_now

    def publish_then_close(poll_id: int, loop: Any = None, **kinds: bool) -> None:
        try:
            real(poll_id, loop, **kinds)
        finally:
            connection.close()

    monkeypatch.setattr(publisher, "publish_now", publish_then_close)


@run_async
async def test_a_burst_of_commits_reaches_viewers_as_few_growing_snapshots_ending_with_the_last(
    poll: Poll, settings: Any, publisher_closes_its_connection: None
) -> None:
    settings.RESULTS_PUSH_INTERVAL = 0.25
    commits = 40
    ws = socket(poll.slug)
    await ws.connect(timeout=TIMEOUT)
    start = await receive(ws)
    assert start["total"] == 0

    began = time.monotonic()
    for i in range(commits):
        await cast(poll, "Cats" if i % 3 else "Dogs")  # each commit calls polls_changed
    received: list[dict[str, Any]] = []
    while not received or received[-1]["total"] < commits:
        received.append(await receive(ws))
    elapsed = time.monotonic() - began

    seqs = [m["seq"] for m in received]
    totals = [m["total"] for m in received]
    assert seqs == sorted(set(seqs)), "seq strictly increases"
    assert totals == sorted(totals), "totals never go backwards"
    assert received[-1]["total"] == commits  # the trailing edge: the last state arrived
    assert votes_of(received[-1]) == {"Cats": 26, "Dogs": 14}
    # At most one push per interval (the gate), so far fewer messages than commits.
    assert len(received) <= elapsed / settings.RESULTS_PUSH_INTERVAL + 2
    assert len(received) < commits / 2
    await ws.disconnect()


def test_a_costly_push_holds_the_polls_gate_shut_for_its_cost_share(
    settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A push costing more than a fifth of the interval shuts the gate for five times its
    cost, so pushes of a big poll take at most a fifth of the process's time."""
    settings.RESULTS_PUSH_INTERVAL = 0.02
    cost = 0.04  # seconds of this thread's CPU per push: the gate should stay shut 0.2 s
    pushes: list[float] = []

    def costly_push(poll_id: int, loop: Any = None, **kinds: bool) -> None:
        began = time.thread_time()
        while time.thread_time() - began < cost:
            pass
        pushes.append(time.monotonic())

    monkeypatch.setattr(publisher, "publish_now", costly_push)
    poll_id = 2_000_000_001  # no such poll: the push is the stand-in above
    began = time.monotonic()
    while time.monotonic() - began < 1.5:  # a vote every 5 ms keeps the poll dirty
        publisher.polls_changed([poll_id])
        time.sleep(0.005)
    elapsed = time.monotonic() - began
    publisher._publisher.drain(timeout=5)
    busy = len(pushes) * cost / elapsed
    print(f"{len(pushes)} pushes in {elapsed:.2f} s: {busy:.0%} of a core")
    # Without the hold a push follows the last at once (seen: 37 in 1.5 s, 99% of a core).
    assert len(pushes) <= elapsed / (cost * 5) + 2
    assert busy < 0.35


# --- End to end: real voting role, worker and results role -------------------------------


@run_async
async def test_viewers_of_a_poll_share_one_subscription_per_process(
    poll: Poll, manual_push: None
) -> None:
    """results.fanout: one hub per poll and process receives each update once and hands it
    to every local viewer; the hub goes when its last viewer leaves."""

    viewers = [socket(poll.slug) for _ in range(3)]
    for ws in viewers:
        await ws.connect(timeout=TIMEOUT)
        await receive(ws)
    assert len(fanout._hubs[events.group_name(poll.pk)].viewers) == 3

    await cast(poll, "Cats")
    await sync_to_async(publisher.publish_now)(poll.pk)
    for ws in viewers:
        assert (await receive(ws))["total"] == 1

    for ws in viewers:
        await ws.disconnect()
    assert events.group_name(poll.pk) not in fanout._hubs


@run_async
async def test_a_hub_hands_slow_viewers_the_newest_update_not_a_backlog() -> None:
    """Updates are whole snapshots: those arriving while a round is being handed out are
    superseded by the newest, which goes out next; no viewer ever gets an older one after it."""
    import asyncio

    class Layer:  # delivers what the test puts in, as the channel layer's receive would
        def __init__(self) -> None:
            self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

        async def receive(self, channel: str) -> dict[str, Any]:
            return await self.queue.get()

    got: list[int] = []
    first_round = asyncio.Event()

    async def slow_viewer(event: dict[str, Any]) -> None:
        got.append(event["seq"])
        first_round.set()
        await asyncio.sleep(0.2)

    layer = Layer()
    hub = fanout._Hub("poll-results.test.1")
    hub.viewers.add(slow_viewer)
    tasks = [asyncio.create_task(hub._receive(layer)), asyncio.create_task(hub._hand_out())]
    try:
        await layer.queue.put({"seq": 1})
        await asyncio.wait_for(first_round.wait(), 5)
        for seq in (2, 4, 3, 5):  # arrive while seq 1 is still being handed out
            await layer.queue.put({"seq": seq})
        deadline = time.monotonic() + 5
        while got[-1] != 5 and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert got == [1, 5]
    finally:
        for task in tasks:
            task.cancel()


# --- Typed live events: a second kind, poll.changed -------------------------------------


@run_async
async def test_a_poll_closed_by_editing_it_shows_closed_on_open_pages_at_once(
    poll: Poll, publisher_closes_its_connection: None
) -> None:
    """Saving the poll (as the admin's form does, without the close action's seq bump)
    sends a poll.changed event: open pages show the new state without waiting for a vote."""
    ws = socket(poll.slug)
    await ws.connect(timeout=TIMEOUT)
    first = await receive(ws)
    assert first["status"] == "open"

    def close_by_editing() -> None:
        poll.status = Poll.Status.CLOSED
        poll.save()

    await sync_to_async(close_by_editing)()
    news = await receive(ws)
    assert news["status"] == "closed"
    assert news["seq"] == first["seq"]  # no tally changed
    await ws.disconnect()


@run_async
async def test_events_without_a_seq_all_reach_the_viewer_in_order_and_unknown_types_are_skipped(
    poll: Poll, manual_push: None
) -> None:
    """The hub passes events through without reading their fields; the consumer
    dispatches each by its type, as Channels does."""

    received: list[dict[str, Any]] = []

    class Viewer:
        async def handle_live_event(self, event: dict[str, Any]) -> None:
            received.append(event)

    viewer = Viewer()
    await fanout.watch(events.group_name(poll.pk), viewer.handle_live_event)
    try:
        layer = get_channel_layer()
        for n in range(3):
            await layer.group_send(events.group_name(poll.pk), {"type": "note.added", "n": n})
        deadline = time.monotonic() + TIMEOUT
        while len(received) < 3 and time.monotonic() < deadline:
            await sync_to_async(time.sleep)(0.02)
        assert [e["n"] for e in received] == [0, 1, 2]
    finally:
        await fanout.unwatch(events.group_name(poll.pk), viewer.handle_live_event)

    # A real socket: an event type it has no handler for changes nothing for it.
    ws = socket(poll.slug)
    await ws.connect(timeout=TIMEOUT)
    await receive(ws)
    layer = get_channel_layer()
    await layer.group_send(events.group_name(poll.pk), {"type": "no.such.kind"})
    await cast(poll, "Cats")
    await sync_to_async(publisher.publish_now)(poll.pk)
    assert (await receive(ws))["total"] == 1
    await ws.disconnect()
