#!/usr/bin/env python3
"""Check a poll's audit export without trusting the server: python3 tools/verify.py FILE

Standard library only: no Django, no database, nothing of the site's code. Written apart
from the site's counting on purpose (two implementations that agree is how election
tabulation is checked): it must catch a wrong count, not only a changed record.

What it checks, in order, stopping at the first entry that does not fit (exit code 1,
the entry named; 0 and "OK" when everything fits; 2 when the file cannot be read):

1. The chain: each batch follows the one before (batch 1 the poll's genesis), each event
   hashes to its listed hash, each batch's hash is SHA-256(previous ‖ event hashes), and
   the last one is the seal the export and the published result show.
2. The replay: the chain's events, in order, leave a set of counted ballots (counted adds
   one, replaced takes it away, reset empties everything) and of imported ballots.
3. The board: its receipts are exactly the counted ones; on a public poll each row's
   ballot is the one the chain counted.
4. The ballots: on a public poll the chain's own; on a secret poll the export's ballot
   box, as many as the chain counts; on a text poll the entries; each import's rankings
   hash to what the chain recorded.
5. The result, counted again here from those ballots with the poll's rules: each kind's
   counts and shares, a ranked poll's instant-runoff rounds (tie rules, lot, batch
   elimination, until two remain) and Borda points, a scale's mean, median and NPS, a
   text poll's counts per word, a quiz question's points per answer.

A Q&A board's export (format votingsite-qna-audit/1) is checked apart: each question's
upvotes counted again from its upvote actions (each voter's latest per question, by
admission time), the first question whose published count does not fit named.

The format is docs/verification.md's; the site's own encoding is polls/counting/chain.py.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections import Counter
from fractions import Fraction
from typing import Any

GENESIS_PREFIX = "votingsite-chain/1"
FORMAT = "votingsite-audit/1"
QNA_FORMAT = "votingsite-qna-audit/1"
DEFAULT_TIE = "previous_then_position"


class Misfit(Exception):
    """The first entry that does not fit: where, and what is wrong with it."""

    def __init__(self, where: str, what: str) -> None:
        super().__init__(f"{where}: {what}")
        self.where = where
        self.what = what


# --- Hashing (the format's own rules, written out again here) -----------------------------


def canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def genesis(poll_id: int) -> str:
    return sha256_hex(f"{GENESIS_PREFIX}\n{poll_id}".encode())


# --- Where an entry is in the file --------------------------------------------------------


class Lines:
    """Line numbers of the export's list items (one item a line), for naming them."""

    def __init__(self, text: str) -> None:
        self.starts: dict[str, int] = {}
        for number, line in enumerate(text.splitlines(), start=1):
            if line.endswith(": [") and line.startswith('"'):
                self.starts[line.split('"')[1]] = number

    def of(self, name: str, index: int) -> str:
        start = self.starts.get(name)
        return f" (line {start + 1 + index})" if start is not None else ""


# --- 1. The chain -------------------------------------------------------------------------


def check_chain(doc: dict[str, Any], lines: Lines) -> str:
    poll_id = doc["poll"]["id"]
    previous = genesis(poll_id)
    if doc["chain"].get("genesis") != previous:
        raise Misfit("chain", f"the genesis is not the one of poll {poll_id}")
    for number, batch in enumerate(doc["batches"], start=1):
        where = f"chain batch {number}{lines.of('batches', number - 1)}"
        if batch.get("index") != number:
            raise Misfit(where, f"numbered {batch.get('index')}, expected {number}")
        if batch.get("previous") != previous:
            raise Misfit(where, f"its previous hash is not batch {number - 1}'s")
        events, hashes = batch.get("events", []), batch.get("event_hashes", [])
        if len(events) != len(hashes) or not events:
            raise Misfit(where, f"{len(events)} events but {len(hashes)} hashes")
        for place, (event, held) in enumerate(zip(events, hashes, strict=True), start=1):
            if sha256_hex(canonical(event)) != held:
                raise Misfit(f"{where}, event {place} ({event.get('type')})", "altered")
        joined = bytes.fromhex(previous) + b"".join(bytes.fromhex(h) for h in hashes)
        if sha256_hex(joined) != batch.get("hash"):
            raise Misfit(where, "its hash does not fit its events")
        previous = batch["hash"]
    length = len(doc["batches"])
    if doc["chain"].get("hash") != previous or doc["chain"].get("batches") != length:
        raise Misfit("chain head", f"the export's seal is not the last batch's ({length})")
    seal = doc["result"].get("seal") or {}
    if seal.get("hash") != previous or seal.get("batches") != length:
        raise Misfit("result seal", "the published seal is not the chain's head")
    return previous


