"""One room client process: N phones of a live session, through the front door
(python -m bench.roomclient). The "room" phase (bench/room.py) runs several, and
tests/roles/test_room.py one.

Each phone, from a loopback address of its own (127.<a>.<b>.<c>: the door's and the
roles' limits per address see a room of phones, not one machine), at a random moment in
the join window: loads the audience page with its own cookies, then every static file
the page names (script src, link href) that its cache does not hold (a file answered
with an immutable or max-age Cache-Control is kept for the run: no request the second
time), opens the session's socket, and is "joined" at its first session message. It
records every later message's arrival (time.monotonic: one clock for every process on
Linux) by type and seq. Commands on stdin (one a line), each answered by one JSON line:

    JOINED                  once every phone has joined or failed: join times, bytes
    VOTE <seconds> <ids>    every phone posts the current question's form (the page's
                            CSRF token, one of the comma-separated choice ids) at a
                            random moment within <seconds>: statuses, latencies, the
                            last accepted answer's time
    RECONNECT               from now on a phone whose socket drops opens it again as
                            socket.js does (a random delay up to 0.5 s x 2^attempt,
                            at most 10 s, until it is back)
    BACK <seconds>          once every dropped phone is back (its first session message
                            again), or after <seconds>: when each dropped and came back
    WATCH <slug>            from now on each phone keeps the arrival and total of every
                            results message of that poll apart (not in REPORT's
                            arrivals: 20 s at 500 votes/s is hundreds of messages a
                            phone); another poll's, late, is not counted
    FRESH <base> <json>     cast → shown (bench/shown.py) for the accepted votes whose
                            202 arrival times <json> lists, on a poll that had <base>
                            votes: a histogram over phones and votes, each total's
                            first and last arrival on a phone, messages a phone; stops
                            WATCH
    REPORT                  the arrivals of every session and results message; exits
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import itertools
import json
import random
import re
import socket
import statistics
import sys
import time
from collections import Counter, defaultdict
from typing import Any
from urllib.parse import urlencode, urlsplit

import uvloop
from picows import WSError, WSFrame, WSListener, WSMsgType, WSTransport, ws_connect

from . import shown
from .roles import raise_nofile_limit

SOCKET_ATTEMPTS = 8
_SEQ = re.compile(rb'"seq":\s*(\d+)')
_TYPE = re.compile(rb'"type":\s*"([a-z._]+)"')
_SLUG = re.compile(rb'"poll":\s*\{"slug":\s*"([^"]+)"')
TOTAL = re.compile(rb'"total":\s*(\d+)')  # a results snapshot's first "total" is the poll's
_POLL = re.compile(rb'"poll":\s*"([^"]+)"')  # and its first "poll" the poll's slug
_ASSETS = re.compile(r'<(?:script[^>]*\ssrc|link[^>]*\shref)="(/static/[^"]+)"')
_CSRF = re.compile(r'id="session-csrf" value="([^"]+)"')


def address(index: int) -> str:
    """Phone `index`'s loopback address: 127.1.0.1, 127.1.0.2, ... 254 a block."""
    return f"127.{1 + index // 64516}.{index // 254 % 254}.{1 + index % 254}"


class Http:
    """A keep-alive HTTP/1.1 connection from one source address: just enough client for
    a phone (Content-Length or chunked bodies, Set-Cookie kept), cheap per request."""

    def __init__(self, host: str, port: int, source: str) -> None:
        self.host, self.port, self.source = host, port, source
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.cookies: dict[str, str] = {}
        self.received = 0  # bytes off the wire (headers and body as sent)

    async def request(
        self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        for attempt in (0, 1):  # a keep-alive connection the door closed: once more
            try:
                return await self._request(method, path, body, headers or {})
            except (ConnectionError, asyncio.IncompleteReadError):
                self.close()
                if attempt:
                    raise
        raise AssertionError("unreachable")

    async def _request(
        self, method: str, path: str, body: bytes, headers: dict[str, str]
    ) -> tuple[int, dict[str, str], bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(
                self.host, self.port, local_addr=(self.source, 0)
            )
        if self.reader is None:
            raise ConnectionError("not connected")
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}",
                 "Accept-Encoding: gzip", "Accept-Language: en"]  # fmt: skip
        if self.cookies:
            lines.append("Cookie: " + "; ".join(f"{k}={v}" for k, v in self.cookies.items()))
        lines += [f"{k}: {v}" for k, v in headers.items()]
        if body:
            lines.append(f"Content-Length: {len(body)}")
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        head = await self.reader.readuntil(b"\r\n\r\n")
        self.received += len(head)
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        status = int(status_line.split()[1])
        got: dict[str, str] = {}
        for line in header_lines:
            if ":" in line:
                name, value = line.split(":", 1)
                name = name.strip().lower()
                if name == "set-cookie":
                    pair = value.strip().split(";", 1)[0]
                    key, _, val = pair.partition("=")
                    self.cookies[key] = val
                got[name] = value.strip()
        if "content-length" in got:
            data = await self.reader.readexactly(int(got["content-length"]))
            self.received += len(data)
        elif got.get("transfer-encoding") == "chunked":
            data = await self._chunked()
        else:
            data = b""
        if got.get("connection") == "close":
            self.close()
        if got.get("content-encoding") == "gzip":
            data = gzip.decompress(data)
        return status, got, data

    async def _chunked(self) -> bytes:
        if self.reader is None:
            raise ConnectionError("not connected")
        parts: list[bytes] = []
        while True:
            line = await self.reader.readuntil(b"\r\n")
            size = int(line.split(b";")[0], 16)
            chunk = await self.reader.readexactly(size + 2)
            self.received += len(line) + len(chunk)
            if size == 0:
                return b"".join(parts)
            parts.append(chunk[:-2])

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


