"""A vote as it travels from the web role through Redis to the worker, and the broker
message that carries a group of them to the `polls.record_votes` task.

The vote message, version 2 (a JSON object; the task's one argument is a list of them):

    v            2 (absent in version 1)
    vote_id      UUID string, unique per ballot cast: storing it twice changes nothing
    poll_id      integer
    choice_id    integer, for a single-choice ballot; else
    ballot_json  the ballot as canonical JSON text (`canonical_json`): an array of 1-64
                 JSON values, which the poll's kind reads (polls.kinds: Kind.from_message;
                 today's kinds hold integers, the next ones text and per-item states).
    ballot       the same ballot as a list of 1-64 integers, while it holds integers
                 only: what a worker of the release before reads (it ignores
                 `ballot_json`), and all that messages queued by that release carry
    voter_key    string, 1-64 characters, no NUL
    cast_at      ISO 8601 with a zone, the web host's clock: orders a voter's ballots
    admitted_ms  integer, Redis's clock (TIME inside the admission script), ms since 1970
    poll_version integer: the poll's admission version (polls.openness) it was admitted under
    receipt      10 characters of Crockford's base32 (polls.counting.receipts), and
    nonce        its random per-vote nonce (32 hex digits): both added by the receipts'
                 release (issue 37) without a new version; a message without them (queued
                 by the release before) stores a vote without a receipt

The worker judges "open when cast" by `poll_version` and `admitted_ms` alone: the version's
recorded state must admit a vote at that time (polls.pipeline.store). Versions only add
fields, and a worker ignores fields it does not know; a change that removes or redefines
one takes a new task name. In a rolling upgrade the workers go first: a version-1 message
(from a web pod of the release before, no `v`) is judged as that release judged it, by
`cast_at` against the poll's schedule and its live session's voting windows.

The message is built here without sending it: polls.pipeline.admission pushes it in the
same Redis round trip that admits its votes (stamping `admitted_ms` and `poll_version`
into the placeholders `"@t@"` and `"@v<n>@"`), instead of a second round trip through
`apply_async` (whose publish path costs ~0.5 ms of CPU per message here: a new redis-py
client per publish, retry wrappers, routing). Deliberately not the usual `apply_async`,
but built by Celery's and kombu's own functions (`as_task_v2`, kombu serialization, the
Redis channel's message preparation), so the result is what `apply_async` would LPUSH;
tests/app/test_admission.py checks that against a real `apply_async`. The body is not
base64-encoded (CELERY_BROKER_TRANSPORT_OPTIONS' body_encoding) so that the script can
stamp it.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any

import redis
from celery import current_app
from django.conf import settings
from kombu.exceptions import OperationalError
from kombu.serialization import dumps as serialize
from kombu.utils.json import dumps as json_dumps
from kombu.utils.uuid import uuid as message_id

# The worker's task (polls.tasks.record_votes is registered under this name).
TASK_NAME = "polls.record_votes"
VERSION = 2
# Where the admission script writes Redis's time and vote n's poll version (quoted JSON
# strings, also when escaped inside the envelope's body string).
_PLACEHOLDER = re.compile(r'\\?"@([tv]\d*)@\\?"')


@dataclass(frozen=True)
class QueuedVote:
    """A ballot as it travels through Redis (JSON) from the web role to the worker.

    `ballot` is what it says (polls.kinds), a tuple of JSON values; a single-choice vote
    also carries its `choice_id`, and travels as it always has (`choice_id`, no ballot).
    """

    vote_id: uuid.UUID
    poll_id: int
    choice_id: int | None
    voter_key: str
    cast_at: datetime
    ballot: tuple[Any, ...] = ()
    admitted_ms: int | None = None  # Redis's clock at admission (version 2)
    poll_version: int | None = None  # the admission version it was admitted under
    receipt: str = ""  # the voter's receipt (polls.counting.receipts); "" before receipts
    nonce: str = ""  # the per-vote nonce the receipt was computed with

    def __post_init__(self) -> None:
        if not self.ballot and self.choice_id is not None:
            object.__setattr__(self, "ballot", (self.choice_id,))

    def to_message(self) -> dict[str, Any]:
        message: dict[str, Any] = {"vote_id": str(self.vote_id), "poll_id": self.poll_id}
        if self.choice_id is not None:
            message["choice_id"] = self.choice_id
        else:
            message["ballot_json"] = canonical_json(list(self.ballot))
            if all(type(item) is int for item in self.ballot):
                message["ballot"] = list(self.ballot)  # for a worker of the release before
        message["voter_key"] = self.voter_key
        message["cast_at"] = self.cast_at.isoformat()
        if self.admitted_ms is not None and self.poll_version is not None:
            message.update(v=VERSION, admitted_ms=self.admitted_ms, poll_version=self.poll_version)
        if self.receipt:
            message.update(receipt=self.receipt, nonce=self.nonce)
        return message

    def to_admission_message(self, n: int) -> dict[str, Any]:
        """The message with placeholders the admission script fills in for vote `n`."""
        return {**self.to_message(), "v": VERSION, "admitted_ms": "@t@", "poll_version": f"@v{n}@"}

    @classmethod
    def from_message(cls, data: Any) -> QueuedVote:
        """Parse a message; raises ValueError for anything that is not a well-formed vote."""
        if not isinstance(data, dict):
            raise ValueError("vote message is not an object")
        try:
            poll_id = data["poll_id"]
            voter_key, cast_at_text = data["voter_key"], data["cast_at"]
            vote_id = uuid.UUID(str(data["vote_id"]))
        except (KeyError, ValueError, TypeError) as exc:
            raise ValueError(f"malformed vote message: {exc!r}") from None
        choice_id, ballot = _ballot_of(data)
        if type(poll_id) is not int:
            raise ValueError("poll_id and choice_id must be integers")
        if not isinstance(voter_key, str) or not 0 < len(voter_key) <= 64:
            raise ValueError("voter_key must be a non-empty string of at most 64 characters")
        if "\x00" in voter_key:  # Postgres text cannot hold it: the whole batch would fail
            raise ValueError("voter_key must not contain NUL")
        if not isinstance(cast_at_text, str):
            raise ValueError("cast_at must be an ISO 8601 string")
        cast_at = datetime.fromisoformat(cast_at_text)
        if cast_at.tzinfo is None:
            raise ValueError("cast_at must carry a time zone")
        admitted_ms, poll_version = data.get("admitted_ms"), data.get("poll_version")
        stamped = admitted_ms is not None or poll_version is not None
        if stamped and (type(admitted_ms) is not int or type(poll_version) is not int):
            raise ValueError("admitted_ms and poll_version must be integers")
        receipt, nonce = _receipt_of(data)
        return cls(
            vote_id,
            poll_id,
            choice_id,
            voter_key,
            cast_at,
            ballot,
            admitted_ms,
            poll_version,
            receipt,
            nonce,
        )

    @property
    def admitted_at(self) -> datetime | None:
        """When Redis admitted it, on Redis's clock (version 2)."""
        if self.admitted_ms is None:
            return None
        return datetime.fromtimestamp(self.admitted_ms / 1000, tz=UTC)

    @property
    def key(self) -> tuple[int, str]:
        return (self.poll_id, self.voter_key)

    @property
    def digest(self) -> str:
        """What the ballot says, in a form two ballots can be compared by: its integers
        joined by commas (as before ballots were JSON), else its canonical JSON."""
        if all(type(item) is int for item in self.ballot):
            return ",".join(map(str, self.ballot))
        return canonical_json(list(self.ballot))

    @property
    def order(self) -> tuple[datetime, str]:
        # The vote_id breaks ties between votes cast in the same microsecond.
        return (self.cast_at, str(self.vote_id))


