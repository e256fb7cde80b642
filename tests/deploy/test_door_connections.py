"""The front door's connections per address (deploy/k8s/base/front-door/nginx.conf): one
address at its limit of sockets and of requests in progress is refused with 429 (a page
in the visitor's language for a page, JSON under /api/), while a visitor from another
address is served as usual.

Linux routes all of 127.0.0.0/8 to the loopback interface, so each visitor here is a
loopback address of its own (the client socket bound to it), the shipped limits unchanged.
"""

from __future__ import annotations

import http.client
import json
import select
import socket
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import ClientConnection, connect
from websockets.typing import Origin

from polls.models import Poll
from tests.support import processes
from tests.support.clients import SECURITY_HEADERS, next_results, same_value
from votingsite import front_door

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.processes]

# The shipped limits (nginx.conf's limit_conn lines; docs/security.md says why).
SOCKETS_PER_ADDRESS = 1500
PAGES_PER_ADDRESS = 256
CROWD = "127.0.0.2"  # one address holding its limits
VISITOR = "127.0.0.3"  # anyone else
REAL_SOCKETS = 10  # of the crowd's sockets, real WebSockets through to the results role


def door_address(site: Any) -> tuple[str, int]:
    host, _, port = site.url.removeprefix("http://").rpartition(":")
    return host, int(port)


def dial(site: Any, source: str) -> socket.socket:
    return socket.create_connection(door_address(site), timeout=10, source_address=(source, 0))


def held(site: Any, source: str, path: str) -> socket.socket:
    """A request in progress: its headers whole, its body (1,000 bytes announced) not; the
    door holds it, counted, without a role ever seeing it."""
    sock = dial(site, source)
    host = site.url.removeprefix("http://")
    sock.sendall(
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        "Content-Length: 1000\r\n\r\n{".encode()
    )
    return sock


def websocket(site: Any, source: str, slug: str) -> ClientConnection:
    ws_url = site.url.replace("http://", "ws://", 1) + f"/ws/polls/{slug}/"
    return connect(ws_url, sock=dial(site, source), origin=Origin(site.url), open_timeout=10)


def get(
    site: Any, source: str, path: str, headers: dict[str, str] | None = None
) -> http.client.HTTPResponse:
    """The answer, its body read (in `.body`)."""
    host, port = door_address(site)
    conn = http.client.HTTPConnection(host, port, timeout=10, source_address=(source, 0))
    conn.request("GET", path, headers=headers or {})
    answer = conn.getresponse()
    answer.body = answer.read()  # type: ignore[attr-defined]
    conn.close()
    return answer


@contextmanager
def crowd_at_its_limits(site: Any, slug: str) -> Iterator[list[socket.socket]]:
    """The crowd's address holding every socket and request the door allows it."""
    with ExitStack() as stack:
        for _ in range(REAL_SOCKETS):
            ws = stack.enter_context(websocket(site, CROWD, slug))
            assert next_results(ws)["total"] == 0
        sockets = [
            held(site, CROWD, f"/ws/polls/{slug}/")
            for _ in range(SOCKETS_PER_ADDRESS - REAL_SOCKETS)
        ]
        sockets += [held(site, CROWD, f"/api/polls/{slug}/vote") for _ in range(PAGES_PER_ADDRESS)]
        try:
            yield sockets
        finally:
            for sock in sockets:
                sock.close()


def refused_websocket(site: Any, slug: str) -> Callable[[], int]:
    def attempt() -> int:
        try:
            websocket(site, CROWD, slug).close()
        except InvalidStatus as refused:
            return refused.response.status_code
        return 0

    return attempt


