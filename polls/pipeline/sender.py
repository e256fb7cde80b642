"""Group sending: votes (or Q&A actions) taken at the same moment by one web process travel
as one message.

A request thread that finds nobody sending becomes the sender: it takes every vote
waiting (its own included, up to max_batch), sends them in one call and wakes their
requests, each with its own item's result. Votes arriving meanwhile wait for the next
send, which the next waiting request makes. There is no timer: under light load a vote
goes alone at once; under load batches grow by themselves. Every request still returns
only once its own vote was sent (or raises what the send raised), so "accepted" keeps
meaning "in Redis".

(Written here: the task-batching libraries batch on the consuming side; celery-batches
does that in the worker. This is the producing side.)
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

from django.conf import settings

from . import qna_admission
from .admission import Entry, admit_and_queue
from .answers import Unsent
from .qna_admission import QnaEntry

# Longest a caller waits for a send that took its item (sends time out long before).
_IN_FLIGHT_BACKSTOP_SECONDS = 60.0

T = TypeVar("T")
R = TypeVar("R")


class NotSent(Unsent, TimeoutError):
    """No send took the item in time: it was withdrawn, never sent."""


class _Slot(Generic[T, R]):
    __slots__ = ("done", "error", "item", "lead", "result")

    def __init__(self, item: T) -> None:
        self.item = item
        self.done = threading.Event()
        self.lead = False
        self.error: BaseException | None = None
        self.result: R | None = None


class GroupSender(Generic[T, R]):
    """`send` takes a batch and returns one result per item, in order."""

    def __init__(self, send: Callable[[Sequence[T]], Sequence[R]], *, max_batch: int) -> None:
        self._send = send
        self._max_batch = max_batch
        self._lock = threading.Lock()
        self._waiting: list[_Slot[T, R]] = []
        self._sending = False

    def send(self, item: T, *, timeout: float = 30.0) -> R:
        """Return `item`'s result once it was sent (with others); raise what its send raised,
        or NotSent when no send took it within `timeout` seconds (then it is withdrawn:
        never sent). Once a send has taken it, the send's own answer or failure decides."""
        slot: _Slot[T, R] = _Slot(item)
        with self._lock:
            self._waiting.append(slot)
            slot.lead = not self._sending
            self._sending = True
        if not slot.lead and not slot.done.wait(timeout):
            with self._lock:
                waiting = slot in self._waiting
                if waiting:
                    # Withdrawn: never sent, and never picked to lead the next send.
                    self._waiting.remove(slot)
            if waiting:
                raise NotSent("the vote was not sent in time")
            # A send took it already: its answer (or its failure) is the truth, and the
            # send is bounded by its own timeout; giving up here could answer "not taken"
            # for a vote Redis took (a thread starved of CPU hears the answer late).
            if not slot.done.wait(_IN_FLIGHT_BACKSTOP_SECONDS):
                raise TimeoutError("the send carrying the vote did not return")
        if slot.lead:
            self._lead(slot)
        if slot.error is not None:
            raise slot.error
        return slot.result  # type: ignore[return-value]  # set by the send that carried it

    def _lead(self, own: _Slot[T, R]) -> None:
        """Send batches until our own item went out, then hand the role on."""
        own.done.clear()
        while not own.done.is_set():
            with self._lock:
                batch = self._waiting[: self._max_batch]
                del self._waiting[: self._max_batch]
            error: BaseException | None = None
            results: list[R | None]
            try:
                results = list(self._send([s.item for s in batch]))
                if len(results) != len(batch):
                    raise RuntimeError(f"{len(results)} results for {len(batch)} items")
            except Exception as exc:
                error = exc
                results = [None] * len(batch)
            for slot, result in zip(batch, results, strict=True):
                slot.result = result
                slot.error = error
                slot.done.set()
        with self._lock:
            if self._waiting:
                # The next waiting request sends next; it wakes with lead set.
                successor = self._waiting[0]
                successor.lead = True
                successor.done.set()
            else:
                self._sending = False


_sender: GroupSender[Entry, int] = GroupSender(
    admit_and_queue, max_batch=settings.VOTE_SEND_MAX_BATCH
)


def queue_vote(entry: Entry, *, timeout: float) -> int:
    """The web side's way in: admits the vote and queues it, along with any other votes
    this process took at the same moment, in one round trip to Redis. Returns the
    admission's code for it (0 once it is in Redis; polls.pipeline.admission); raises if
    Redis does not answer, or no send carried it within `timeout` seconds."""
    return _sender.send(entry, timeout=timeout)


# Q&A actions go in groups of their own (another script, another task).
_qna_sender: GroupSender[QnaEntry, int] = GroupSender(
    qna_admission.admit_and_queue, max_batch=settings.VOTE_SEND_MAX_BATCH
)


def queue_qna(entry: QnaEntry, *, timeout: float) -> int:
    """Admit a Q&A action and queue it, as queue_vote does a vote."""
    return _qna_sender.send(entry, timeout=timeout)
