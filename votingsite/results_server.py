"""The results role's server: daphne's command line, on uvloop's event loop, with two
changes to what daphne keeps per connection.

Daphne runs Twisted on an asyncio loop made when daphne.server is imported, from the
loop policy in force then; this sets uvloop's policy first. Each WebSocket send ends in
Twisted registering the socket for writing and unregistering it once written: on the
standard selector loop that is Python code and two epoll calls per message, the largest
share of a fan-out's time (docs/performance.md).

It also listens with a longer backlog (LISTEN_BACKLOG) than Twisted's default, formats
autobahn's per-connection debug lines only when they are written, and sends a write at
once when nothing is waiting to be written, as asyncio does (`_write_at_once`).

Per connection (a room holds thousands of idle sockets; docs/performance.md, "Memory per
socket"), both small enough to go upstream into daphne:

- the application's inbox is a list and a future (`Inbox`), not an `asyncio.Queue`
  (three deques and an Event, ~3.5 kB a socket, for one reader that reads in turn);
- once a WebSocket takes over its connection, the HTTP channel that parsed the upgrade
  is no longer the transport's producer: daphne left it registered, which kept the
  channel, its request, the request's headers and body buffer for the socket's life;
- a socket reads autobahn's options (autoPingTimeout, maxFramePayloadSize, ... 29 of
  them) from its factory, where daphne set them once, instead of autobahn copying them
  into every connection's attributes (it copies only what the protocol class lacks),
  and drops what only the handshake reads once open.
"""

from __future__ import annotations

import asyncio
import pprint
import sys
from collections.abc import Callable
from functools import partial
from operator import attrgetter
from typing import Any

import uvloop


class Inbox:
    """What daphne needs of a connection's queue (put_nowait, and get by its one reader)."""

    __slots__ = ("_items", "_waiter")

    def __init__(self) -> None:
        self._items: list[dict[str, Any]] = []
        self._waiter: asyncio.Future[None] | None = None

    def put_nowait(self, item: dict[str, Any]) -> None:
        self._items.append(item)
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def get(self) -> dict[str, Any]:
        while not self._items:
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        return self._items.pop(0)


# A join storm's connections wait in the kernel's queue, not refused (Twisted's default is
# 50: a room's burst overflowed it and the door's connects timed out, docs/performance.md);
# the kernel caps it at net.core.somaxconn.
LISTEN_BACKLOG = 4096


def _with_backlog(endpoint: str) -> str:
    """A TCP endpoint of daphne's (--bind/--port) with our listen backlog, unless it names
    one (-e tcp:...:backlog=N)."""
    if endpoint.startswith("tcp:") and ":backlog=" not in endpoint:
        return f"{endpoint}:backlog={LISTEN_BACKLOG}"
    return endpoint


class _Later:
    """format(value) when a log line is written, not when it is asked for."""

    __slots__ = ("_render", "_value")

    def __init__(self, render: Callable[[Any], str], value: object) -> None:
        self._render = render
        self._value = value

    def __str__(self) -> str:
        return self._render(self._value)

    __repr__ = __str__


def _format_autobahn_debug_lazily() -> None:
    """autobahn formats its debug lines' values even with debug off: it pretty-prints its
    29 options on every connection (about a fifth of a join storm's handshake in the
    profile), and highlights, with click's colours, the method, the peer and the length
    for every message it sends or takes (hltype, hlval: ~7% of the results process handing out
    results to 5,000 sockets). Its debug lines get the text only when written. Could go
    upstream: autobahn's pformat and hl* calls under `if self.log ... debug`."""
    from autobahn import util  # noqa: PLC0415
    from autobahn.twisted import websocket  # noqa: PLC0415
    from autobahn.websocket import protocol  # noqa: PLC0415

    # pprint.pformat looked up when written (a test counts its calls).
    protocol.pformat = partial(_Later, lambda value: pprint.pformat(value))  # type: ignore[assignment]  # noqa: PLW0108
    for module in (protocol, websocket):  # each imported them by name
        module.hltype = partial(_Later, util.hltype)  # type: ignore[attr-defined]
        module.hlval = partial(_Later, util.hlval)  # type: ignore[attr-defined]
    # Timings.__str__ must still return a str.
    protocol.Timings.__str__ = lambda self: pprint.pformat(self._timings)  # type: ignore[method-assign]


