"""Live results in process: async test bodies on their own loop, a results socket's next
message, votes stored as the worker stores them, and a probe on this process's hub
(results.fanout). Shared by the app tier's live tests."""

from __future__ import annotations

import asyncio
import functools
import itertools
import json
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, ParamSpec

from asgiref.sync import async_to_sync, sync_to_async
from channels.testing import WebsocketCommunicator
from django.utils import timezone

from polls.live import events
from polls.models import Choice, Poll
from polls.pipeline.message import QueuedVote
from polls.pipeline.store import record_votes
from results import fanout

P = ParamSpec("P")


# Generous: only a broken system waits this long; a working one answers at once.
TIMEOUT = 15


_voters = itertools.count()


def run_async(test: Callable[P, Awaitable[None]]) -> Callable[P, None]:
    """Run an async test body on its own event loop (the consumer and the layer share it)."""

    @functools.wraps(test)
    def run(*args: P.args, **kwargs: P.kwargs) -> None:
        async_to_sync(test)(*args, **kwargs)

    return run


async def receive(ws: WebsocketCommunicator) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(await ws.receive_from(timeout=TIMEOUT))
    return message


@sync_to_async
def cast(poll: Poll, *labels: str) -> None:
    """Store one vote per label, by new voters, in one worker transaction."""
    choices = {c.label: c.pk for c in Choice.objects.filter(poll=poll)}
    record_votes(
        QueuedVote(uuid.uuid4(), poll.pk, choices[label], f"anon:v{next(_voters)}", timezone.now())
        for label in labels
    )


class HubProbe:
    """A viewer of its own on this process's hub of a poll (results.fanout): tells when the
    hub has handed an update out, which it does to every local viewer in the same round."""

    def __init__(self, poll: Poll) -> None:
        self.poll_id = poll.pk
        self.seqs: asyncio.Queue[int] = asyncio.Queue()

    async def __call__(self, event: dict[str, Any]) -> None:
        await self.seqs.put(event["seq"])

    async def __aenter__(self) -> HubProbe:
        await fanout.watch(events.group_name(self.poll_id), self)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await fanout.unwatch(events.group_name(self.poll_id), self)

    async def handed_out(self, seq: int) -> None:
        while await asyncio.wait_for(self.seqs.get(), TIMEOUT) != seq:
            pass


def votes_of(message: dict[str, Any]) -> dict[str, int]:
    return {c["label"]: c["votes"] for c in message["choices"]}
