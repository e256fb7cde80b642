"""The sealed chain's encoding and hashing, Django-free: the site appends with it, and
tests check the stand-alone verifier (tools/verify.py, which has its own copy of these
few lines on purpose) against it.

A poll's chain is a list of batches, one per transaction that stored events (a worker's
batch of ballots, an organiser's action). Each event is a JSON object; its hash is
SHA-256 of its canonical JSON (sorted keys, no spaces, UTF-8). A batch's hash is

    h_batch = SHA-256(h_prev ‖ H(event_1) ‖ … ‖ H(event_n))

over the raw 32-byte digests, and the first batch's h_prev is the poll's genesis,
SHA-256 of "votingsite-chain/1\\n<poll id>". The last batch's hash is the poll's seal.

On a secret-ballot poll (and on every text poll, whose entries moderation may take off
the pages) a counted ballot enters the chain only as a commitment:
SHA-256("<nonce>\\n<ballot's canonical JSON>"), the nonce being the vote's own (the one
that makes its receipt); without it a commitment cannot be matched against the few
ballots a poll allows.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from typing import Any

FORMAT = "votingsite-chain/1"

# Event types. A ballot's fate: counted (it is its voter's ballot now), replaced (by a
# later one of the same voter; if it was counted it no longer is), refused (never
# counted, with the worker's reason). Organiser actions that change counts follow.
COUNTED = "counted"
REPLACED = "replaced"
REFUSED = "refused"
RESET = "reset"
IMPORTED = "ballots imported"
RULES_CHANGED = "rules changed"
ANSWER_KEY = "answer key corrected"
CHOICE_DELETED = "choice deleted"
RECOUNTED = "recounted"


def canonical(value: Any) -> bytes:
    """The one byte form of a JSON value: sorted keys, no spaces, UTF-8 kept."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def digest(value: Any) -> str:
    """SHA-256 of a JSON value's canonical form, as lowercase hex."""
    return hashlib.sha256(canonical(value)).hexdigest()


def genesis(poll_id: int) -> str:
    """The h_prev of a poll's first batch."""
    return hashlib.sha256(f"{FORMAT}\n{poll_id}".encode()).hexdigest()


def event_hash(event: dict[str, Any]) -> str:
    return digest(event)


def batch_hash(previous: str, event_hashes: Sequence[str]) -> str:
    """h_batch = H(h_prev ‖ H(event_1) ‖ … ‖ H(event_n)), over the raw digests."""
    joined = bytes.fromhex(previous) + b"".join(bytes.fromhex(h) for h in event_hashes)
    return hashlib.sha256(joined).hexdigest()


def commitment(nonce: str, ballot: Any) -> str:
    """A ballot sealed by its vote's nonce: nothing to brute-force without the nonce."""
    return hashlib.sha256(nonce.encode() + b"\n" + canonical(ballot)).hexdigest()


def counted(*, vote_id: str, receipt: str, ballot: Any, nonce: str, sealed: bool) -> dict[str, Any]:
    """A ballot now counted: in the clear on a public poll, else its commitment (none for
    a ballot stored before receipts, which has no nonce to seal it with)."""
    event: dict[str, Any] = {"type": COUNTED, "vote": vote_id, "receipt": receipt}
    if not sealed:
        event["ballot"] = ballot
    else:
        event["commitment"] = commitment(nonce, ballot) if nonce else None
    return event


def replaced(*, vote_id: str, receipt: str) -> dict[str, Any]:
    return {"type": REPLACED, "vote": vote_id, "receipt": receipt}


def refused(*, vote_id: str, receipt: str, reason: str) -> dict[str, Any]:
    return {"type": REFUSED, "vote": vote_id, "receipt": receipt, "reason": reason}


def organiser(action: str, payload: dict[str, Any]) -> dict[str, Any]:
    """An organiser's action: its name and what it says (JSON values only)."""
    if "type" in payload:
        raise ValueError("an organiser event's payload may not hold `type`")
    return {"type": action, **payload}


def link(previous: str, events: Iterable[dict[str, Any]]) -> tuple[list[str], str]:
    """The events' hashes and the batch's hash after `previous`."""
    hashes = [event_hash(event) for event in events]
    return hashes, batch_hash(previous, hashes)


def first_break(
    poll_id: int, batches: Iterable[tuple[int, str, str, Sequence[dict[str, Any]], Sequence[str]]]
) -> str | None:
    """Where a stored chain does not fit, in words, or None: each batch as (index, prev,
    hash, events, event hashes), in order."""
    previous = genesis(poll_id)
    expected = 1
    for index, prev, stored, events, hashes in batches:
        if index != expected:
            return f"chain batch {index}: expected batch {expected} here"
        if prev != previous:
            return f"chain batch {index}: its previous hash is not batch {index - 1}'s"
        if len(events) != len(hashes):
            return f"chain batch {index}: {len(events)} events but {len(hashes)} hashes"
        for number, (event, held) in enumerate(zip(events, hashes, strict=True), start=1):
            if event_hash(event) != held:
                return f"chain batch {index}, event {number} ({event.get('type')}): altered"
        if batch_hash(prev, hashes) != stored:
            return f"chain batch {index}: its hash does not fit its events"
        previous = stored
        expected += 1
    return None