# --- 2. The replay ------------------------------------------------------------------------


class Replay:
    def __init__(self) -> None:
        self.counted: dict[str, tuple[dict[str, Any], str]] = {}  # vote -> (event, where)
        self.imports: dict[str, tuple[dict[str, Any], str]] = {}
        self.rules: dict[str, Any] | None = None  # the last rules change's
        self.answer_key: dict[str, Any] | None = None
        self.refused = 0
        self.replaced = 0


def replay(doc: dict[str, Any]) -> Replay:
    state = Replay()
    for number, batch in enumerate(doc["batches"], start=1):
        for place, event in enumerate(batch["events"], start=1):
            where = f"chain batch {number}, event {place}"
            kind = event.get("type")
            if kind == "counted":
                if event["vote"] in state.counted:
                    raise Misfit(where, f"vote {event['vote']} counted twice")
                state.counted[event["vote"]] = (event, where)
            elif kind == "replaced":
                state.counted.pop(event["vote"], None)
                state.replaced += 1
            elif kind == "refused":
                if event["vote"] in state.counted:
                    raise Misfit(where, f"vote {event['vote']} refused, yet counted")
                state.refused += 1
            elif kind == "reset":
                state.counted.clear()
                state.imports.clear()
            elif kind == "ballots imported":
                state.imports[str(event["import"])] = (event, where)
            elif kind == "rules changed":
                state.rules = event["after"]
            elif kind == "answer key corrected":
                state.answer_key = event["after"]
            # Other organiser events (a choice deleted, a recount's fix, moderation) change
            # no ballot: on the chain for the record.
    return state


# --- 3. The board -------------------------------------------------------------------------


def check_board(doc: dict[str, Any], state: Replay, public: bool, lines: Lines) -> None:
    counted: dict[str, list[tuple[dict[str, Any], str]]] = {}
    for event, where in state.counted.values():
        if event["receipt"]:
            counted.setdefault(event["receipt"], []).append((event, where))
    for index, row in enumerate(doc["board"]):
        where = f"board row {index + 1}{lines.of('board', index)}, receipt {row.get('receipt')}"
        held = counted.get(row.get("receipt"))
        if not held:
            raise Misfit(where, "not counted on the chain")
        event, _ = held.pop()
        if public and row.get("ballot") != event.get("ballot"):
            raise Misfit(where, "its ballot is not the one the chain counted")
    for receipt, left in sorted(counted.items()):
        if left:
            raise Misfit(left[0][1], f"receipt {receipt} counted on the chain, not on the board")


# --- 4. The ballots -----------------------------------------------------------------------


def ballots_of(doc: dict[str, Any], state: Replay, public: bool, lines: Lines) -> list[list[Any]]:
    if public:
        return [event["ballot"] for event, _ in state.counted.values()]
    box = doc.get("ballots")
    if box is None:
        return []
    if len(box) != len(state.counted):
        raise Misfit(
            "ballots", f"{len(box)} in the ballot box, the chain counts {len(state.counted)}"
        )
    for index, ballot in enumerate(box):
        if not isinstance(ballot, list):
            raise Misfit(f"ballot {index + 1}{lines.of('ballots', index)}", "not a ballot")
    return box


