"""The results role's server (votingsite/results_server.py): daphne with less kept per
connection, and its command line the same in the Procfile and the Kubernetes manifest.
What each change saves is measured in docs/performance.md ("Memory per socket"); these
pin the behaviour, not sizes."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from itertools import pairwise
from pathlib import Path
from typing import Any

import yaml

from votingsite.procfile import command
from votingsite.results_server import Inbox

ROOT = Path(__file__).resolve().parents[2]


def test_a_connections_inbox_hands_its_reader_every_message_in_order() -> None:
    async def scenario() -> list[object]:
        inbox = Inbox()
        inbox.put_nowait({"type": "websocket.connect"})
        got: list[object] = [await inbox.get()]
        reader = asyncio.ensure_future(inbox.get())  # waits: nothing queued
        await asyncio.sleep(0)
        assert not reader.done()
        inbox.put_nowait({"type": "websocket.receive", "text": "a"})
        inbox.put_nowait({"type": "websocket.receive", "text": "b"})
        got += [await reader, await inbox.get()]
        # A reader cancelled while waiting (the server stopping it) takes nothing away.
        cancelled = asyncio.ensure_future(inbox.get())
        await asyncio.sleep(0)
        cancelled.cancel()
        inbox.put_nowait({"type": "websocket.disconnect", "code": 1000})
        got.append(await inbox.get())
        return got

    assert asyncio.run(scenario()) == [
        {"type": "websocket.connect"},
        {"type": "websocket.receive", "text": "a"},
        {"type": "websocket.receive", "text": "b"},
        {"type": "websocket.disconnect", "code": 1000},
    ]


# Run apart: importing daphne.server installs Twisted's reactor in the process.
_SERVER_PROBE = """
import asyncio, json, uvloop
asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
from votingsite.results_server import server_class
ResultsServer = server_class()  # first: daphne installs its reactor
from twisted.internet import reactor
from twisted.internet.testing import StringTransport
from twisted.web.http import HTTPChannel
from daphne.ws_protocol import WebSocketFactory

asyncio.set_event_loop(reactor._asyncioEventloop)  # as Server.run does
server = ResultsServer(application=lambda **scope: asyncio.sleep(0), endpoints=["tcp:0"])
server.connections = {}
server.ws_factory = WebSocketFactory(server)  # as Server.run does
server.ws_factory.setProtocolOptions(autoPingTimeout=30, maxFramePayloadSize=4096)
socket = server.ws_factory.buildProtocol(None)
transport = StringTransport()
transport.registerProducer(HTTPChannel(), True)  # the channel that parsed the upgrade
import pprint
from autobahn.websocket import protocol as autobahn_protocol
formatted = []
real_pformat = pprint.pformat
counting = lambda *args, **kwargs: formatted.append(1) or real_pformat(*args, **kwargs)
pprint.pformat = counting
if autobahn_protocol.pformat is real_pformat:  # autobahn's own name for it, unchanged
    autobahn_protocol.pformat = counting
import click
styled = []
real_style = click.style
click.style = lambda *args, **kwargs: styled.append(1) or real_style(*args, **kwargs)
socket.makeConnection(transport)
socket.sendData(b"a message")  # its debug line names the method, the peer, the length
pprint.pformat = real_pformat
click.style = real_style
server.protocol_connected(socket)
print(json.dumps({
    "copied": sorted(set(vars(socket)) & set(socket.CONFIG_ATTRS)),
    "options": [socket.autoPingTimeout, socket.maxFramePayloadSize],
    "producer": repr(transport.producer),
    "formatted": len(formatted),
    "styled": len(styled),
    "inbox": type(server.create_application(socket, {"type": "websocket"})).__name__,
    "endpoints": ResultsServer(application=None, endpoints=[
        "tcp:port=8002:interface=127.0.0.1", "tcp:port=8003:backlog=10", "unix:/tmp/r.sock",
    ]).endpoints,
}))
server.connections[socket]["application_instance"].cancel()
"""


def _probe(script: str) -> dict[str, Any]:
    """What a probe script, run in a process of its own, printed last (JSON)."""
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    found: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    return found


def test_a_socket_keeps_no_copy_of_the_servers_options_nor_the_http_channel_it_came_from() -> None:
    probe = _probe(_SERVER_PROBE)
    assert probe["copied"] == []  # read from the factory, where daphne set them once
    assert probe["options"] == [30, 4096]
    assert probe["producer"] == "None"  # the upgrade's HTTP channel can be collected
    assert probe["inbox"] == "Inbox"
    assert probe["formatted"] == 0  # autobahn's debug line, debug off: nothing formatted
    assert probe["styled"] == 0  # nor highlighted, for each message sent
    # A join storm's connections queue in the kernel (Twisted's default backlog is 50).
    assert probe["endpoints"] == [
        "tcp:port=8002:interface=127.0.0.1:backlog=4096",
        "tcp:port=8003:backlog=10",  # one given on the command line stays
        "unix:/tmp/r.sock",
    ]


def _flags(argv: list[str]) -> dict[str, str]:
    """daphne's options that take a value, by name (binds and ports differ by design)."""
    return {
        flag: value
        for flag, value in pairwise(argv)
        if flag.startswith("--") and flag not in ("--bind", "--port")
    }


def test_the_procfile_and_the_manifest_start_daphne_with_the_same_options() -> None:
    procfile = command("results", {})
    documents = yaml.safe_load_all((ROOT / "deploy/k8s/base/results.yaml").read_text())
    deployment = next(d for d in documents if d["kind"] == "Deployment")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    manifest = [*container["command"], *container["args"]]
    assert procfile[:3] == manifest[:3] == ["python", "-m", "votingsite.results_server"]
    assert _flags(procfile) == _flags(manifest)
    # A join storm's handshakes wait in line rather than being dropped after daphne's 5 s.
    assert int(_flags(procfile)["--websocket_connect_timeout"]) >= 30


# Run apart, as above.
_WRITE_PROBE = """
import asyncio, json, socket, uvloop
asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
from votingsite.results_server import server_class
server_class()
from twisted.internet import tcp

class Reactor:  # what a connection asks of its reactor when it must wait to write
    def __init__(self): self.writers = 0
    def addWriter(self, writer): self.writers += 1
    def removeWriter(self, writer): pass

reactor = Reactor()
ours, theirs = socket.socketpair()
theirs.setblocking(False)
connection = tcp.Connection(ours, None, reactor)
connection.connected = 1
connection.write(b"at once")
try:
    first = theirs.recv(100)
except BlockingIOError:
    first = b""
waited_first = reactor.writers
big = b"x" * 20_000_000  # more than the kernel takes: the rest waits for the loop
connection.write(big)
connection.write(b"after")
waiting = b"".join(connection._tempDataBuffer)
print(json.dumps({
    "first": first.decode(), "waited_first": waited_first, "waited_big": reactor.writers,
    "waiting_ends": waiting[-5:].decode(), "waiting_then": len(waiting) < len(big) + 5,
}))
"""


def test_a_send_with_nothing_waiting_is_written_at_once_and_the_rest_in_order() -> None:
    probe = _probe(_WRITE_PROBE)
    # On the wire before the loop turns, without registering the socket for writing.
    assert probe["first"] == "at once"
    assert probe["waited_first"] == 0
    # What the kernel did not take waits for the loop, in order, as Twisted buffers.
    assert probe["waited_big"] >= 1
    assert probe["waiting_ends"] == "after"
    assert probe["waiting_then"], "part of the large write went at once"
