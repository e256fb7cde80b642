"""One fan-out client process: N WebSocket viewers of one poll or one live session's
audience (python -m bench.wsclient).

Prints `READY <connected> <failed>` once every viewer has its first snapshot, records
the arrival time (time.monotonic, one clock for all processes on Linux) of every later
message by seq (with --only-type, of the messages of that type only), and on the line
`REPORT` from stdin prints them as JSON and exits.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
import time
from collections import defaultdict

import uvloop
from picows import WSFrame, WSListener, WSMsgType, WSTransport, ws_connect

from .roles import raise_nofile_limit

# Bytes, not text: the payload is never decoded or parsed, only searched.
_SEQ = re.compile(rb'"seq":\s*(\d+)')


class _Viewer(WSListener):
    """One socket. picows (Cython, on uvloop) rather than websockets: with thousands of
    viewers on 2 shared cores, the client's cost per message must stay far below the
    server's, or the figure measures the client."""

    def __init__(self, arrivals: dict[int, list[float]], only: bytes) -> None:
        self.arrivals = arrivals
        self.only = only
        self.first: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        now = time.monotonic()
        if frame.msg_type != WSMsgType.TEXT:
            return
        if not self.first.done():  # the snapshot on connect
            self.first.set_result(None)
            return
        payload = frame.get_payload_as_bytes()
        if self.only and self.only not in payload:
            return
        match = _SEQ.search(payload)
        if match:
            self.arrivals[int(match.group(1))].append(now)

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        if not self.first.done():
            self.first.set_exception(ConnectionError("closed before the snapshot"))


async def viewer(  # noqa: PLR0917 (one task per viewer, all sharing the same state)
    url: str,
    origin: str,
    gate: asyncio.Semaphore,
    ready: list[int],
    arrivals: dict[int, list[float]],
    stop: asyncio.Event,
    only: str = "",
) -> None:
    transport = None
    for attempt in range(3):  # a refused handshake under a connect storm is retried
        try:
            async with gate:
                transport, listener = await ws_connect(  # a _Viewer, as made below
                    lambda: _Viewer(arrivals, only.encode()),
                    url,
                    extra_headers={"Origin": origin},
                    websocket_handshake_timeout=120,
                    read_buffer_init_size=4096,
                )
                if not isinstance(listener, _Viewer):
                    raise TypeError(listener)
                await asyncio.wait_for(listener.first, 120)
            break
        except Exception as exc:
            if transport is not None:
                transport.disconnect()
                transport = None
            if attempt == 2:
                ready[1] += 1
                print(f"viewer failed: {exc!r}", file=sys.stderr)
                return
            await asyncio.sleep(1 + attempt)
    if transport is None:
        return
    ready[0] += 1
    try:
        await stop.wait()
    finally:
        transport.disconnect()


async def main_async(url: str, origin: str, count: int, parallel: int, only_type: str) -> None:
    only = f'"type": "{only_type}"' if only_type else ""
    gate = asyncio.Semaphore(parallel)
    ready = [0, 0]
    arrivals: dict[int, list[float]] = defaultdict(list)
    stop = asyncio.Event()
    tasks = [
        asyncio.create_task(viewer(url, origin, gate, ready, arrivals, stop, only))
        for _ in range(count)
    ]
    deadline = time.monotonic() + 300
    while sum(ready) < count and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    print(f"READY {ready[0]} {ready[1]}", flush=True)
    while True:
        line = await asyncio.to_thread(sys.stdin.readline)
        if not line or line.strip() == "REPORT":
            break
    print(json.dumps({"connected": ready[0], "arrivals": arrivals}), flush=True)
    stop.set()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--origin", required=True)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--parallel", type=int, default=50)
    parser.add_argument("--only-type", default="", help='record only messages of this "type"')
    args = parser.parse_args()
    raise_nofile_limit()
    uvloop.run(main_async(args.url, args.origin, args.count, args.parallel, args.only_type))


if __name__ == "__main__":
    main()
