"""A poll's audit export (`manage.py export_audit`): its sealed chain, its board, its
ballot box and the result it publishes, for tools/verify.py to check with nothing but
Python (docs/verification.md).

Written one entry a line (a chain batch, a board row, a ballot), so that a changed line
is one changed entry, and streamed: a poll of 100,000 ballots is never one string. What
it holds, by the poll's ballot secrecy:

- public: the board's rows with their ballots (the chain has them in the clear too);
- secret: the board's receipts only, and the counted ballots apart, sorted (the ballot
  box: each ballot, but not whose or which receipt's); the chain has commitments;
- a text poll: its entries (text, counting key, state), never who gave them.

A session's Q&A board has an export of its own (`export_audit --board CODE`,
QNA_FORMAT): its questions with the upvotes they publish, and the upvote actions kept
(each voter's latest per question; voters as v1, v2, ... numbered in this export only,
never their cookies). Boards have no sealed chain: the verifier counts the upvotes
again from the actions, it cannot prove none was left out.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from typing import IO, Any

from django.utils import timezone

from polls import chain, kinds, quiz, selectors, text_entries
from polls.counting import chain as encoding
from polls.counting import quiz as quiz_rules
from polls.models import BallotImport, Poll, QnaBoard, QnaUpvote, Vote

FORMAT = "votingsite-audit/1"
QNA_FORMAT = "votingsite-qna-audit/1"


def _line(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _ballot(ballot: list[int], choice_id: int | None) -> list[int]:
    return list(ballot) if ballot else [choice_id] if choice_id else []


def _board(poll: Poll, public: bool) -> Iterator[dict[str, Any]]:
    rows = (
        Vote.objects.filter(poll_id=poll.pk)
        .exclude(receipt="")
        .order_by("receipt", "vote_id")
        .values_list("receipt", "ballot", "choice_id")
    )
    for receipt, ballot, choice_id in rows.iterator(chunk_size=5000):
        row: dict[str, Any] = {"receipt": receipt}
        if public:
            row["ballot"] = _ballot(ballot, choice_id)
        yield row


def _ballot_box(poll: Poll) -> list[list[int]]:
    rows = Vote.objects.filter(poll_id=poll.pk).values_list("ballot", "choice_id")
    return sorted(_ballot(ballot, choice_id) for ballot, choice_id in rows.iterator(5000))


def _imports(poll: Poll) -> list[dict[str, Any]]:
    return [
        {
            "import": pk,
            "sha256": sha,
            "ballots": counted,
            "profile": profile,
            "ended": ended,
            "inactive": inactive,
        }
        for pk, sha, counted, profile, ended, inactive in BallotImport.objects.filter(
            poll_id=poll.pk, withdrawn_at=None
        )
        .order_by("pk")
        .values_list("pk", "sha256", "counted", "profile", "ended", "inactive")
    ]


def _quiz(poll: Poll) -> dict[str, Any] | None:
    """A played quiz question: its key, points and limit, each answer (its player as a
    hash of their voter key) and the points the site gives it."""
    game = quiz.played(poll)
    if game is None:
        return None
    question, answers = game
    return {
        "correct": list(question.correct),
        "points": question.points,
        "limit_ms": question.limit_ms,
        "answers": sorted(
            (
                {
                    "player": hashlib.sha256(a.player.encode()).hexdigest()[:16],
                    "choices": list(a.choices),
                    "t_ms": a.t_ms,
                    "points": quiz_rules.score(question, a)[0],
                }
                for a in answers
            ),
            key=lambda a: a["player"],
        ),
    }


def published(poll: Poll) -> dict[str, Any]:
    """The result the site publishes, read afresh: the results snapshot (counts and
    shares; a runoff's rounds with its rules; a scale's summary; a cloud's top terms),
    a text poll's every term, a quiz question's scores."""
    result = selectors.poll_results(poll=poll)
    kind = kinds.kind_for(poll)
    if kind.stores_entries:
        result["all_terms"] = text_entries.export_terms(poll.pk)
    result["quiz"] = _quiz(poll)
    # Q&A (issue 35) adds its questions and upvotes here, and tools/verify.py counts them.
    result["qna"] = None
    return result


def write(poll: Poll, out: IO[str]) -> dict[str, Any]:
    """Write the poll's audit export to `out`; what it holds, in numbers."""
    kind = kinds.kind_for(poll)
    public = not chain.sealed(poll, stores_entries=kind.stores_entries)
    seal = chain.seal_of(poll.pk, closed=poll.state_at(timezone.now()) == "closed")
    head = {
        "format": FORMAT,
        "exported_at": timezone.now().isoformat(),
        "poll": {
            "id": poll.pk,
            "slug": poll.slug,
            "question": poll.question,
            "kind": poll.kind,
            "ballot_secrecy": poll.ballot_secrecy,
            "options": poll.options,
            "choices": [
                {"id": pk, "label": label}
                for pk, label in poll.choices.order_by("position", "id").values_list("id", "label")
            ],
        },
        "chain": {"genesis": encoding.genesis(poll.pk), **seal.as_json()},
    }
    out.write("{\n")
    for key, value in head.items():
        out.write(f"{_line(key)}: {_line(value)},\n")
    counts = {
        "batches": _list(out, "batches", _batches(poll)),
        "board": _list(out, "board", _board(poll, public)),
    }
    if kind.stores_entries:
        counts["entries"] = _list(out, "entries", _entries(poll))
    elif not public:
        counts["ballots"] = _list(out, "ballots", _ballot_box(poll))
    counts["imports"] = _list(out, "imports", _imports(poll))
    out.write(f'"result": {_line(published(poll))}\n}}\n')
    return counts


def _batches(poll: Poll) -> Iterator[dict[str, Any]]:
    for index, previous, head, events, hashes in chain.batches(poll.pk):
        yield {
            "index": index,
            "previous": previous,
            "hash": head,
            "events": events,
            "event_hashes": hashes,
        }


def _entries(poll: Poll) -> Iterator[dict[str, Any]]:
    for entry in text_entries.export_entries(poll.pk):
        yield {"entry": entry["entry"], "text": entry["text"], "key": entry["key"],
               "state": entry["state"]}  # fmt: skip


def _list(out: IO[str], name: str, items: Iterable[Any]) -> int:
    """A list, one item a line; how many."""
    out.write(f"{_line(name)}: [")
    count = 0
    for item in items:
        out.write(("\n" if count == 0 else ",\n") + _line(item))
        count += 1
    out.write("\n],\n" if count else "],\n")
    return count


# --- A Q&A board ----------------------------------------------------------------------


def write_board(board: QnaBoard, out: IO[str]) -> dict[str, Any]:
    """Write a Q&A board's audit export to `out`; what it holds, in numbers."""
    session = board.session
    head = {
        "format": QNA_FORMAT,
        "exported_at": timezone.now().isoformat(),
        "session": {"id": session.pk, "title": session.title},
        "board": {"id": board.pk, "moderation": board.moderation},
    }
    out.write("{\n")
    for key, value in head.items():
        out.write(f"{_line(key)}: {_line(value)},\n")
    counts = {
        "questions": _list(out, "questions", _questions(board)),
        "upvotes": _list(out, "upvotes", _upvotes(board)),
    }
    total = sum(board.questions.values_list("upvotes", flat=True))
    out.write(f'"result": {_line({"questions": counts["questions"], "upvotes": total})}\n}}\n')
    return counts


def _questions(board: QnaBoard) -> Iterator[dict[str, Any]]:
    rows = board.questions.order_by("id").values_list("uuid", "text", "state", "upvotes",
                                                      "withdrawn_at", "archived_at")  # fmt: skip
    for uuid, text, state, upvotes, withdrawn_at, archived_at in rows.iterator(5000):
        shown = "withdrawn" if withdrawn_at else "archived" if archived_at else state
        yield {"id": str(uuid), "text": text, "state": shown, "upvotes": upvotes}


def _upvotes(board: QnaBoard) -> Iterator[dict[str, Any]]:
    rows = (
        QnaUpvote.objects.filter(question__board=board)
        .order_by("admitted_ms", "action_id")
        .values_list("question__uuid", "voter_key", "up", "admitted_ms", "action_id")
    )
    voters: dict[str, str] = {}
    for question, voter_key, up, admitted_ms, action_id in rows.iterator(5000):
        voter = voters.setdefault(voter_key, f"v{len(voters) + 1}")
        yield {"question": str(question), "voter": voter, "up": up,
               "admitted_ms": admitted_ms, "action": str(action_id)}  # fmt: skip
