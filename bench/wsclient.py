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

from websockets.asyncio.client import connect
from websockets.typing import Origin

from .roles import raise_nofile_limit

_SEQ = re.compile(r'"seq":\s*(\d+)')


async def viewer(  # noqa: PLR0917 (one task per viewer, all sharing the same state)
    url: str,
    origin: str,
    gate: asyncio.Semaphore,
    ready: list[int],
    arrivals: dict[int, list[float]],
    stop: asyncio.Event,
    only: str = "",
) -> None:
    ws = None
    for attempt in range(3):  # a refused handshake under a connect storm is retried
        try:
            async with gate:
                ws = await connect(
                    url,
                    origin=Origin(origin),
                    open_timeout=120,
                    ping_interval=None,
                    compression=None,
                )
                await asyncio.wait_for(ws.recv(), 120)  # the snapshot on connect
            break
        except Exception as exc:
            if ws is not None:
                await ws.close()
                ws = None
            if attempt == 2:
                ready[1] += 1
                print(f"viewer failed: {exc!r}", file=sys.stderr)
                return
            await asyncio.sleep(1 + attempt)
    if ws is None:
        return
    ready[0] += 1
    try:
        while not stop.is_set():
            text = await ws.recv()
            now = time.monotonic()
            # A regex rather than json.loads keeps the client's cost per message tiny.
            text = text if isinstance(text, str) else text.decode()
            if only and only not in text:
                continue
            match = _SEQ.search(text)
            if match:
                arrivals[int(match.group(1))].append(now)
    except Exception:
        return
    finally:
        await ws.close()


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
    asyncio.run(main_async(args.url, args.origin, args.count, args.parallel, args.only_type))


if __name__ == "__main__":
    main()