def check_imports(doc: dict[str, Any], state: Replay, lines: Lines) -> None:
    seen = set()
    for index, record in enumerate(doc.get("imports", [])):
        where = f"import {record.get('import')}{lines.of('imports', index)}"
        held = state.imports.get(str(record.get("import")))
        if held is None:
            raise Misfit(where, "not imported on the chain (or reset since)")
        event = held[0]
        if sha256_hex(canonical(record["profile"])) != event["profile"]:
            raise Misfit(where, "its rankings are not those the chain recorded")
        if sha256_hex(canonical(record["ended"])) != event["ended"]:
            raise Misfit(where, "its ended rankings are not those the chain recorded")
        if record.get("ballots") != event.get("ballots") or record.get("sha256") != event.get(
            "sha256"
        ):
            raise Misfit(where, "its file or ballots are not those the chain recorded")
        seen.add(str(record.get("import")))
    for number, (_event, where) in sorted(state.imports.items()):
        if number not in seen:
            raise Misfit(where, f"import {number} is on the chain, not in the export")


# --- 5. Counting, again -------------------------------------------------------------------


def percents(counts: list[int], total: int | None = None) -> list[float]:
    """Shares in tenths of a percent. Counts that make up the total: largest remainders
    (ties to the larger count, then the first listed), adding up to exactly 100; others
    (multiple choice) each rounded half up."""
    whole = sum(counts) if total is None else total
    if whole <= 0:
        return [0.0] * len(counts)
    exact = [Fraction(1000 * c, whole) for c in counts]
    if sum(counts) != whole:
        return [int(x + Fraction(1, 2)) / 10 for x in exact]
    tenths = [x.numerator // x.denominator for x in exact]
    short = 1000 - sum(tenths)
    ranked = sorted(range(len(counts)), key=lambda i: (-(exact[i] - tenths[i]), -counts[i], i))
    for i in ranked[:short]:
        tenths[i] += 1
    return [t / 10 for t in tenths]


def compare(where: str, published: Any, counted: Any) -> None:
    if published != counted:
        raise Misfit(where, f"published {json.dumps(published)}, counted {json.dumps(counted)}")


def check_choices(
    doc: dict[str, Any], votes: dict[int, int], total: int, labels: dict[int, str]
) -> None:
    shown = doc["result"].get("choices", [])
    ids = [c["id"] for c in doc["poll"]["choices"]]
    compare("result: the choices", [c.get("id") for c in shown], ids)
    shares = percents([votes.get(i, 0) for i in ids], total)
    for row, share in zip(shown, shares, strict=False):
        name = f"result: choice {labels[row['id']]!r}"
        compare(f"{name}, votes", row.get("votes"), votes.get(row["id"], 0))
        compare(f"{name}, percent", row.get("percent"), share)


def count_choices(doc: dict[str, Any], ballots: list[list[Any]], labels: dict[int, str]) -> None:
    kind = doc["poll"]["kind"]
    votes: Counter[int] = Counter()
    for ballot in ballots:
        if kind == "single":
            votes[ballot[0]] += 1
        else:  # multiple: each choice picked, once per voter
            for choice in set(ballot):
                votes[choice] += 1
    check_choices(doc, votes, len(ballots), labels)


def count_scale(doc: dict[str, Any], ballots: list[list[Any]]) -> None:
    options = doc["poll"]["options"]
    low = 1 if options.get("scale_min") is None else options["scale_min"]
    high = 5 if options.get("scale_max") is None else options["scale_max"]
    values = Counter(b[0] for b in ballots)
    result = doc["result"]
    span = list(range(low, high + 1))
    counts = [values.get(v, 0) for v in span]
    shares = percents(counts)
    compare(
        "result: the values",
        result.get("values"),
        [
            {"value": v, "votes": n, "percent": s}
            for v, n, s in zip(span, counts, shares, strict=True)
        ],
    )
    n = len(ballots)
    if not n:
        compare("result: the mean", result.get("mean"), None)
        return
    exact = Fraction(sum(b[0] for b in ballots), n)
    mean = result.get("mean")
    if mean is None or abs(Fraction(mean) - exact) > Fraction(5, 1000) + Fraction(1, 10**9):
        raise Misfit("result: the mean", f"published {mean}, counted {float(exact):.4f}")
    ordered = sorted(b[0] for b in ballots)
    median = (ordered[(n - 1) // 2] + ordered[n // 2]) / 2
    compare("result: the median", result.get("median"), median)
    nps = None
    if (low, high) == (0, 10):
        promoters = sum(1 for b in ballots if b[0] >= 9)
        detractors = sum(1 for b in ballots if b[0] <= 6)
        nps = round(Fraction(100 * (promoters - detractors), n))
    compare("result: the NPS", result.get("nps"), nps)


def count_text(doc: dict[str, Any]) -> None:
    keys = Counter(e["key"] for e in doc.get("entries", []) if e.get("state") == "shown")
    published = {t["key"]: t["count"] for t in doc["result"].get("all_terms") or []}
    for key in sorted(set(keys) | set(published)):
        compare(f"result: the word {key!r}", published.get(key, 0), keys.get(key, 0))


def count_quiz(doc: dict[str, Any], ballots: list[list[Any]]) -> None:
    game = doc["result"].get("quiz")
    if not game:
        return
    correct, points, limit = set(game["correct"]), game["points"], game["limit_ms"]
    box = Counter(tuple(sorted(b)) for b in ballots)
    for index, answer in enumerate(game["answers"]):
        where = f"result: quiz answer {index + 1} (player {answer['player']})"
        picked = tuple(sorted(answer["choices"]))
        if box[picked] <= 0:
            raise Misfit(where, "its choices are not among the counted ballots")
        box[picked] -= 1
        right = bool(correct) and set(answer["choices"]) == correct
        gained = 0
        if right and limit > 0 and points > 0:
            t = min(max(answer["t_ms"], 0), limit)
            exact = Fraction(points * (2 * limit - t), 2 * limit)
            gained = int(exact + Fraction(1, 2))  # half up
        compare(f"{where}, points", answer.get("points"), gained)


# --- Ranked choice: instant runoff and Borda ----------------------------------------------


def ranked_profile(
    doc: dict[str, Any], ballots: list[list[Any]]
) -> tuple[Counter[tuple[int, ...]], list[tuple[tuple[int, ...], int, str]]]:
    """Every ranking with its ballots (the voters' and the imports'), and the same split
    by why an imported ranking ended early (the rounds' inactive ballots)."""
    rankings: Counter[tuple[int, ...]] = Counter(tuple(b) for b in ballots)
    reasons: dict[tuple[int, ...], Counter[str]] = {}
    for record in doc.get("imports", []):
        for ranking, n in record["profile"]:
            rankings[tuple(ranking)] += n
        for ranking, reason, n in record["ended"]:
            reasons.setdefault(tuple(ranking), Counter())[reason] += n
    split = []
    for ranking, n in rankings.items():
        left = n
        for reason, m in sorted(reasons.get(ranking, Counter()).items()):
            taken = min(m, left)
            split.append((ranking, taken, reason))
            left -= taken
        split.append((ranking, left, ""))
    return rankings, [entry for entry in split if entry[1] > 0]


def lot_ticket(seed: str, round_number: int, choice: int) -> str:
    return sha256_hex(f"{seed}:{round_number}:{choice}".encode())


def first_of(ranking: tuple[int, ...], among: set[int]) -> int | None:
    return next((c for c in ranking if c in among), None)


def count_round(
    profile: list[tuple[tuple[int, ...], int, str]], standing: list[int]
) -> dict[str, Any]:
    """One round's counts, before anyone goes."""
    alive = set(standing)
    counts = dict.fromkeys(standing, 0)
    exhausted = 0
    inactive: Counter[str] = Counter()
    for ranking, n, reason in profile:
        first = first_of(ranking, alive)
        if first is None:
            exhausted += n
            if reason:
                inactive[reason] += n
        else:
            counts[first] += n
    shares = percents([counts[c] for c in standing])
    return {
        "counts": [
            {"id": c, "votes": counts[c], "percent": p}
            for c, p in zip(standing, shares, strict=True)
        ],
        "exhausted": exhausted,
        "eliminated": None,
        "transfers": [],
        "transferred_to_exhausted": 0,
        "eliminations": [],
        "tie": None,
        "inactive": dict(sorted(inactive.items())),
    }


def move_ballots(
    profile: list[tuple[tuple[int, ...], int, str]],
    standing: list[int],
    going: list[int],
    candidates: list[int],
    this: dict[str, Any],
) -> None:
    """Where each going choice's ballots go next (to a choice still in, or out)."""
    alive = set(standing)
    left = alive - set(going)
    moves = []
    total: Counter[int] = Counter()
    for loser in going:
        to: Counter[int] = Counter()
        out = 0
        for ranking, n, _reason in profile:
            if first_of(ranking, alive) == loser:
                following = first_of(ranking, left)
                if following is None:
                    out += n
                else:
                    to[following] += n
        total.update(to)
        moves.append(
            {
                "id": loser,
                "transfers": [{"id": c, "votes": to[c]} for c in candidates if to.get(c)],
                "exhausted": out,
            }
        )
    this["eliminations"] = moves
    this["transfers"] = [{"id": c, "votes": total[c]} for c in candidates if total.get(c)]
    this["transferred_to_exhausted"] = sum(m["exhausted"] for m in moves)
    this["eliminated"] = going[0] if len(going) == 1 else None


def runoff(
    profile: list[tuple[tuple[int, ...], int, str]], candidates: list[int], rules: dict[str, Any]
) -> tuple[list[dict[str, Any]], int | None, list[int]]:
    """The rounds, the winner and the tied, as the results publish them."""
    if not profile or not candidates:
        return [], None, []
    order = {c: i for i, c in enumerate(candidates)}
    standing = list(candidates)
    past: list[dict[int, int]] = []
    rounds: list[dict[str, Any]] = []
    while True:
        this = count_round(profile, standing)
        rounds.append(this)
        counts = {row["id"]: row["votes"] for row in this["counts"]}
        active = sum(counts.values())
        best = max(standing, key=lambda c: (counts[c], -order[c]))
        majority = active and 2 * counts[best] > active
        if majority and (len(standing) <= 2 or not rules.get("until_two")):
            return rounds, best, []
        if len(standing) == 1:
            return rounds, None, []
        going, this["tie"] = who_goes(standing, counts, past, order=order, rules=rules)
        if not going:
            return rounds, None, list(standing)
        move_ballots(profile, standing, going, candidates, this)
        past.append(counts)
        standing = [c for c in standing if c not in going]


def who_goes(
    standing: list[int],
    counts: dict[int, int],
    past: list[dict[int, int]],
    *,
    order: dict[int, int],
    rules: dict[str, Any],
) -> tuple[list[int], dict[str, Any] | None]:
    """Who goes after this round, and the tie for fewest if there was one."""
    if rules.get("batch"):
        most = len(standing) - (2 if rules.get("until_two") else 1)
        by_votes = sorted(standing, key=lambda c: (counts[c], order[c]))
        group = 0
        running = 0
        for size in range(1, most + 1):
            running += counts[by_votes[size - 1]]
            if size >= 2 and running < counts[by_votes[size]]:
                group = size
        if group > 1:
            return sorted(by_votes[:group], key=order.__getitem__), None
    fewest = min(counts[c] for c in standing)
    tied = [c for c in standing if counts[c] == fewest]
    if len(tied) == 1:
        return tied, None
    return break_tie(tied, standing, past, order=order, rules=rules)


def break_tie(
    tied: list[int],
    standing: list[int],
    past: list[dict[int, int]],
    *,
    order: dict[int, int],
    rules: dict[str, Any],
) -> tuple[list[int], dict[str, Any]]:
    rule = rules.get("tie") or DEFAULT_TIE
    tie: dict[str, Any] = {"tied": tied, "rule": rule, "still_tied": [], "lot": []}
    if rule == "eliminate_all_tied":
        going = [] if len(tied) == len(standing) else tied
        return going, tie | {"broken_by": "all_go" if going else "none_go"}
    left = list(tied)
    for earlier in reversed(past):
        if len(left) == 1:
            break
        least = min(earlier.get(c, 0) for c in left)
        left = [c for c in left if earlier.get(c, 0) == least]
    if len(left) == 1:
        return left, tie | {"broken_by": "previous_rounds", "still_tied": left}
    if rule == DEFAULT_TIE:
        loser = max(left, key=order.__getitem__)
        return [loser], tie | {"broken_by": "position", "still_tied": left}
    round_number = len(past) + 1
    tickets = sorted((lot_ticket(rules["seed"], round_number, c), c) for c in left)
    lot = [{"id": c, "ticket": t} for t, c in tickets]
    return [tickets[0][1]], tie | {"broken_by": "lot", "still_tied": left, "lot": lot}


def count_ranked(
    doc: dict[str, Any], ballots: list[list[Any]], labels: dict[int, str], state: Replay
) -> None:
    result = doc["result"]
    candidates = [c["id"] for c in doc["poll"]["choices"]]
    rankings, profile = ranked_profile(doc, ballots)
    options = doc["poll"]["options"]
    rules = {
        "tie": options.get("tie") or DEFAULT_TIE,
        "batch": bool(options.get("batch")),
        "until_two": bool(options.get("until_two")),
        "seed": options.get("seed") or doc["poll"]["slug"],
    }
    compare("result: the count's rules", result.get("rules"), rules)
    if state.rules is not None:
        applied = {name: rules[name] for name in state.rules}
        compare("result: the rules the chain last recorded", applied, state.rules)
    firsts: Counter[int] = Counter()
    for ranking, n in rankings.items():
        firsts[ranking[0]] += n
    total = sum(rankings.values())
    check_choices(doc, firsts, total, labels)
    points = dict.fromkeys(candidates, 0)
    for ranking, n in rankings.items():
        for place, choice in enumerate(ranking, start=1):
            if choice in points:
                points[choice] += (len(candidates) - place) * n
    for row in result.get("choices", []):
        compare(
            f"result: Borda points of {labels[row['id']]!r}", row.get("borda"), points[row["id"]]
        )
    rounds, winner, tied = runoff(profile, candidates, rules)
    shown = result.get("rounds", [])
    for number, (published, counted) in enumerate(zip(shown, rounds, strict=False), start=1):
        for key, value in counted.items():
            compare(f"result: round {number}, {key}", published.get(key), value)
    compare("result: the number of rounds", len(shown), len(rounds))
    compare("result: the winner", result.get("winner"), winner)
    compare("result: the tied", result.get("tied"), tied)
    inactive: Counter[str] = Counter()
    for record in doc.get("imports", []):
        inactive.update(record.get("inactive", {}))
    compare(
        "result: inactive from the start",
        result.get("inactive_from_start"),
        dict(sorted(inactive.items())),
    )


# --- A Q&A board's export ------------------------------------------------------------------


def verify_qna(doc: dict[str, Any], lines: Lines) -> str:
    """Each question's upvotes counted again: of each voter's actions on a question the
    latest by admission time (then action id) stands; a question counts the voters whose
    standing action is up. Boards have no chain: this catches a count that does not
    follow from the actions, not an action left out of both."""
    questions: dict[str, int] = {}
    for index, question in enumerate(doc["questions"]):
        where = f"question {index + 1}{lines.of('questions', index)}"
        if question["id"] in questions:
            raise Misfit(where, f"{question['id']} is listed twice")
        if not isinstance(question["upvotes"], int) or question["upvotes"] < 0:
            raise Misfit(where, f"upvotes {question['upvotes']!r} is not a count")
        questions[question["id"]] = index
    standing: dict[tuple[str, str], tuple[int, str, bool]] = {}
    for index, action in enumerate(doc["upvotes"]):
        where = f"upvote {index + 1}{lines.of('upvotes', index)}"
        if action["question"] not in questions:
            raise Misfit(where, f"names no question of the board ({action['question']})")
        if not isinstance(action["up"], bool) or not isinstance(action["admitted_ms"], int):
            raise Misfit(where, "up must be true or false and admitted_ms a whole number")
        key = (action["voter"], action["question"])
        latest = (action["admitted_ms"], str(action["action"]), action["up"])
        if key not in standing or latest[:2] > standing[key][:2]:
            standing[key] = latest
    counted: Counter[str] = Counter(q for (_voter, q), (_at, _id, up) in standing.items() if up)
    for index, question in enumerate(doc["questions"]):
        where = f"question {index + 1}{lines.of('questions', index)}"
        if counted[question["id"]] != question["upvotes"]:
            raise Misfit(
                where,
                f"publishes {question['upvotes']} upvotes, its actions count "
                f"{counted[question['id']]}",
            )
    total = sum(q["upvotes"] for q in doc["questions"])
    compare("result: the questions", doc["result"].get("questions"), len(questions))
    compare("result: the upvotes", doc["result"].get("upvotes"), total)
    return (
        f"OK: the Q&A board of session {doc['session']['id']}: {len(questions)} questions, "
        f"{len(doc['upvotes'])} upvote actions, {total} upvotes counted again and equal"
    )


# --- The whole check ----------------------------------------------------------------------


def verify(doc: dict[str, Any], lines: Lines) -> str:
    if doc.get("format") == QNA_FORMAT:
        return verify_qna(doc, lines)
    if doc.get("format") != FORMAT:
        raise Misfit("format", f"not {FORMAT}: {doc.get('format')!r}")
    poll = doc["poll"]
    kind = poll["kind"]
    text = kind in ("wordcloud", "openanswer")
    public = poll.get("ballot_secrecy") == "public" and not text
    head = check_chain(doc, lines)
    state = replay(doc)
    check_board(doc, state, public, lines)
    ballots = ballots_of(doc, state, public, lines)
    check_imports(doc, state, lines)
    labels = {c["id"]: c["label"] for c in poll["choices"]}
    imported = sum(record["ballots"] for record in doc.get("imports", []))
    compare("result: the total", doc["result"].get("total"), len(state.counted) + imported)
    if kind in ("single", "multiple"):
        count_choices(doc, ballots, labels)
        count_quiz(doc, ballots)
    elif kind == "ranked":
        count_ranked(doc, ballots, labels, state)
    elif kind == "scale":
        count_scale(doc, ballots)
    elif text:
        count_text(doc)
    else:  # a new kind extends this file (Q&A boards have an export of their own)
        raise Misfit("poll", f"a kind this verifier does not know: {kind!r}")
    if doc["result"].get("qna") is not None:
        raise Misfit("result: qna", "Q&A upvotes this verifier cannot count yet")
    return (
        f"OK: poll {poll['slug']} ({kind}): a chain of {len(doc['batches'])} batches, "
        f"seal {head}; {len(state.counted)} ballots counted, {state.replaced} replaced, "
        f"{state.refused} refused; the published result counted again and equal"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("export", help="the audit export (manage.py export_audit)")
    args = parser.parse_args(argv)
    try:
        with open(args.export, encoding="utf-8") as handle:
            text = handle.read()
        doc = json.loads(text)
    except (OSError, UnicodeDecodeError) as problem:
        print(f"cannot read {args.export}: {problem}", file=sys.stderr)
        return 2
    except json.JSONDecodeError as problem:
        print(f"FAIL: line {problem.lineno}: not JSON ({problem.msg})")
        return 1
    try:
        print(verify(doc, Lines(text)))
    except Misfit as misfit:
        print(f"FAIL: {misfit}")
        return 1
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as problem:
        print(
            f"FAIL: the export is not in the expected shape ({type(problem).__name__}: {problem})"
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
