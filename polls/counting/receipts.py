"""Receipts: the short code a voter gets for each ballot, to find it on the poll's board.

No Django, no database: the web side computes a receipt where it admits the vote, and a
stand-alone verifier (issue 38) can compute it again from the same four inputs.

A receipt is the first 50 bits of SHA-256 over the poll's id, the vote's id, the ballot's
canonical JSON (polls.pipeline.message.canonical_json) and a random per-vote nonce (128
bits from `secrets`), written as 10 characters of Crockford's base32: digits and capital
letters without I, L, O and U, so no two characters look alike and no word is spelled by
accident. Shown in two groups of five (`ABCDE-FGHJK`); read back forgiving case, spaces,
hyphens and the look-alikes Crockford maps (O as 0, I and L as 1).

The nonce makes a receipt unguessable and says nothing of the ballot: without it, a
receipt could be matched against the few ballots a poll allows. 50 bits: two ballots of
one poll of a million share a code about once in 2,000 such polls; the board and the check
then name both (the check answers for the counted one first).
"""

from __future__ import annotations

import hashlib
import re
import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford's base32
LENGTH = 10  # characters: 50 bits
NONCE_BYTES = 16
_LOOK_ALIKES = str.maketrans({"O": "0", "I": "1", "L": "1"})
_SEPARATORS = re.compile(r"[\s\-]+")


def new_nonce() -> str:
    """A fresh random nonce for one vote, as hex."""
    return secrets.token_hex(NONCE_BYTES)


def receipt_for(poll_id: int, vote_id: str, ballot_json: str, nonce: str) -> str:
    """The receipt of one ballot: 10 characters of base32, ungrouped (as stored)."""
    text = f"{poll_id}\n{vote_id}\n{ballot_json}\n{nonce}".encode()
    bits = int.from_bytes(hashlib.sha256(text).digest()[:8], "big") >> (64 - 5 * LENGTH)
    return "".join(ALPHABET[(bits >> (5 * i)) & 31] for i in reversed(range(LENGTH)))


def grouped(receipt: str) -> str:
    """A receipt as shown: `ABCDE-FGHJK` (an empty one stays empty)."""
    return f"{receipt[:5]}-{receipt[5:]}" if len(receipt) == LENGTH else receipt


def parsed(text: str) -> str | None:
    """A receipt as typed (any case, spaces, hyphens, O for 0, I or L for 1), stored
    form; None when it cannot be one."""
    code = _SEPARATORS.sub("", text or "").upper().translate(_LOOK_ALIKES)
    if len(code) != LENGTH or any(c not in ALPHABET for c in code):
        return None
    return code
