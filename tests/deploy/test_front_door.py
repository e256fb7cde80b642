"""The front door (Debian's nginx, deploy/k8s/base/front-door) in front of real roles: one
origin, the Ingress's routes, /metrics kept in, the site's security headers on its own
errors, and slow or oversized requests stopped before they reach gunicorn or daphne.
Every attack is bounded in sockets, bytes and seconds."""

from __future__ import annotations

import select
import socket
import statistics
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import psutil
import pytest
import requests
from django.utils import translation
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect
from websockets.typing import Origin

from polls.models import Poll, Vote
from tests.support import processes
from tests.support.clients import (
    SECURITY_HEADERS,
    Browser,
    next_results,
    results_socket,
    same_value,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.processes]

MB = 2**20


def host_port(url: str) -> tuple[str, int]:
    host, _, port = url.removeprefix("http://").rpartition(":")
    return host, int(port)


# --- One origin, the same routes as deploy/k8s -------------------------------------------


@pytest.mark.parametrize(
    ("path", "role"),
    [
        ("/ws/polls/{m}/", "results"),
        ("/polls/{m}/results/", "results"),
        ("/polls/{m}/", "voting"),
        ("/polls/{m}/vote/", "voting"),
        ("/api/polls/{m}/results", "voting"),
        ("/polls/results/{m}/", "voting"),
        ("/static/{m}.css", "voting"),
        ("/admin/{m}/", "voting"),
        ("/{m}", "voting"),
    ],
)
def test_each_path_reaches_the_role_the_routes_name(site, path: str, role: str) -> None:
    marker = f"route-{uuid.uuid4().hex}"
    answer = requests.get(site.url + path.format(m=marker), timeout=10, allow_redirects=False)
    assert answer.status_code in {302, 404, 405}, answer.text[:200]  # the role answered
    roles = {"voting": site.voting, "results": site.results}
    processes.wait_for(lambda: marker in roles[role].output(), timeout=10, what=f"{role}'s log")
    other = "voting" if role == "results" else "results"
    assert marker not in roles[other].output()


def test_a_vote_and_its_live_results_share_one_origin(site, poll: Poll) -> None:
    dogs = poll.choices.get(label="Dogs")
    page = requests.get(f"{site.url}/polls/{poll.slug}/results/", timeout=10)
    assert page.status_code == 200
    with results_socket(site.url, poll.slug) as ws:  # Origin: the site's own
        assert next_results(ws)["total"] == 0
        cast = Browser(site.url).vote_api(poll.slug, dogs.pk)
        assert cast.status_code == 202, cast.text
        latest = next_results(ws)
        while latest["total"] < 1:
            latest = next_results(ws)
    processes.wait_for(lambda: Vote.objects.filter(poll=poll).exists(), what="the stored vote")


@pytest.mark.parametrize(
    "origin",
    [
        "http://127.0.0.1:6666",  # the site's host on a foreign port
        "http://evil.example",
        "https://127.0.0.1:{port}",
    ],
)
def test_a_websocket_from_another_origin_is_refused_through_the_door(
    site, poll: Poll, origin: str
) -> None:
    origin = origin.format(port=host_port(site.url)[1])
    ws_url = site.url.replace("http://", "ws://") + f"/ws/polls/{poll.slug}/"
    with pytest.raises(InvalidStatus) as refused:
        connect(ws_url, origin=Origin(origin), open_timeout=10)
    assert refused.value.response.status_code == 403


# --- What the door keeps in -----------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/metrics", "/metrics/", "/%6detrics", "//metrics", "/x/../metrics", "/readyz"]
)
def test_metrics_and_readiness_are_not_served_through_the_door(site, path: str) -> None:
    with socket.create_connection(host_port(site.url), timeout=10) as sock:
        request = f"GET {path} HTTP/1.1\r\nHost: {site.url[7:]}\r\nConnection: close\r\n\r\n"
        sock.sendall(request.encode())
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert answer.split(b"\r\n", 1)[0] == b"HTTP/1.1 404 Not Found"
    assert b"django_http" not in answer
    # The scraper still reads each role on its own address.
    assert requests.get(f"{site.voting.url}/metrics", timeout=10).status_code == 200


def door_errors(site: Any, poll: Poll) -> Iterator[tuple[str, requests.Response]]:
    slug = poll.slug
    yield "413", requests.post(f"{site.url}/api/polls/{slug}/vote", data=b"x" * MB, timeout=10)
    yield (
        "413 results",
        requests.post(f"{site.url}/polls/{slug}/results/", data=b"x" * 4096, timeout=10),
    )
    yield "400", requests.get(f"{site.url}/", headers={"X-Big": "x" * 20_000}, timeout=10)
    # nginx refuses a NUL in the path before it has a URI (found by tests/roles/test_ws_fuzz.py).
    yield "400 request line", requests.get(f"{site.url}/polls/%00/", timeout=10)
    yield "400 socket path", requests.get(f"{site.url}/ws/polls/a%00b/", timeout=10)
    yield "404", requests.get(f"{site.url}/metrics", timeout=10)
    yield (
        "403 socket",
        requests.get(
            f"{site.url}/ws/polls/{slug}/",
            headers={
                "Upgrade": "websocket",
                "Connection": "Upgrade",
                "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
                "Sec-WebSocket-Version": "13",
                "Origin": "http://127.0.0.1:6666",
            },
            timeout=10,
        ),
    )


