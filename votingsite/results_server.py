"""The results role's server: daphne's command line, on uvloop's event loop.

Daphne runs Twisted on an asyncio loop made when daphne.server is imported, from the
loop policy in force then; this sets uvloop's policy first. Each WebSocket send ends in
Twisted registering the socket for writing and unregistering it once written: on the
standard selector loop that is Python code and two epoll calls per message, the largest
share of a fan-out's time (docs/performance.md).
"""

from __future__ import annotations

import asyncio

import uvloop


def main() -> None:
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    from daphne.cli import CommandLineInterface  # noqa: PLC0415 (after the policy: see above)

    CommandLineInterface.entrypoint()


if __name__ == "__main__":
    main()
