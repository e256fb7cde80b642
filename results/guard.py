"""The way in of every WebSocket of the results role, cheap and before any consumer:

- one address holds at most WS_SOCKETS_PER_ADDRESS sockets on this process (generous: a
  venue puts its whole room behind one address; the next is accepted and closed with
  4429), and a socket that sends more than
  WS_MESSAGES_PER_SECOND messages (with a burst of WS_MESSAGES_BURST) is closed with
  4429. Honest pages send a message a minute at most ({"type": "sync"} after a hiccup);
- the socket's cookies, session and user are put in its scope, as Channels'
  AuthMiddlewareStack puts them (`identified`);
- a path no route serves is refused (4404), not a 500 with a traceback.

Counted per results process: add processes (or pods) and the limits add up with them.
Written here: Channels has no such limits, and daphne none per address.

One middleware, not one each: every layer of an ASGI stack stays suspended for the
socket's life with its own coroutine and, for Channels' middlewares, its own copy of
the scope, and a room holds thousands of idle sockets (docs/performance.md, "Memory
per socket").
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from importlib import import_module
from typing import Any

from channels.auth import get_user
from channels.routing import URLRouter
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.http import parse_cookie

from polls.ratelimits import address_block, scope_address

from . import fanout

logger = logging.getLogger(__name__)

CLOSE_TOO_MANY = 4429  # too many sockets from this address, or messages on this socket
CLOSE_NO_ROUTE = 4404

Scope = dict[str, Any]


async def identified(scope: Scope) -> Scope:
    """The scope with what Channels' AuthMiddlewareStack adds (`cookies`, `session`,
    `user`: CookieMiddleware, SessionMiddleware and AuthMiddleware, whose get_user this
    calls), in one copy. Nothing saves the session here, as there: Channels' wrapper
    saves it only with an HTTP response."""
    header = next((v for name, v in scope.get("headers", []) if name == b"cookie"), b"")
    cookies = parse_cookie(header.decode("latin1"))
    store = import_module(settings.SESSION_ENGINE).SessionStore
    key = cookies.get(settings.SESSION_COOKIE_NAME)
    scope = dict(scope, cookies=cookies, session=store(key))
    # Without a session cookie get_user finds no one: answered here, not by a turn on
    # the one database thread that a room joining at once queues on (issue 42).
    scope["user"] = await get_user(scope) if key else AnonymousUser()
    return scope


class SocketGuard:
    """Limits, identity, routing (see the module's notes), in front of the router."""

    def __init__(self, router: URLRouter) -> None:
        self.router = router
        self.open: Counter[str] = Counter()

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "websocket":
            await self.router(scope, receive, send)
            return
        address = address_block(scope_address(scope))
        if self.open[address] >= settings.WS_SOCKETS_PER_ADDRESS:
            logger.warning("refused a socket from %s: %d open", address, self.open[address])
            await receive()
            # Accepted, then closed: the page hears 4429 (a close before the accept would
            # reach it as daphne's 403 handshake, which says nothing of why).
            await send({"type": "websocket.accept"})
            await send({"type": "websocket.close", "code": CLOSE_TOO_MANY})
            return
        self.open[address] += 1
        limited = _Limited(receive, send, address)
        try:
            await self.router(await identified(scope), limited, send)
        except ValueError as exc:  # URLRouter's for a path no route serves
            if not str(exc).startswith("No route found for path"):
                raise
            await limited()  # the handshake's websocket.connect
            await send({"type": "websocket.close", "code": CLOSE_NO_ROUTE})
        except fanout.GONE as error:  # the phone left while its consumer sent (its first
            fanout.count_gone("a socket's own message", error)  # state): churn, as in the hub
        finally:
            self.open[address] -= 1
            if self.open[address] <= 0:
                del self.open[address]


class _Limited:
    """A socket's `receive`, at most WS_MESSAGES_PER_SECOND messages a second with a burst
    of WS_MESSAGES_BURST (a token bucket); past it the socket is closed with 4429 and its
    consumer hears a disconnect. One small object per socket (slots, no closure)."""

    __slots__ = ("address", "at", "burst", "closed", "rate", "receive", "send", "tokens")

    def __init__(self, receive: Any, send: Any, address: str) -> None:
        self.receive, self.send, self.address = receive, send, address
        self.rate, self.burst = settings.WS_MESSAGES_PER_SECOND, settings.WS_MESSAGES_BURST
        self.tokens = float(self.burst)
        self.at = time.monotonic()
        self.closed = False

    async def __call__(self) -> dict[str, Any]:
        message: dict[str, Any] = await self.receive()
        if message["type"] == "websocket.receive" and not self.take():
            if not self.closed:
                self.closed = True
                logger.warning("closed a socket from %s: too many messages", self.address)
                await self.send({"type": "websocket.close", "code": CLOSE_TOO_MANY})
            # The consumer hears the close as a disconnect, and stops.
            return {"type": "websocket.disconnect", "code": CLOSE_TOO_MANY}
        return message

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True
