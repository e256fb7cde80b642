"""What a voter can check with a receipt, and the poll's public board of counted receipts.

A ballot's receipt is computed on the web side where it is admitted
(polls.pipeline.submit, polls.counting.receipts) and stored by the worker: a counted
receipt is on its `Vote` row; one replaced by a later ballot of its voter, or refused, is
an `UncountedReceipt` with its fate (polls.pipeline.store). The board lists the counted
ones, with their ballots on a public-ballot poll (receipts only on a secret-ballot one);
the check says what became of one receipt. Both read Postgres only: never the vote path.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.core import signing
from django.db import DatabaseError
from django.utils.translation import gettext_lazy

from polls import kinds
from polls.counting import receipts as codes
from polls.models import Poll, PollCounter, UncountedReceipt, Vote

COUNTED = "counted"
REPLACED = "replaced"
REFUSED = "refused"
NOT_FOUND = "not_found"

BOARD_PAGE = 100  # rows of the HTML board per page
BOARD_PAGE_MAX = 1000  # rows the API gives at most per page

# Why the worker refused a ballot (polls.pipeline.store's reasons), as a voter reads it.
_REASONS = {
    "login required": gettext_lazy("the poll takes votes from logged-in voters only"),
    "vote change not allowed": gettext_lazy(
        "the poll does not allow changing a vote, and your first ballot said something else"
    ),
    "unknown choice": gettext_lazy("its choice was removed from the poll before it was stored"),
    "ballot against the rules": gettext_lazy("it broke the poll's rules"),
}
_NOT_OPEN = gettext_lazy("the poll was not open for it")


def reason_text(reason: str) -> str:
    """A refusal's reason in the voter's language."""
    return str(_REASONS.get(reason, _NOT_OPEN))


@dataclass(frozen=True)
class Checked:
    """What became of one receipt's ballot."""

    receipt: str  # as shown, ABCDE-FGHJK
    status: str  # COUNTED, REPLACED, REFUSED or NOT_FOUND
    reason: str = ""  # why it was refused, in the voter's language

    def as_json(self) -> dict[str, Any]:
        answer = {"receipt": self.receipt, "status": self.status}
        if self.status == REFUSED:
            answer["reason"] = self.reason
        return answer


def check(*, poll: Poll, code: str) -> Checked:
    """The fate of the ballot with this receipt (stored form, codes.parsed): counted (its
    voter's current ballot), replaced by a later ballot of the same voter, refused (why),
    or not found (never stored: mistyped, another poll's, or not stored yet). Raises
    DatabaseError when Postgres cannot say."""
    shown = codes.grouped(code)
    if Vote.objects.filter(poll=poll, receipt=code).exists():
        return Checked(shown, COUNTED)
    fate = (
        UncountedReceipt.objects.filter(poll=poll, receipt=code)
        .order_by("fate")  # refused before replaced, should two ballots share a code
        .values_list("fate", "reason")
        .first()
    )
    if fate is None:
        return Checked(shown, NOT_FOUND)
    if fate[0] == UncountedReceipt.Fate.REFUSED:
        return Checked(shown, REFUSED, reason_text(fate[1]))
    return Checked(shown, REPLACED)


@dataclass
class Board:
    """One page of a poll's board: counted receipts in order, and what follows."""

    public: bool  # the poll's ballots are public: each row shows its ballot
    total: int  # ballots counted (PollCounter.total)
    without_receipt: int  # of them, stored before receipts existed
    rows: list[dict[str, str]] = field(default_factory=list)
    after: str = ""  # the receipt to continue after (the next page), "" at the end

    def as_json(self) -> dict[str, Any]:
        return {
            "ballot_secrecy": "public" if self.public else "secret",
            "total": self.total,
            "without_receipt": self.without_receipt,
            "receipts": self.rows,
            "next_after": self.after or None,
        }


def board(*, poll: Poll, after: str = "", limit: int = BOARD_PAGE) -> Board:
    """Counted receipts in the order of their codes, `limit` after the receipt `after`
    (keyset paging: a page costs the same at the start and at the end of a big poll).
    A row shows its ballot in words on a public-ballot poll; the kind decides which rows
    a board shows at all and what a row says (Kind.board_ballots, board_entry: a text
    kind's shown entries only)."""
    public = poll.ballot_secrecy == Poll.BallotSecrecy.PUBLIC
    kind = kinds.kind_for(poll)
    labels = {c.id: c.label for c in poll.choices.all()}
    counted = Vote.objects.filter(poll=poll).exclude(receipt="")
    page = list(
        counted.filter(receipt__gt=after)
        .order_by("receipt", "id")
        .values_list("receipt", "voter_key", "ballot")[: limit + 1]
    )
    total = PollCounter.objects.filter(poll=poll).values_list("total", flat=True).first() or 0
    result = Board(
        public=public,
        total=total,
        without_receipt=Vote.objects.filter(poll=poll, receipt="").count(),
    )
    ballots = kind.board_ballots(
        poll, [(voter_key, ballot) for _, voter_key, ballot in page[:limit]]
    )
    for (receipt, _voter_key, _stored), ballot in zip(page[:limit], ballots, strict=True):
        entry = kind.board_entry(ballot, labels)
        if entry is None:
            continue
        row = {"receipt": codes.grouped(receipt)}
        if public:
            row["ballot"] = entry
        result.rows.append(row)
    if len(page) > limit:
        result.after = page[limit - 1][0]
    return result


# --- The voter's own receipt, shown after the vote ------------------------------------

COOKIE = "receipt"
_COOKIE_SALT = "polls.receipt"
COOKIE_MAX_AGE = 86400  # a day: the receipt is shown again from the stored vote anyway


def cookie_value(*, poll_id: int, vote_id: str, receipt: str, nonce: str = "") -> str:
    """A signed cookie carrying the receipt (and seal key) of the vote just cast from the
    form to the page it is redirected to (no database read: the vote is not stored yet)."""
    return signing.dumps([poll_id, vote_id, receipt, nonce], salt=_COOKIE_SALT, compress=False)


@dataclass(frozen=True)
class Yours:
    """The voter's own receipt as a page shows it, and the vote's nonce: their seal key,
    which with their ballot opens the commitment the sealed chain holds (never published)."""

    code: str = ""  # grouped
    seal_key: str = ""

    def context(self) -> dict[str, str]:
        return {"your_receipt": self.code, "your_seal_key": self.seal_key}


def yours(
    *, poll: Poll, voter_key: str | None, vote_id: str, storing: bool, cookie: str | None
) -> Yours:
    """The receipt a page shows as the voter's: while their vote is being stored, the
    cookie's (if it is that vote's); once stored, the stored vote's. Empty for none, and
    while Postgres cannot say."""
    if storing:
        try:
            held = signing.loads(cookie or "", salt=_COOKIE_SALT, max_age=COOKIE_MAX_AGE)
        except signing.BadSignature:
            return Yours()
        if isinstance(held, list) and held[:2] == [poll.pk, vote_id]:
            # A cookie of the release before carries no nonce.
            return Yours(codes.grouped(str(held[2])), str(held[3]) if len(held) > 3 else "")
        return Yours()
    if voter_key is None:
        return Yours()
    try:
        stored = (
            Vote.objects.filter(poll=poll, voter_key=voter_key)
            .values_list("receipt", "nonce")
            .first()
        )
    except DatabaseError:
        return Yours()
    receipt, nonce = stored or ("", "")
    return Yours(codes.grouped(receipt or ""), nonce or "")