def test_an_address_at_its_limits_is_refused_and_another_is_served(
    site: Any, make_poll: Callable[..., Poll]
) -> None:
    poll = make_poll(slug=f"conn-{uuid.uuid4().hex[:8]}", labels=("Cats", "Dogs"))
    page = get(site, VISITOR, f"/polls/{poll.slug}/")
    assert page.status == 200
    with crowd_at_its_limits(site, poll.slug) as sockets:
        # One more socket from the crowd: 429 once the door has read every held request.
        statuses: list[int] = []

        def refused() -> bool:
            statuses.append(refused_websocket(site, poll.slug)())
            return statuses[-1] == 429

        processes.wait_for(refused, timeout=10, interval=0.5, what=lambda: f"429, got {statuses}")
        # Pages and the API from the crowd: the site's 429, with when to try again; a
        # person's page says so in their language and loads itself again after as long.
        german = {"Accept-Language": "de-DE,de;q=0.9,en;q=0.8"}
        text = get(site, CROWD, f"/polls/{poll.slug}/", headers=german)
        api = get(site, CROWD, f"/api/polls/{poll.slug}", headers=german)
        for answer in (text, api):
            assert answer.status == 429
            assert answer.getheader("Retry-After") == "10"
            for name in SECURITY_HEADERS:
                assert same_value(name, answer.getheader(name, ""), page.getheader(name, ""))
        assert text.getheader("Content-Type") == "text/html; charset=utf-8"
        html = text.body.decode()  # type: ignore[attr-defined]
        assert '<html lang="de">' in html
        assert "<h1>Zu viele Verbindungen aus Ihrem Netzwerk</h1>" in html
        assert '<meta http-equiv="refresh" content="10">' in html
        assert "<script" not in html
        assert api.getheader("Content-Type", "").startswith("application/json")
        assert json.loads(api.body)["code"] == "too_many_connections"  # type: ignore[attr-defined]

        # Every held socket was taken: the limits are no lower than documented.
        poller = select.poll()
        for sock in sockets:
            poller.register(sock, select.POLLIN)
        answered = poller.poll(0)
        assert answered == [], answered[:3]

        # Another address: pages, the API and a live socket, as ever.
        assert get(site, VISITOR, f"/polls/{poll.slug}/").status == 200
        fresh = get(site, VISITOR, f"/api/polls/{poll.slug}")
        assert fresh.status == 200
        with websocket(site, VISITOR, poll.slug) as ws:
            assert next_results(ws)["total"] == 0

    # Its connections closed, the crowd's address is served again.
    processes.wait_for(
        lambda: get(site, CROWD, f"/polls/{poll.slug}/").status == 200, timeout=10, what="200"
    )


def door_metrics(site: Any) -> dict[str, float]:
    """The door's own numbers, from its metrics socket (metrics.conf, locally)."""
    with socket.socket(socket.AF_UNIX) as sock:
        sock.settimeout(10)
        sock.connect(str(site.door.directory / front_door.METRICS_SOCKET))
        sock.sendall(b"GET /metrics HTTP/1.0\r\nHost: door\r\n\r\n")
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.decode().partition("\r\n\r\n")
    assert head.startswith("HTTP/1.1 200"), head
    return {
        name: float(value)
        for name, value in (line.split() for line in body.splitlines() if line[:1] != "#")
    }


def test_the_door_counts_the_connections_it_holds_for_its_autoscaler(
    site: Any, make_poll: Callable[..., Poll]
) -> None:
    poll = make_poll(slug=f"conn-{uuid.uuid4().hex[:8]}", labels=("Cats", "Dogs"))
    before = door_metrics(site)["nginx_connections_active"]
    sockets = [held(site, VISITOR, f"/ws/polls/{poll.slug}/") for _ in range(100)]
    try:
        processes.wait_for(
            lambda: door_metrics(site)["nginx_connections_active"] >= before + 100,
            timeout=10,
            what=lambda: f"100 more than {before}: {door_metrics(site)}",
        )
    finally:
        for sock in sockets:
            sock.close()
    # Never through the door.
    assert get(site, VISITOR, "/metrics").status == 404
    assert get(site, VISITOR, "/stub_status").status == 404