def test_the_doors_own_errors_carry_the_sites_security_headers(site, poll: Poll) -> None:
    page = requests.get(f"{site.url}/polls/{poll.slug}/", timeout=10)
    assert page.status_code == 200
    for name in SECURITY_HEADERS:
        # Django's header passes once; the door adds its copy only when there is none.
        assert len(page.raw.headers.getlist(name)) == 1, name
    for what, error in door_errors(site, poll):
        assert error.status_code == int(what.split()[0]), (what, error.text[:200])
        assert "nginx" not in error.text, what
        assert "<html" not in error.text, what
        for name in SECURITY_HEADERS:
            assert len(error.raw.headers.getlist(name)) == 1, (what, name)
            assert same_value(name, error.headers[name], page.headers[name]), (what, name)


# --- What a person sees when a role is away ----------------------------------------------


@pytest.fixture(scope="module")
def door_alone() -> Iterator[processes.FrontDoor]:
    """The shipped door with no role behind it (a rollout gone wrong, a role restarting)."""
    away = f"http://127.0.0.1:{processes.free_port()}"
    door = processes.FrontDoor(voting=away, results=away)
    door.start()

    def answers() -> bool:
        try:
            return requests.get(f"{door.url}/healthz", timeout=2).status_code == 503
        except requests.ConnectionError:
            return False

    try:
        processes.wait_for(answers, timeout=10, what="the door without its roles")
        yield door
    finally:
        door.stop()


def in_language(language: str, message: str) -> str:
    with translation.override(language):
        return translation.gettext(message)


# What a browser sends, and the language the page must be in.
LANGUAGES = [
    ({}, "en"),
    ({"Accept-Language": "fr-CH, fr;q=0.9, en;q=0.8"}, "fr"),
    ({"Accept-Language": "pt-BR,pt;q=0.9,de;q=0.7"}, "de"),  # the first the site has
    ({"Accept-Language": "zh-CN"}, "en"),
    # The language the visitor chose on the site wins over the browser's.
    ({"Accept-Language": "de", "Cookie": "sessionid=x; django_language=es"}, "es"),
]


def test_a_page_whose_role_is_away_says_so_in_the_visitors_language_and_tries_again(
    site, door_alone
) -> None:
    site_page = requests.get(f"{site.url}/", timeout=10)
    for headers, language in LANGUAGES:
        page = requests.get(f"{door_alone.url}/s/ABCD/", headers=headers, timeout=10)
        assert page.status_code == 503
        assert page.headers["Retry-After"] == "5"
        assert page.headers["Content-Type"] == "text/html; charset=utf-8"
        for name in SECURITY_HEADERS:  # the site's CSP: no script, nothing from elsewhere
            assert same_value(name, page.headers[name], site_page.headers[name]), name
        html = page.text
        assert f'<html lang="{language}">' in html, headers
        heading = in_language(language, "The site cannot take this right now")
        assert f"<h1>{heading}</h1>" in html
        assert f"<title>{in_language(language, 'Busy for a moment')} · " in html
        assert '<meta http-equiv="refresh" content="5">' in html
        assert '<meta name="viewport"' in html
        for outside in ("<script", "<link", "src=", "http:", "https:", "//"):
            assert outside not in html, outside


def test_a_form_sent_while_its_role_is_away_is_told_to_go_back_not_reloaded(door_alone) -> None:
    sent = requests.post(
        f"{door_alone.url}/polls/cats/vote/",
        data={"choice": "1"},
        headers={"Accept-Language": "de"},
        timeout=10,
    )
    assert sent.status_code == 503
    assert '<html lang="de">' in sent.text
    go_back = "What you sent may not have arrived: go back and send it again in a few seconds."
    assert in_language("de", go_back) in sent.text
    assert "refresh" not in sent.text  # a reload would not send the form again


def test_the_api_sockets_and_static_files_keep_their_plain_answers_when_a_role_is_away(
    door_alone,
) -> None:
    for path, content_type in [
        ("/api/polls/cats/results", "application/json"),
        ("/static/polls/session.js", "text/plain"),
        ("/ws/polls/cats/", "text/plain"),
    ]:
        answer = requests.get(
            f"{door_alone.url}{path}", headers={"Accept-Language": "de"}, timeout=10
        )
        assert answer.status_code == 503
        assert answer.headers["Content-Type"].startswith(content_type), path
        assert "<html" not in answer.text
        assert "unavailable for a moment" in answer.text


# --- Slow clients -----------------------------------------------------------------------


