"""A deadline on every Postgres call, kept by the client: a server that hangs (accepts
connections, answers nothing) must not hang the role that asked.

A frozen server enforces no statement_timeout, and its kernel still acknowledges TCP, so
neither keepalives nor tcp_user_timeout notice anything. psycopg2's wait callback (its
"green" mode) lets the client wait for each answer with a deadline instead: past it, the
connection is closed and the call fails with OperationalError, which every role already
treats as "database unavailable" (and Django then opens a new connection).

Written here: the libraries that install wait callbacks (psycogreen) serve gevent and
eventlet, not deadlines.
"""

from __future__ import annotations

import contextlib
import os
import select
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import psycopg2
from django.conf import settings
from psycopg2 import extensions

_local = threading.local()


def _seconds(connecting: bool) -> float:
    override = getattr(_local, "seconds", None)
    if override is not None:
        return float(override)
    if connecting:
        return float(settings.DATABASE_CONNECT_TIMEOUT)
    return float(settings.DATABASE_QUERY_TIMEOUT)


def wait_with_deadline(conn: Any) -> None:
    """psycopg2's wait callback: poll the connection until its answer is in, or give up."""
    seconds = _seconds(conn.status == extensions.STATUS_SETUP)
    deadline = time.monotonic() + seconds
    while True:
        state = conn.poll()
        if state == extensions.POLL_OK:
            return
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            _cut(conn)
            raise psycopg2.OperationalError(f"Postgres did not answer within {seconds:g} s")
        if state == extensions.POLL_READ:
            _wait_for(conn.fileno(), select.POLLIN, remaining)
        elif state == extensions.POLL_WRITE:
            _wait_for(conn.fileno(), select.POLLOUT, remaining)
        else:
            raise psycopg2.OperationalError(f"unexpected poll state {state}")


def _wait_for(fd: int, events: int, seconds: float) -> None:
    """Until the descriptor is ready or the time is up. poll(), not select(): a results
    process holding thousands of sockets opens its database connection on a descriptor
    above 1023, which select() refuses (ValueError: a 500 to the viewer connecting)."""
    poller = select.poll()
    poller.register(fd, events | select.POLLERR | select.POLLHUP)
    poller.poll(max(0.0, seconds) * 1000)


def _cut(conn: Any) -> None:
    """Break the connection so that nothing waits on it again (its close included, which
    would otherwise wait for the frozen server): shut its socket down, keep the descriptor,
    which libpq still owns and closes."""
    with contextlib.suppress(OSError), socket.socket(fileno=os.dup(conn.fileno())) as sock:
        sock.shutdown(socket.SHUT_RDWR)


@contextlib.contextmanager
def answer_within(seconds: float) -> Iterator[None]:
    """A shorter (or longer) deadline for the Postgres calls of this block, in this thread."""
    before = getattr(_local, "seconds", None)
    _local.seconds = seconds
    try:
        yield
    finally:
        _local.seconds = before


def install() -> None:
    extensions.set_wait_callback(wait_with_deadline)