class _Socket(WSListener):
    def __init__(self, phone: Phone) -> None:
        self.phone = phone

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        now = time.monotonic()
        if frame.msg_type != WSMsgType.TEXT:
            return
        payload = frame.get_payload_as_bytes()
        self.phone.received += len(payload)
        kind = _TYPE.search(payload)
        seq = _SEQ.search(payload)
        if kind is None or seq is None:
            return
        name = kind.group(1).decode()
        if name == "results" and self.phone.watching:
            total, poll = TOTAL.search(payload), _POLL.search(payload)
            if total is not None and poll is not None and poll.group(1) == self.phone.watched:
                self.phone.shown.append((now, int(total.group(1))))
            return
        if name == "results":
            self.phone.results_times.append(now)
        if name == "session":
            slug = _SLUG.search(payload)
            self.phone.slug = slug.group(1).decode() if slug else ""
            if not self.phone.joined.done():
                self.phone.joined.set_result(now)
                return
            if self.phone.dropped_at is not None and self.phone.back_at is None:
                self.phone.back_at = now  # a reconnect's first state: not an action's
                return
        self.phone.arrivals[f"{name}:{int(seq.group(1))}"] = now

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        phone = self.phone
        phone.closed = True
        if not phone.joined.done():
            phone.joined.set_exception(ConnectionError("closed before the session state"))
        elif phone.reconnect and not phone.leaving and phone.transport is transport:
            phone.dropped_at, phone.back_at = time.monotonic(), None
            phone.transport = None
            phone.rejoining = asyncio.get_running_loop().create_task(phone.rejoin())


