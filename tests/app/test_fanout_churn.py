"""Churn is normal: a phone that leaves while an update is on its way to it is counted
(results_viewers_gone_during_send on the role's /metrics, a debug line), never an ERROR
with a traceback; a send that fails for another reason still is one. The hub goes on
handing the event to everyone else either way."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import pytest
from autobahn.exception import Disconnected

from results import fanout
from results.guard import SocketGuard
from tests.support.live import run_async


class Layer:  # delivers what the test puts in, as the channel layer's receive would
    def __init__(self) -> None:
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    async def receive(self, channel: str) -> dict[str, Any]:
        return await self.queue.get()


def gone_count() -> float:
    return fanout.VIEWERS_GONE._value.get()


async def hand_out(failing: Any, event: dict[str, Any]) -> list[dict[str, Any]]:
    """One event through a hub with a failing viewer between two that work: what the
    working ones got."""
    got: list[dict[str, Any]] = []

    async def viewer(event: dict[str, Any]) -> None:
        got.append(event)

    async def other(event: dict[str, Any]) -> None:
        got.append(event)

    layer = Layer()
    hub = fanout._Hub("poll-results.test.churn")
    hub.viewers.update({viewer, failing, other})
    tasks = [asyncio.create_task(hub._receive(layer)), asyncio.create_task(hub._hand_out())]
    try:
        await layer.queue.put(event)
        deadline = time.monotonic() + 5
        while len(got) < 2 and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.05)  # the failing viewer's turn is over too
    finally:
        for task in tasks:
            task.cancel()
    return got


@pytest.mark.parametrize(
    "error",
    [Disconnected("Attempt to send on a closed protocol"), ConnectionResetError()],
    ids=["autobahn-disconnected", "connection-reset"],
)
@run_async
async def test_a_viewer_leaving_during_a_send_is_counted_not_logged_as_an_error(
    error: Exception, caplog: pytest.LogCaptureFixture
) -> None:
    async def leaving(event: dict[str, Any]) -> None:
        raise error

    before = gone_count()
    with caplog.at_level(logging.DEBUG, logger="results.fanout"):
        got = await hand_out(leaving, {"type": "results.update", "seq": 1})
    assert len(got) == 2, "everyone else still gets the update"
    assert gone_count() == before + 1
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert not [r for r in caplog.records if r.exc_info]
    debug = [r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG]
    assert any("left while a results.update event was sent" in line for line in debug)


@run_async
async def test_a_send_failing_for_another_reason_is_still_an_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def broken(event: dict[str, Any]) -> None:
        raise ValueError("a bug")

    before = gone_count()
    with caplog.at_level(logging.DEBUG, logger="results.fanout"):
        got = await hand_out(broken, {"type": "results.update", "seq": 1})
    assert len(got) == 2
    assert gone_count() == before
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert [r.getMessage() for r in errors] == ["could not send a results.update event to a viewer"]
    assert errors[0].exc_info is not None


@run_async
async def test_a_phone_gone_while_its_socket_sends_its_first_state_is_counted_too(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The consumer's own sends (the state on connect) meet the same churn: the guard in
    front of every socket counts it, and daphne logs no "Exception inside application"."""

    async def consumer(scope: Any, receive: Any, send: Any) -> None:
        await receive()
        raise Disconnected("Attempt to send on a closed protocol")

    async def receive() -> dict[str, Any]:
        return {"type": "websocket.connect"}

    async def send(message: dict[str, Any]) -> None:
        raise AssertionError("nothing is sent")

    scope = {"type": "websocket", "client": ("127.0.0.1", 5000), "headers": []}
    guard = SocketGuard(consumer)
    before = gone_count()
    with caplog.at_level(logging.DEBUG, logger="results.fanout"):
        await guard(scope, receive, send)  # raises nothing
    assert gone_count() == before + 1
    assert not guard.open, "the socket is no longer counted as open"
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
