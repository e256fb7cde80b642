"""The front door's own answers and bounds: its 414, 501 and 505 as the site's other
errors (plain text, JSON under /api/, the security headers), embeds framed as
EMBED_FRAME_ANCESTORS says (no X-Frame-Options contradicting it)."""

from __future__ import annotations

import json
import socket
import uuid
from typing import Any

import pytest
import requests

pytestmark = pytest.mark.django_db(transaction=True)


def raw(url: str, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """Sends `request` as it is; the status, headers (lower-case names) and body."""
    host, _, port = url.removeprefix("http://").rpartition(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(lines[0].split()[1]), headers, body


def requests_of(site: Any) -> list[tuple[str, int, bytes]]:
    host = site.url.removeprefix("http://").encode()
    end = b"\r\nHost: " + host + b"\r\nConnection: close\r\n\r\n"
    chunked = b"\r\nTransfer-Encoding: gzip, chunked\r\nContent-Length: 0"
    return [
        ("414", 414, b"GET /polls/" + b"a" * 9000 + b"/ HTTP/1.1" + end),
        ("414 api", 414, b"GET /api/polls/" + b"a" * 9000 + b" HTTP/1.1" + end),
        ("501", 501, b"POST /polls/x/vote/ HTTP/1.1" + chunked + end),
        ("501 api", 501, b"POST /api/polls/x/vote HTTP/1.1" + chunked + end),
        ("505", 505, b"GET /polls/ HTTP/3.0" + end),
        ("505 api", 505, b"GET /api/polls/x HTTP/3.0" + end),
    ]


def test_the_doors_414_501_and_505_are_the_sites_errors_not_nginxs_page(site: Any) -> None:
    page = requests.get(f"{site.url}/", timeout=10)
    for what, status, request in requests_of(site):
        got, headers, body = raw(site.url, request)
        assert got == status, (what, body[:200])
        assert b"<html" not in body, (what, body[:200])
        assert b"nginx" not in body, (what, body[:200])
        if what.endswith("api") and status != 414:
            assert headers["content-type"].startswith("application/json"), what
            assert json.loads(body)["code"], what
        elif not what.endswith("api"):
            assert headers["content-type"].startswith("text/plain"), what
        for name in ("X-Content-Type-Options", "Referrer-Policy", "X-Frame-Options"):
            assert headers[name.lower()] == page.headers[name], (what, name)


def test_an_embed_through_the_door_is_framed_by_its_csp_alone(site: Any, make_poll: Any) -> None:
    poll = make_poll(slug=f"emb-{uuid.uuid4().hex[:8]}")
    embed = requests.get(f"{site.url}/embed/polls/{poll.slug}/", timeout=10)
    assert embed.status_code == 200
    assert "frame-ancestors" in embed.headers["Content-Security-Policy"]
    assert "X-Frame-Options" not in embed.headers  # it would say DENY to the CSP's sites
    page = requests.get(f"{site.url}/polls/{poll.slug}/", timeout=10)
    assert page.raw.headers.getlist("X-Frame-Options") == ["DENY"]