class Phone:
    def __init__(self, index: int, door: str, code: str, cache: bool) -> None:
        url = urlsplit(door)
        self.door, self.code = door, code
        self.host, self.port = url.hostname or "127.0.0.1", url.port or 80
        self.source = address(index)
        self.http = Http(self.host, self.port, self.source)
        self.cache: dict[str, bool] = {}
        self.use_cache = cache
        self.joined: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self.arrivals: dict[str, float] = {}
        self.results_times: list[float] = []  # every results snapshot's arrival
        self.received = 0  # socket bytes
        self.slug = ""
        self.csrf = ""
        self.closed = False
        self.transport: WSTransport | None = None
        self.static_requests = 0
        self.retries = 0  # socket handshakes tried again
        self.reconnect = False  # open the socket again when it drops (RECONNECT)
        self.leaving = False
        self.dropped_at: float | None = None
        self.back_at: float | None = None
        self.reconnect_attempts = 0
        self.rejoining: asyncio.Task[None] | None = None
        self.watching = False  # WATCH: results messages go to `shown`...
        self.watched = b""  # ...those of this poll (its slug)
        self.shown: list[tuple[float, int]] = []  # (arrival, total)

    async def join(self) -> dict[str, Any]:
        began = time.monotonic()
        status, _headers, page = await self.http.request("GET", f"/s/{self.code}/")
        if status != 200:
            raise RuntimeError(f"the audience page answered {status}")
        html = page.decode()
        token = _CSRF.search(html)
        self.csrf = token.group(1) if token else ""
        page_done = time.monotonic()
        for asset in dict.fromkeys(_ASSETS.findall(html)):
            if self.cache.get(asset):
                continue
            got, headers, _ = await self.http.request("GET", asset)
            self.static_requests += 1
            if got != 200:
                raise RuntimeError(f"{asset} answered {got}")
            kept = headers.get("cache-control", "")
            self.cache[asset] = self.use_cache and ("immutable" in kept or "max-age" in kept)
        statics_done = time.monotonic()
        # As socket.js does: a refused or dropped handshake is tried again after a random
        # delay up to min(10 s, 0.5 s x 2^attempt) (full jitter).
        for attempt in range(SOCKET_ATTEMPTS):
            try:
                await self._open()
                break
            except (OSError, WSError) as error:
                self.retries += 1
                if attempt == SOCKET_ATTEMPTS - 1:
                    raise ConnectionError(f"the socket, {SOCKET_ATTEMPTS} times") from error
                await asyncio.sleep(random.uniform(0, min(10.0, 0.5 * 2**attempt)))
        joined = await asyncio.wait_for(self.joined, 120)
        return {"join": joined - began, "page": page_done - began, "retries": self.retries,
                "statics": statics_done - page_done, "http_bytes": self.http.received}  # fmt: skip

    async def _open(self) -> None:
        cookie = "; ".join(f"{k}={v}" for k, v in self.http.cookies.items())
        transport, listener = await ws_connect(
            lambda: _Socket(self),
            f"ws://{self.host}:{self.port}/ws/s/{self.code}/",
            extra_headers={"Origin": self.door, "Cookie": cookie},
            websocket_handshake_timeout=120,
            read_buffer_init_size=4096,
            socket_factory=lambda _url: _connected(self.source, self.host, self.port),
        )
        if listener is None or transport.is_disconnected:
            # picows 2.3 returns, with no listener and never a disconnect callback, when
            # the connection closes before the upgrade's answer (the door dropped it while
            # a results process stopped), and a close just after it found no transport
            # to reconnect: a browser's onclose either way, so socket.js tries again.
            if self.joined.done() and self.joined.exception() is not None:
                self.joined = asyncio.get_running_loop().create_future()
            raise ConnectionError("closed during the handshake")
        self.transport = transport

    async def rejoin(self) -> None:
        """After a drop, as socket.js: tried again until open (back at its first state)."""
        for attempt in range(1_000):
            await asyncio.sleep(random.uniform(0, min(10.0, 0.5 * 2**attempt)))
            self.reconnect_attempts += 1
            try:
                await self._open()
                return
            except (OSError, WSError):
                continue

    async def vote(self, choice: str) -> tuple[int, float, float]:
        body = urlencode({"csrfmiddlewaretoken": self.csrf, "choice": choice,
                          "next": f"/s/{self.code}/"}).encode()  # fmt: skip
        began = time.monotonic()
        status, _headers, _ = await self.http.request(
            "POST", f"/polls/{self.slug}/vote/", body,
            {"Content-Type": "application/x-www-form-urlencoded", "Origin": self.door,
             "Referer": f"{self.door}/s/{self.code}/"},
        )  # fmt: skip
        done = time.monotonic()
        return status, done - began, done