# Longest ballot a message may carry: more than any poll's choices.
MAX_BALLOT_LENGTH = 64
MAX_BALLOT_JSON = 16_384  # characters of a ballot's JSON text


def _ballot_of(data: dict[str, Any]) -> tuple[int | None, tuple[Any, ...]]:
    """A message's (choice_id, ballot): a single choice, or a ballot of JSON values (its
    canonical JSON text; a list of integers in versions 1 and 2)."""
    if "choice_id" in data:
        choice_id = data["choice_id"]
        if type(choice_id) is not int:
            raise ValueError("poll_id and choice_id must be integers")
        return choice_id, (choice_id,)
    if "ballot_json" in data:
        text = data["ballot_json"]
        if not isinstance(text, str) or len(text) > MAX_BALLOT_JSON:
            raise ValueError(f"ballot_json is JSON text of at most {MAX_BALLOT_JSON} characters")
        try:
            ballot = json.loads(text)
        except (ValueError, RecursionError):
            raise ValueError("ballot_json is not JSON") from None
        if not isinstance(ballot, list) or not 0 < len(ballot) <= MAX_BALLOT_LENGTH:
            raise ValueError(f"a ballot is an array of 1 to {MAX_BALLOT_LENGTH} values")
        return None, tuple(ballot)
    ballot = data.get("ballot")
    if not isinstance(ballot, list) or not 0 < len(ballot) <= MAX_BALLOT_LENGTH:
        raise ValueError(f"a ballot is a list of 1 to {MAX_BALLOT_LENGTH} integers")
    if any(type(item) is not int or abs(item) >= 2**63 for item in ballot):
        raise ValueError("a ballot holds integers only")
    return None, tuple(ballot)


