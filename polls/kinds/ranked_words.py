"""Ranked choice's rounds in plain words: each round said in sentences, in the active
language, from the round's data in the results snapshot (who leads, who has the fewest
and goes, a tie and how it was broken, a batch, where the ballots move, how many become
inactive, the winner). polls/static/polls/kinds/ranked.js `describe` says the same
sentences from the same snapshot with the same catalogue (djangojs): a test in
tests/browser/test_rounds.py holds them to it. Numbers are grouped by the catalogue's
separators, so that the server and the script (Intl would group Spanish otherwise) agree.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import ngettext, pgettext

TICKET = 12  # a lot's ticket in words: its first hex digits (the API has it whole)


def grouped(number: int) -> str:
    """1,842 / 1.842 / 1 842 / 1842 (Spanish groups from five digits: CLDR's minimum)."""
    digits = str(abs(number))
    least = int(pgettext("fewest digits in a number to group its thousands", "4"))
    if len(digits) >= least:
        parts: list[str] = []
        while digits:
            parts.insert(0, digits[-3:])
            digits = digits[:-3]
        # The separator, from a thousand written out (a catalogue keeps no blank text).
        thousand = pgettext("one thousand, written with the separator of 10,000", "1,000")
        digits = thousand[1:-3].join(parts)
    return ("-" if number < 0 else "") + digits


def share(percent: float) -> str:
    """57.2% / 57,2 %: the snapshot's share (one rounding rule), as floatformat:"-1"."""
    text = f"{percent:.1f}".removesuffix(".0")
    return text.replace(".", pgettext("decimal separator", ".")) + pgettext(
        "percent sign after a number", "%"
    )


def listed(items: list[str]) -> str:
    """A, B and C."""
    if len(items) < 2:
        return "".join(items)
    return _("%(some)s and %(last)s") % {"some": ", ".join(items[:-1]), "last": items[-1]}


def reason_name(reason: str) -> str:
    names = {
        "overvote": pgettext("why a ballot is inactive", "overvote"),
        "skipped": pgettext("why a ballot is inactive", "skipped ranks"),
        "undervote": pgettext("why a ballot is inactive", "blank"),
    }
    return names.get(reason, reason)


def by_reason(counts: dict[str, int]) -> str:
    """12 (overvote), 3 (skipped ranks)."""
    return ", ".join(
        f"{grouped(n)} ({reason_name(reason)})" for reason, n in sorted(counts.items()) if n
    )


def describe(snapshot: dict[str, Any]) -> list[list[str]]:
    """Each round's sentences, first round first."""
    labels = {c["id"]: c["label"] for c in snapshot["choices"]}
    rounds = snapshot["rounds"]
    rules = snapshot.get("rules") or {}
    said = []
    for index, current in enumerate(rounds):
        after = rounds[index + 1] if index + 1 < len(rounds) else None
        sentences = []
        if index == 0 and (start := snapshot.get("inactive_from_start") or {}):
            count = sum(start.values())
            sentences.append(
                ngettext(
                    "%(count)s imported ballot ranked no one and counts in no round: %(reasons)s.",
                    "%(count)s imported ballots ranked no one and count in no round: %(reasons)s.",
                    count,
                )
                % {"count": grouped(count), "reasons": by_reason(start)}
            )
        sentences.append(_standing(labels, current, after, snapshot, rules))
        sentences.extend(_going(labels, current, rules))
        if after is not None:
            sentences.extend(_moves(labels, current, after))
        said.append([s for s in sentences if s])
    return said


def _name(labels: dict[int, str], choice: int) -> str:
    return labels.get(choice, "")


def _standing(
    labels: dict[int, str],
    current: dict[str, Any],
    after: dict[str, Any] | None,
    snapshot: dict[str, Any],
    rules: dict[str, Any],
) -> str:
    counts = current["counts"]
    active = sum(c["votes"] for c in counts)
    if not counts:
        return ""
    leader = max(counts, key=lambda c: c["votes"])  # the first listed of equals
    values = {
        "active": grouped(active),
        "leader": _name(labels, leader["id"]),
        "votes": grouped(leader["votes"]),
        "share": share(leader["percent"]),
    }
    if after is None:
        if snapshot.get("winner") is not None:
            winner = next(c for c in counts if c["id"] == snapshot["winner"])
            return ngettext(
                "%(leader)s has more than half of the %(active)s ballot still counting "
                "(%(votes)s, %(share)s) and wins.",
                "%(leader)s has more than half of the %(active)s ballots still counting "
                "(%(votes)s, %(share)s) and wins.",
                active,
            ) % (
                values
                | {
                    "leader": _name(labels, winner["id"]),
                    "votes": grouped(winner["votes"]),
                    "share": share(winner["percent"]),
                }
            )
        if snapshot.get("tied"):
            return _("%(names)s are tied and the rules let none of them go: no one wins.") % {
                "names": listed([_name(labels, c) for c in snapshot["tied"]])
            }
        return _("No ballot counts for a choice still in the count: no one wins.")
    if 2 * leader["votes"] > active and rules.get("until_two"):
        return (
            _(
                "%(leader)s has more than half (%(votes)s, %(share)s), but the rules count on "
                "until two choices remain."
            )
            % values
        )
    return (
        ngettext(
            "No one has more than half of the %(active)s ballot still counting; %(leader)s "
            "leads with %(votes)s (%(share)s).",
            "No one has more than half of the %(active)s ballots still counting; %(leader)s "
            "leads with %(votes)s (%(share)s).",
            active,
        )
        % values
    )


def _going(labels: dict[int, str], current: dict[str, Any], rules: dict[str, Any]) -> list[str]:
    """Who goes after this round, and why: the fewest, a tie broken, or a batch."""
    moves = current.get("eliminations") or []
    if not moves:
        return []
    votes = {c["id"]: c["votes"] for c in current["counts"]}
    going = [m["id"] for m in moves]
    names = [_name(labels, c) for c in going]
    tie = current.get("tie")
    if tie is None and len(going) > 1:
        rest = [c for c in current["counts"] if c["id"] not in going]
        nearest = min(rest, key=lambda c: c["votes"])
        return [
            _(
                "%(names)s together have %(votes)s votes, fewer than %(next)s alone "
                "(%(next_votes)s): none of them can catch up, so all are eliminated together."
            )
            % {
                "names": listed(names),
                "votes": grouped(sum(votes.get(c, 0) for c in going)),
                "next": _name(labels, nearest["id"]),
                "next_votes": grouped(nearest["votes"]),
            }
        ]
    if tie is None:
        return [
            _("%(name)s has the fewest votes (%(votes)s) and is eliminated.")
            % {"name": names[0], "votes": grouped(votes.get(going[0], 0))}
        ]
    said = [
        _("%(names)s tie for the fewest votes, %(votes)s each.")
        % {
            "names": listed([_name(labels, c) for c in tie["tied"]]),
            "votes": grouped(votes.get(tie["tied"][0], 0)),
        }
    ]
    left = listed([_name(labels, c) for c in tie["still_tied"]])
    if tie["broken_by"] == "previous_rounds":
        said.append(
            _("%(name)s had fewer votes in an earlier round and is eliminated.")
            % {"name": names[0]}
        )
    elif tie["broken_by"] == "position":
        said.append(
            _(
                "Earlier rounds do not separate %(names)s; the rules eliminate the one "
                "listed last: %(name)s."
            )
            % {"names": left, "name": names[0]}
        )
    elif tie["broken_by"] == "lot":
        tickets = ", ".join(f"{_name(labels, t['id'])} {t['ticket'][:TICKET]}…" for t in tie["lot"])
        said.append(
            _(
                "Earlier rounds do not separate %(names)s: %(name)s is eliminated, drawn by "
                "lot (seed %(seed)s; tickets %(tickets)s; the lowest goes)."
            )
            % {"names": left, "name": names[0], "seed": rules.get("seed", ""), "tickets": tickets}
        )
    else:  # all_go
        said.append(
            _("The rules eliminate every choice tied for the fewest: %(names)s.")
            % {"names": listed(names)}
        )
    return said


def _moves(labels: dict[int, str], current: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """Where the ballots of the choices going move, and how many become inactive (and
    why, for imported records)."""
    moves = current.get("eliminations") or []
    if not moves:
        return []
    said = []
    if len(moves) == 1:
        transfers, inactive = moves[0]["transfers"], moves[0]["exhausted"]
    else:
        transfers, inactive = current["transfers"], current["transferred_to_exhausted"]
    transfers = sorted(transfers, key=lambda t: -t["votes"])  # most first; ties: poll order
    moved = sum(t["votes"] for t in transfers)
    to = ", ".join(f"{_name(labels, t['id'])} +{grouped(t['votes'])}" for t in transfers)
    if moved and len(moves) == 1:
        said.append(
            ngettext(
                "%(count)s ballot for %(name)s moves to its next choice: %(to)s.",
                "%(count)s ballots for %(name)s move to their next choice: %(to)s.",
                moved,
            )
            % {"count": grouped(moved), "name": _name(labels, moves[0]["id"]), "to": to}
        )
    elif moved:
        said.append(
            ngettext(
                "%(count)s of their ballots moves to its next choice: %(to)s.",
                "%(count)s of their ballots move to their next choice: %(to)s.",
                moved,
            )
            % {"count": grouped(moved), "to": to}
        )
    if inactive:
        said.append(
            ngettext(
                "%(count)s ballot has no more choices in the count and becomes inactive.",
                "%(count)s ballots have no more choices in the count and become inactive.",
                inactive,
            )
            % {"count": grouped(inactive)}
        )
        before, now = current.get("inactive") or {}, after.get("inactive") or {}
        reasons = {r: n - before.get(r, 0) for r, n in now.items() if n > before.get(r, 0)}
        if reasons:
            said.append(_("Of these: %(reasons)s.") % {"reasons": by_reason(reasons)})
    return said