async def _connected(source: str, host: str, port: int) -> socket.socket:
    """The socket's TCP connection, from the phone's own address."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setblocking(False)
    sock.bind((source, 0))
    await asyncio.get_running_loop().sock_connect(sock, (host, port))
    return sock


async def first_load(door: str, paths: list[str], source: str = "127.0.0.1") -> dict[str, int]:
    """Bytes off the wire (compressed where the door compresses) of each page's first load
    with an empty cache: the page and every static file it names, from a new client."""
    url = urlsplit(door)
    sizes = {}
    for path in paths:
        http = Http(url.hostname or "127.0.0.1", url.port or 80, source)
        _status, _headers, page = await http.request("GET", path)
        for asset in dict.fromkeys(_ASSETS.findall(page.decode())):
            await http.request("GET", asset)
        sizes[path] = http.received
        http.close()
    return sizes


async def _vote(
    phone: Phone, rng: random.Random, seconds: float, ids: list[str], failures: Counter[str]
) -> tuple[int, float, float]:
    """One phone's vote at a random moment of the burst: (status, seconds, when done);
    status 0 when the connection failed."""
    await asyncio.sleep(rng.uniform(0, seconds))
    try:
        return await phone.vote(rng.choice(ids))
    except (OSError, asyncio.IncompleteReadError, ValueError) as error:
        failures[f"{type(error).__name__}: {error}"[:80]] += 1
        return 0, 0.0, time.monotonic()


async def main_async(args: argparse.Namespace) -> None:
    rng = random.Random(args.first)
    phones = [
        Phone(args.first + i, args.door, args.code, not args.no_cache) for i in range(args.count)
    ]
    joins: list[dict[str, Any]] = []
    failures: list[str] = []
    gate = asyncio.Semaphore(args.parallel)

    async def join(phone: Phone) -> None:
        await asyncio.sleep(rng.uniform(0, args.join_seconds))
        try:
            async with gate:
                joins.append(await phone.join())
        except Exception as exc:
            failures.append(repr(exc))

    await asyncio.gather(*(join(p) for p in phones))
    static_requests = sum(p.static_requests for p in phones)
    print(json.dumps({"joins": joins, "failures": failures[:20], "failed": len(failures),
                      "static_requests": static_requests}), flush=True)  # fmt: skip
    while True:
        line = (await asyncio.to_thread(sys.stdin.readline)).split()
        if not line or line[0] == "REPORT":
            break
        if line[0] == "RECONNECT":
            for phone in phones:
                phone.reconnect = True
            print(json.dumps({"ok": True}), flush=True)
        if line[0] == "BACK":
            deadline = time.monotonic() + float(line[1])
            while time.monotonic() < deadline and any(
                p.dropped_at is not None and p.back_at is None for p in phones
            ):
                await asyncio.sleep(0.1)
            dropped = [p for p in phones if p.dropped_at is not None]
            print(json.dumps({
                "dropped_at": [p.dropped_at for p in dropped],
                "back_at": [p.back_at for p in dropped if p.back_at is not None],
                "not_back": sum(p.back_at is None for p in dropped),
                "attempts": sum(p.reconnect_attempts for p in dropped),
            }), flush=True)  # fmt: skip
        if line[0] == "WATCH":
            for phone in phones:  # the phones whose socket is open
                phone.watching, phone.shown = phone.transport is not None, []
                phone.watched = line[1].encode()
            print(json.dumps({"ok": True}), flush=True)
        if line[0] == "FRESH":
            print(
                json.dumps(_fresh(phones, int(line[1]), json.loads("".join(line[2:])))), flush=True
            )
        if line[0] == "VOTE":
            seconds, ids = float(line[1]), line[2].split(",")
            voting = [p for p in phones if p.transport is not None]
            unanswered: Counter[str] = Counter()  # votes with no answer (status 0), by error
            done = await asyncio.gather(*(_vote(p, rng, seconds, ids, unanswered) for p in voting))
            print(json.dumps({"votes": done, "failures": unanswered}), flush=True)
    arrivals: dict[str, list[float]] = defaultdict(list)
    for phone in phones:
        for key, at in phone.arrivals.items():
            arrivals[key].append(at)
    print(json.dumps({
        "arrivals": arrivals,
        "results_times": [p.results_times for p in phones],
        "closed": sum(p.closed for p in phones),
        "socket_bytes": sum(p.received for p in phones),
        "http_bytes": sum(p.http.received for p in phones),
    }), flush=True)  # fmt: skip
    for phone in phones:
        phone.leaving = True
        if phone.rejoining is not None:
            phone.rejoining.cancel()
        if phone.transport is not None:
            phone.transport.disconnect()
        phone.http.close()


def _fresh(phones: list[Phone], base: int, accepted: list[float]) -> dict[str, Any]:
    """FRESH: this client's part of cast → shown; the phones stop watching."""
    histogram = shown.Histogram()
    first: dict[int, float] = {}
    last: dict[int, float] = {}
    watching = [p for p in phones if p.watching]
    for phone in watching:
        phone.watching = False
        histogram.add(accepted, base, phone.shown)
        for at, total in phone.shown:
            if at < first.get(total, float("inf")):
                first[total] = at
            if at > last.get(total, 0.0):
                last[total] = at
    messages = [len(p.shown) for p in watching]
    # How often each phone got newer results: the hand-out's round as a phone sees it
    # (a round may switch to newer results half-way: results.fanout).
    every = [
        statistics.median(b[0] - a[0] for a, b in itertools.pairwise(p.shown))
        for p in watching
        if len(p.shown) > 1
    ]
    for phone in phones:
        phone.shown = []
    return {"histogram": histogram.to_json(), "first": first, "last": last,
            "messages": messages, "every": every}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--door", required=True, help="the front door, http://host:port")
    parser.add_argument("--code", required=True, help="the session's join code")
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--first", type=int, default=0, help="the first phone's index")
    parser.add_argument("--join-seconds", type=float, default=5.0)
    parser.add_argument("--parallel", type=int, default=200)
    parser.add_argument("--no-cache", action="store_true", help="fetch statics every time")
    args = parser.parse_args()
    raise_nofile_limit()
    uvloop.run(main_async(args))


if __name__ == "__main__":
    main()