def _write_at_once() -> None:
    """Twisted's TCP connections buffer every write until the loop polls the socket:
    each message registers the socket for writing, waits a turn of the loop, sends, and
    unregisters it (two epoll calls and a callback per message, the largest share of a
    hand-out to thousands of sockets after the uvloop change). Here a write with nothing
    already waiting is sent at once, as asyncio's transports do; what the kernel does not
    take is buffered as before. Could go upstream: FileDescriptor.write in Twisted."""
    from twisted.internet import tcp  # noqa: PLC0415

    buffered = tcp.Connection.write

    def write(self: Any, data: bytes) -> None:
        if (
            data
            and self.connected
            and not self.disconnecting
            and not self._writeDisconnected
            and not self._tempDataLen
            and self.offset == len(self.dataBuffer)
        ):
            sent = self.writeSomeData(data)
            if isinstance(sent, int) and sent > 0:  # a lost connection: doWrite reports it
                if sent == len(data):
                    return
                data = data[sent:]
        buffered(self, data)

    tcp.Connection.write = write  # type: ignore[method-assign]


def server_class() -> type:
    """daphne's Server with the changes above (import after the loop policy)."""
    from daphne.server import Server  # noqa: PLC0415 (installs the reactor: see above)
    from daphne.ws_protocol import WebSocketProtocol  # noqa: PLC0415
    from twisted.web.http import HTTPChannel  # noqa: PLC0415

    _format_autobahn_debug_lazily()
    _write_at_once()

    class LeanProtocol(WebSocketProtocol):
        def onOpen(self) -> None:
            # Only the handshake reads these (autobahn's processHandshake, daphne's
            # onConnect): its raw request and answer, its headers, the application's
            # creation.
            self.http_request_data = self.http_response_data = b""
            self.http_headers.clear()  # the same dict as self.request.headers
            self.application_deferred = None
            super().onOpen()

    for name in WebSocketProtocol.CONFIG_ATTRS:  # read-only: only factories set them
        setattr(LeanProtocol, name, property(attrgetter(f"factory.{name}")))

    class ResultsServer(Server):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            given: list[str] = getattr(self, "endpoints", [])  # daphne's untyped attribute
            self.endpoints = [_with_backlog(endpoint) for endpoint in given]

        # Server.run makes its WebSocket factory: its sockets are LeanProtocol's.
        @property
        def ws_factory(self) -> Any:
            return self._ws_factory

        @ws_factory.setter
        def ws_factory(self, factory: Any) -> None:
            factory.protocol = LeanProtocol
            self._ws_factory = factory

        def create_application(self, protocol: Any, scope: dict[str, Any]) -> Inbox | None:
            # daphne's own (daphne/server.py), with an Inbox for its asyncio.Queue.
            assert "application_instance" not in self.connections[protocol]  # noqa: S101
            inbox = Inbox()
            scope.setdefault("asgi", {"version": "3.0"})
            instance = self.application(
                scope=scope, receive=inbox.get, send=partial(self.handle_reply, protocol)
            )
            if protocol not in self.connections:
                return None
            self.connections[protocol]["application_instance"] = asyncio.ensure_future(
                instance, loop=asyncio.get_event_loop()
            )
            return inbox

        def protocol_connected(self, protocol: Any) -> None:
            super().protocol_connected(protocol)
            transport: Any = getattr(protocol, "transport", None)
            if isinstance(protocol, WebSocketProtocol) and isinstance(
                getattr(transport, "producer", None), HTTPChannel
            ):
                transport.unregisterProducer()

    return ResultsServer


def main() -> None:
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    from daphne.cli import CommandLineInterface  # noqa: PLC0415 (after the policy: see above)

    cli = CommandLineInterface()
    cli.server_class = server_class()
    cli.run(sys.argv[1:])  # as CommandLineInterface.entrypoint does


if __name__ == "__main__":
    main()
