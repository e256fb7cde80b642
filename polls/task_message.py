"""The broker message of a `polls.record_votes` call, built without sending it.

polls.admission pushes it in the same Redis round trip that admits its votes, instead of
a second round trip through `apply_async` (whose publish path costs ~0.5 ms of CPU per
message here: a new redis-py client per publish, retry wrappers, routing). Deliberately
not the usual `apply_async`, but built by Celery's and kombu's own functions
(`as_task_v2`, kombu serialization, the Redis channel's message preparation), so the
result is what `apply_async` would LPUSH; tests/test_task_message.py checks that against
a real `apply_async`.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from celery import current_app
from django.conf import settings
from kombu.serialization import dumps as serialize
from kombu.utils.json import dumps as json_dumps
from kombu.utils.uuid import uuid

TASK_NAME = "polls.record_votes"


@cache
def _channel() -> Any:
    # Only shapes messages (priority, body encoding, delivery tag), as its publish would.
    return current_app.connection_for_write().default_channel


@cache
def _delivery_mode() -> int:
    mode = current_app.conf.task_default_delivery_mode
    return {"transient": 1, "persistent": 2}.get(mode, mode)


def queue_name() -> str:
    """The Redis list the worker consumes (Celery's anonymous direct-exchange route)."""
    return str(settings.CELERY_TASK_DEFAULT_QUEUE)


def build(messages: list[dict[str, Any]]) -> str:
    """What kombu's Redis transport would LPUSH for record_votes.apply_async((messages,))."""
    headers, properties, body, _ = current_app.amqp.as_task_v2(
        uuid(),
        TASK_NAME,
        args=(messages,),
        kwargs={},
        reply_to=current_app.thread_oid,
        ignore_result=current_app.conf.task_ignore_result,
        argsrepr="",
        kwargsrepr="",
    )
    content_type, content_encoding, payload = serialize(body, serializer="json")
    properties["delivery_mode"] = _delivery_mode()
    channel = _channel()
    message = channel.prepare_message(
        payload, 0, content_type, content_encoding, headers, properties
    )
    channel._inplace_augment_message(
        message, "", queue_name()
    )  # what basic_publish does before _put
    return str(json_dumps(message))
