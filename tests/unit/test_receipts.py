"""A receipt's format, as a table: 10 characters of Crockford's base32 from SHA-256 over
the poll, the vote id, the canonical ballot and a per-vote nonce; shown in two groups;
read back forgiving case, spaces, hyphens and look-alikes; carried in the vote message
as additive fields (a message from before receipts still parses)."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime

import pytest

from polls.counting import receipts
from polls.pipeline.message import QueuedVote

VOTE_ID = "6f1c1f4e-8f6a-4a49-9d43-2b1f8a2c9e10"
NONCE = "00112233445566778899aabbccddeeff"


def test_a_receipt_is_the_first_50_bits_of_sha256_over_its_four_inputs_in_crockford_base32() -> (
    None
):
    text = f"7\n{VOTE_ID}\n[3]\n{NONCE}".encode()
    bits = int.from_bytes(hashlib.sha256(text).digest()[:8], "big") >> 14
    expected = "".join(
        "0123456789ABCDEFGHJKMNPQRSTVWXYZ"[(bits >> (5 * i)) & 31] for i in range(9, -1, -1)
    )
    assert receipts.receipt_for(7, VOTE_ID, "[3]", NONCE) == expected
    assert len(expected) == 10


@pytest.mark.parametrize(
    ("changed", "args"),
    [
        ("poll", (8, VOTE_ID, "[3]", NONCE)),
        ("vote id", (7, str(uuid.UUID(int=1)), "[3]", NONCE)),
        ("ballot", (7, VOTE_ID, "[4]", NONCE)),
        ("nonce", (7, VOTE_ID, "[3]", "ff" * 16)),
    ],
)
def test_each_input_changes_the_receipt(changed: str, args: tuple) -> None:
    assert receipts.receipt_for(*args) != receipts.receipt_for(7, VOTE_ID, "[3]", NONCE), changed


def test_receipts_use_no_ambiguous_characters_and_nonces_are_fresh() -> None:
    codes = {receipts.receipt_for(1, VOTE_ID, "[1]", receipts.new_nonce()) for _ in range(2000)}
    assert len(codes) == 2000  # 50 bits: no repeat in 2,000
    assert not set("".join(codes)) & set("ILOU")
    assert len(receipts.new_nonce()) == 32


@pytest.mark.parametrize(
    ("typed", "read"),
    [
        ("ABCDE-FGHJK", "ABCDEFGHJK"),
        ("abcde fghjk", "ABCDEFGHJK"),
        (" abcdefghjk ", "ABCDEFGHJK"),
        ("O1I2L-34567", "0112134567"),  # Crockford's look-alikes: O is 0, I and L are 1
        ("ABCDE-FGHJ", None),  # too short
        ("ABCDE-FGHJKM", None),  # too long
        ("ABCDE-FGHJU", None),  # U is no character of it
        ("ABCDE_FGHJK", None),
        ("", None),
    ],
)
def test_a_typed_receipt_is_read_forgivingly_or_not_at_all(typed: str, read: str | None) -> None:
    assert receipts.parsed(typed) == read


def test_a_receipt_is_shown_in_two_groups_of_five() -> None:
    assert receipts.grouped("ABCDEFGHJK") == "ABCDE-FGHJK"
    assert receipts.grouped("") == ""


def vote(**fields: object) -> QueuedVote:
    return QueuedVote(
        uuid.UUID(VOTE_ID),
        7,
        3,
        "anon:x",
        datetime(2026, 1, 1, tzinfo=UTC),
        **fields,  # type: ignore[arg-type]
    )


def test_the_message_carries_the_receipt_and_nonce_and_reads_them_back() -> None:
    sent = vote(receipt="ABCDEFGHJK", nonce=NONCE)
    message = sent.to_message()
    assert (message["receipt"], message["nonce"]) == ("ABCDEFGHJK", NONCE)
    assert QueuedVote.from_message(message) == sent


def test_a_message_queued_before_receipts_still_parses_without_one() -> None:
    message = vote().to_message()
    assert "receipt" not in message
    assert QueuedVote.from_message(message).receipt == ""


@pytest.mark.parametrize(
    "fields",
    [
        {"receipt": "ABCDEFGHJI", "nonce": NONCE},  # I is no character of it
        {"receipt": "ABCDE-FGHJ", "nonce": NONCE},
        {"receipt": "ABCDEFGHJK"},  # no nonce
        {"receipt": "ABCDEFGHJK", "nonce": "not hex"},
        {"receipt": 12, "nonce": NONCE},
    ],
)
def test_a_malformed_receipt_in_a_message_is_refused_as_malformed(fields: dict) -> None:
    message = {**vote().to_message(), **fields}
    with pytest.raises(ValueError, match=r"receipt|nonce"):
        QueuedVote.from_message(message)