class SlowClients:
    """`count` sockets, half sending a request's headers a byte at a time, half sending
    whole headers then a body a byte at a time; one dropped by the door is opened again."""

    def __init__(self, url: str, count: int, path: str) -> None:
        self.address = host_port(url)
        self.host = url.removeprefix("http://")
        self.count = count
        self.path = path
        self.stop = threading.Event()
        self.reopened = 0
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _open(self, kind: int) -> socket.socket:
        sock = socket.create_connection(self.address, timeout=5)
        if kind % 2:  # a slow body: the headers at once, then a byte at a time
            sock.sendall(
                f"POST {self.path} HTTP/1.1\r\nHost: {self.host}\r\n"
                "Content-Type: application/json\r\nContent-Length: 60000\r\n\r\n".encode()
            )
        else:
            sock.sendall(f"GET /healthz HTTP/1.1\r\nHost: {self.host}\r\n".encode())
        sock.setblocking(False)
        return sock

    def _run(self) -> None:
        sockets = [self._open(i) for i in range(self.count)]
        while not self.stop.wait(0.1):
            for i, sock in enumerate(sockets):
                try:
                    sock.send(b"X" if i % 2 == 0 else b" ")
                except BlockingIOError:
                    pass
                except OSError:
                    sock.close()
                    sockets[i] = self._open(i)
                    self.reopened += 1
        for sock in sockets:
            sock.close()

    def __enter__(self) -> SlowClients:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(10)


def timed(call: Callable[[], requests.Response]) -> tuple[float, int]:
    started = time.monotonic()
    try:
        status = call().status_code
    except requests.RequestException:
        status = 0
    return time.monotonic() - started, status


def test_sixty_four_slow_clients_do_not_keep_other_voters_waiting(site, poll, slow) -> None:
    seconds = 30 if slow else 10
    choice = poll.choices.get(label="Cats")
    health: list[tuple[float, int]] = []
    votes: list[tuple[float, int]] = []
    with SlowClients(site.url, 64, f"/api/polls/{poll.slug}/vote") as attack:
        time.sleep(1)  # every slow socket is open
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            health.append(timed(lambda: requests.get(f"{site.url}/healthz", timeout=5)))
            votes.append(timed(lambda: Browser(site.url).vote_api(poll.slug, choice.pk)))
            time.sleep(0.1)
    latencies = sorted(t for t, _ in health + votes)
    p99 = latencies[int(len(latencies) * 0.99) - 1]
    print(
        f"\n64 slow clients for {seconds} s: {len(health)} health checks and {len(votes)} "
        f"votes, median {statistics.median(latencies) * 1000:.0f} ms, p99 {p99 * 1000:.0f} "
        f"ms, max {latencies[-1] * 1000:.0f} ms; slow sockets reopened {attack.reopened}"
    )
    assert {s for _, s in health} == {200}
    assert {s for _, s in votes} == {202}
    assert latencies[-1] < 5
    assert len(votes) >= seconds  # the window really was used


# --- Oversized bodies ------------------------------------------------------------------


def huge_post(url: str, path: str, *, chunked: bool) -> tuple[bytes, int, float]:
    """POSTs a 300 MB body (announced, or chunked and unannounced), sending until the door
    answers; returns its status line, the bytes sent and the seconds it took."""
    started = time.monotonic()
    total = 300 * MB
    framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {total}"
    with socket.create_connection(host_port(url), timeout=10) as sock:
        sock.sendall(
            f"POST {path} HTTP/1.1\r\nHost: {url[7:]}\r\n"
            f"Content-Type: application/octet-stream\r\n{framing}\r\n\r\n".encode()
        )
        piece = b"x" * (256 * 1024)
        chunk = f"{len(piece):x}\r\n".encode() + piece + b"\r\n" if chunked else piece
        sent = 0
        while sent < total:
            readable, writable, _ = select.select([sock], [sock], [], 10)
            if readable:
                break
            if not writable:
                raise AssertionError("the door neither read nor answered for 10 s")
            try:
                sent += sock.send(chunk)
            except OSError:
                break
        answer = sock.recv(65536)
    return answer.split(b"\r\n", 1)[0], sent, time.monotonic() - started


def test_ten_300_mb_posts_to_results_paths_are_refused_before_daphne_reads_them(
    site, poll: Poll
) -> None:
    results = psutil.Process(site.results.pid)
    before = results.memory_info().rss
    for i in range(10):
        path = f"/polls/{poll.slug}/results/" if i % 2 else f"/ws/polls/{poll.slug}/"
        status, sent, took = huge_post(site.url, path, chunked=i >= 5)
        print(f"POST {path} ({'chunked' if i >= 5 else 'announced'}): {status.decode()} "
              f"after {sent / MB:.1f} MB, {took:.2f} s")  # fmt: skip
        assert status == b"HTTP/1.1 413 Request Entity Too Large"
        assert sent < 10 * MB
    grown = (results.memory_info().rss - before) / MB
    print(f"results process grew {grown:.1f} MB")
    assert grown <= 10
    # The results role never saw them.
    assert "POST" not in site.results.output()