_RECEIPT = re.compile(r"^[0-9A-HJKMNP-TV-Z]{10}$")  # Crockford's base32, 10 characters
_NONCE = re.compile(r"^[0-9a-f]{1,64}$")


def _receipt_of(data: dict[str, Any]) -> tuple[str, str]:
    """A message's (receipt, nonce); ("", "") in a message from before receipts."""
    receipt, nonce = data.get("receipt"), data.get("nonce")
    if receipt is None and nonce is None:
        return "", ""
    if not isinstance(receipt, str) or not _RECEIPT.match(receipt):
        raise ValueError("receipt must be 10 characters of Crockford's base32")
    if not isinstance(nonce, str) or not _NONCE.match(nonce):
        raise ValueError("nonce must be 1-64 lower-case hex digits")
    return receipt, nonce


def canonical_json(value: Any) -> str:
    """The one JSON text of a ballot: sorted keys, no spaces, UTF-8 kept; "@" and "|"
    escaped (as \\u0040, \\u007c: the same JSON), so that no ballot can hold the
    admission script's placeholders ("@t@") or split a pending ballot's record
    (`state|vote id|cast_at|digest`, polls.pipeline.ballots)."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.replace("@", "\\u0040").replace("|", "\\u007c")


@cache
def _channel() -> Any:
    # Only shapes messages (priority, body encoding, delivery tag), as its publish would.
    # Its first use connects: a Redis that is down then is a RedisError like any other
    # (kombu says OperationalError), raised before anything was sent. One try, no
    # retries: kombu's default (about 6 s here) would hold the voter's 503 that long.
    try:
        connection = current_app.connection_for_write(transport_options={"max_retries": 0})
        return connection.default_channel
    except OperationalError as exc:
        raise redis.ConnectionError(f"the broker is not reachable: {exc}") from exc


@cache
def _delivery_mode() -> int:
    mode = current_app.conf.task_default_delivery_mode
    return {"transient": 1, "persistent": 2}.get(mode, mode)


def stamped(text: str, *, admitted_ms: int, versions: dict[int, int]) -> str:
    """What the admission script makes of a message: its placeholders filled in."""

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        return str(admitted_ms if name == "t" else versions[int(name[1:])])

    return _PLACEHOLDER.sub(fill, text)


def build_stamped(
    messages: list[dict[str, Any]],
    admitted_ms: int,
    *,
    versions: dict[int, int] | None = None,
    task_name: str = TASK_NAME,
) -> str:
    """The message for the admitted part of a group, stamped as the script stamps."""
    return stamped(build(messages, task_name), admitted_ms=admitted_ms, versions=versions or {})


def queue_name() -> str:
    """The Redis list the worker consumes (Celery's anonymous direct-exchange route)."""
    return str(settings.CELERY_TASK_DEFAULT_QUEUE)


def build(messages: list[dict[str, Any]], task_name: str = TASK_NAME) -> str:
    """What kombu's Redis transport would LPUSH for record_votes.apply_async((messages,))
    (or another task's, named: the Q&A actions', polls.pipeline.qna_message)."""
    headers, properties, body, _ = current_app.amqp.as_task_v2(
        message_id(),
        task_name,
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
