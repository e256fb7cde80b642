"""Moderation (issue 34) on the app tier: the modes decide a new entry's state, the filter
holds or refuses at admission, a word cloud is moderated per term (every voter's, now and
later) and open answers per entry, a voter's entries hide together, approve-all; every
action keeps the counts equal to a count of the entries (`recount --check`), bumps the
poll's seq and is kept (who, when)."""

from __future__ import annotations

import datetime
import uuid
from typing import Any

import pytest
from django.utils import timezone, translation

from polls import kinds, moderation, organising, text_entries
from polls.kinds.base import BallotProblem
from polls.models import EntryCounter, Poll, PollCounter, TermDecision, TextEntry
from polls.moderation import APPROVE, ENTRY, HIDE, RESTORE, TERM, VOTER, WAITING, Target
from polls.pipeline.message import QueuedVote
from polls.pipeline.store import record_votes
from tests.support.kinds import kind_poll

pytestmark = pytest.mark.django_db

NOW = timezone.now()


def ballot(poll: Poll, voter: str, texts: list[str], *, when: float = 0) -> QueuedVote:
    """A text ballot as the web side queues it: normalised, filtered."""
    checked = kinds.kind_for(poll).normalise(poll, [], texts)
    at = NOW + datetime.timedelta(seconds=when)
    return QueuedVote(uuid.uuid4(), poll.pk, None, f"anon:{voter}", at, checked)


def store(*votes: QueuedVote) -> None:
    record_votes(list(votes))


def states(poll: Poll) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {"shown": [], "pending": [], "hidden": []}
    for shown, state in (
        TextEntry.objects.filter(poll=poll).order_by("id").values_list("shown", "state")
    ):
        found[state].append(shown)
    return found


def terms(poll: Poll) -> dict[str, int]:
    return {t["text"]: t["count"] for t in text_entries.export_terms(poll.pk)}


def exact(poll: Poll) -> None:
    """The stored counts equal a count of the entries (what `recount --check` checks)."""
    assert organising.recount_poll(poll, check=True).differences == []


def seq(poll: Poll) -> int:
    return PollCounter.objects.get(poll=poll).seq


# --- The modes: a new entry's state ----------------------------------------------------

# (mode, the filter caught it, a term decision, hidden before for this voter) -> state
STATE_RULES = [
    (False, None, False, False, "shown"),  # off or after: shown at once
    (False, None, True, False, "pending"),  # the filter's catch waits, in every mode
    (True, None, False, False, "pending"),  # before: everything waits
    (True, None, True, False, "pending"),
    (True, "shown", False, False, "shown"),  # an approved term shows, even in before mode
    (False, "shown", True, False, "shown"),  # approving a caught term approves it for all
    (False, "hidden", False, False, "hidden"),  # a hidden term stays hidden for everyone
    (True, "hidden", True, False, "hidden"),
    (False, None, False, True, "hidden"),  # the voter sends the hidden entry again
    (False, "shown", False, True, "shown"),  # ... unless its term was approved since
]


@pytest.mark.parametrize(("before", "decision", "held", "was_hidden", "state"), STATE_RULES)
def test_a_new_entrys_state_follows_the_mode_the_filter_and_the_decisions(
    before: bool, decision: str | None, held: bool, was_hidden: bool, state: str
) -> None:
    item = text_entries.item("x", "x", held=held)
    found = text_entries.initial_state(
        item, before=before, decision=decision, was_hidden=was_hidden
    )
    assert found == state


def test_the_default_mode_is_after_in_a_live_session_and_off_elsewhere(
    django_user_model: Any,
) -> None:
    from polls import live_sessions

    poll = kind_poll("wordcloud")
    assert text_entries.mode_of(poll) == "off"
    owner = django_user_model.objects.create_user("owner")
    live_sessions.create_session(title="Talk", owner=owner, polls=[poll])
    assert text_entries.mode_of(poll) == "after"
    poll.options["moderation"] = "before"
    assert text_entries.mode_of(poll) == "before"


def test_in_before_mode_nothing_counts_until_approved() -> None:
    poll = kind_poll("wordcloud", moderation="before")
    store(ballot(poll, "a", ["Python"]), ballot(poll, "b", ["python", "Rust"], when=1))
    assert states(poll)["pending"] == ["Python", "python", "Rust"]
    assert terms(poll) == {}
    moderation.apply(poll, APPROVE, Target(TERM, "PYTHON"))
    assert terms(poll) == {"Python": 2}
    store(ballot(poll, "c", ["pYthon"], when=2))  # a later entry of an approved term
    assert terms(poll) == {"Python": 3}
    assert states(poll)["pending"] == ["Rust"]
    exact(poll)


# --- The filter: hold or refuse, whose lists ---------------------------------------------


def test_the_filter_holds_by_default_and_refuses_at_admission_when_the_poll_says_so() -> None:
    held = kind_poll("openanswer")
    (entry,) = kinds.kind_for(held).normalise(held, [], ["so ein Arschloch"])
    assert entry.get("held") is True
    refusing = kind_poll("openanswer", filter_action="refuse")
    with pytest.raises(BallotProblem) as refused, translation.override("en"):
        kinds.kind_for(refusing).normalise(refusing, [], ["so ein Arschloch"])
    assert refused.value.code == "entry_refused_by_filter"
    assert "refused" in str(refused.value)
    assert kinds.kind_for(refusing).normalise(refusing, [], ["so ein Tag"])


@pytest.mark.parametrize(
    ("languages", "text", "caught"),
    [
        ("", "Bitte", False),  # German "please" passes the site's four
        ("fr", "Bitte", True),  # a French-only poll catches the French list's "bite"
        ("de,en", "Bitte", False),
        ("en", "Arschloch", False),  # German lists not applied
        ("de", "Arschloch", True),
    ],
)
def test_the_polls_languages_choose_the_lists(languages: str, text: str, caught: bool) -> None:
    poll = kind_poll("wordcloud", filter_languages=languages or None)
    (entry,) = kinds.kind_for(poll).normalise(poll, [], [text])
    assert bool(entry.get("held")) is caught


@pytest.mark.parametrize(
    ("options", "problem"),
    [
        ({"moderation": "sometimes"}, "moderation"),
        ({"filter_action": "shout"}, "filter_action"),
        ({"filter_languages": "en,it"}, "filter_languages"),
        ({"filter_languages": "de, EN"}, None),
        ({"moderation": "before", "filter_action": "refuse"}, None),
    ],
)
def test_the_moderation_options_are_checked(options: dict[str, Any], problem: str | None) -> None:
    for name in ("wordcloud", "openanswer"):
        found = kinds.KINDS[name].option_problems(options)
        assert list(found) == ([problem] if problem else [])


# --- The unit: a cloud's term, an answer, a voter; counts stay exact ----------------------


def test_a_cloud_is_moderated_per_term_for_every_voter_and_the_counts_stay_exact(
    django_user_model: Any,
) -> None:
    poll = kind_poll("wordcloud")
    moderator = django_user_model.objects.create_user("mod")
    store(
        ballot(poll, "a", ["Python", "shit"]),
        ballot(poll, "b", ["python", "SHIT"], when=1),
        ballot(poll, "c", ["Rust"], when=2),
    )
    assert terms(poll) == {"Python": 2, "Rust": 1}
    assert states(poll)["pending"] == ["shit", "SHIT"]
    before = seq(poll)

    done = moderation.apply(poll, APPROVE, Target(TERM, "Shit"), by=moderator)
    assert done.moved == 2
    assert done.key == "shit"
    assert done.seq == before + 1 == seq(poll)
    assert sum(terms(poll).values()) == 5
    exact(poll)

    done = moderation.apply(poll, HIDE, Target(TERM, "python"), by=moderator)
    assert done.moved == 2
    assert states(poll)["hidden"] == ["Python", "python"]
    hidden = TextEntry.objects.filter(poll=poll, state="hidden")
    assert {(e.moderated_by, e.moderated_at is not None) for e in hidden} == {(moderator, True)}
    assert "python" not in {k.lower() for k in terms(poll)}
    exact(poll)
    counter = EntryCounter.objects.get(poll=poll)
    assert (counter.entries, counter.pending, counter.hidden) == (3, 0, 2)

    store(ballot(poll, "d", ["PYTHON"], when=3))  # the hidden term stays hidden for others
    assert states(poll)["hidden"][-1] == "PYTHON"
    moderation.apply(poll, RESTORE, Target(TERM, "python"), by=moderator)
    assert states(poll)["hidden"] == []
    assert sum(terms(poll).values()) == 6
    assert TermDecision.objects.get(poll=poll, key="python").decision == "shown"
    exact(poll)


def test_open_answers_are_moderated_per_entry() -> None:
    poll = kind_poll("openanswer", moderation="before")
    store(ballot(poll, "a", ["Good talk"]), ballot(poll, "b", ["good talk"], when=1))
    first, second = TextEntry.objects.filter(poll=poll).order_by("id")
    moderation.apply(poll, APPROVE, Target(ENTRY, first.pk))
    assert states(poll) == {"shown": ["Good talk"], "pending": ["good talk"], "hidden": []}
    with pytest.raises(moderation.ModerationError) as refused:
        moderation.apply(poll, APPROVE, Target(TERM, "good talk"))
    assert refused.value.code == "per_entry"
    moderation.apply(poll, HIDE, Target(ENTRY, second.pk))
    moderation.apply(poll, RESTORE, Target(ENTRY, second.pk))
    assert terms(poll) == {"Good talk": 2}
    exact(poll)


def test_hiding_a_voter_hides_all_their_entries_and_their_resend_stays_hidden() -> None:
    poll = kind_poll("wordcloud")
    store(ballot(poll, "troll", ["spam", "eggs", "ham"]), ballot(poll, "b", ["eggs"], when=1))
    one = TextEntry.objects.filter(poll=poll, voter_key="anon:troll").first()
    assert one is not None
    done = moderation.apply(poll, HIDE, Target(VOTER, one.pk))
    assert done.moved == 3
    assert terms(poll) == {"eggs": 1}
    store(ballot(poll, "troll", ["spam", "new"], when=2))  # "spam" again: still hidden
    assert states(poll)["hidden"] == ["spam"]
    assert terms(poll) == {"eggs": 1, "new": 1}
    exact(poll)


def test_approve_all_approves_every_waiting_entry_and_decides_their_terms() -> None:
    poll = kind_poll("wordcloud", moderation="before")
    store(ballot(poll, "a", ["one", "two"]), ballot(poll, "b", ["two", "shit"], when=1))
    done = moderation.apply(poll, APPROVE, Target(WAITING))
    assert done.moved == 4
    assert terms(poll) == {"two": 2, "one": 1, "shit": 1}
    store(ballot(poll, "c", ["one"], when=2))  # its term approved: shown at once
    assert terms(poll)["one"] == 2
    exact(poll)


@pytest.mark.parametrize(
    ("kind", "action", "target", "code"),
    [
        ("wordcloud", "delete", Target(TERM, "x"), "bad_action"),
        ("wordcloud", APPROVE, Target(TERM, "  "), "bad_term"),
        ("wordcloud", HIDE, Target(ENTRY, "abc"), "bad_entry"),
        ("wordcloud", HIDE, Target(ENTRY, 10**9), "no_entry"),
        ("wordcloud", HIDE, Target(WAITING), "bad_target"),
        ("single", HIDE, Target(ENTRY, 1), "not_text"),
    ],
)
def test_a_bad_action_is_refused_with_its_code_before_anything_changes(
    kind: str, action: str, target: Target, code: str
) -> None:
    poll = kind_poll(kind)
    before = list(PollCounter.objects.filter(poll=poll).values_list("seq", flat=True))
    with pytest.raises(moderation.ModerationError) as refused:
        moderation.apply(poll, action, target)
    assert refused.value.code == code
    assert list(PollCounter.objects.filter(poll=poll).values_list("seq", flat=True)) == before


def test_an_action_that_moves_nothing_changes_nothing() -> None:
    poll = kind_poll("openanswer")
    store(ballot(poll, "a", ["fine"]))
    entry = TextEntry.objects.get(poll=poll)
    before = seq(poll)
    assert moderation.apply(poll, APPROVE, Target(ENTRY, entry.pk)).moved == 0  # shown already
    assert moderation.apply(poll, RESTORE, Target(ENTRY, entry.pk)).moved == 0
    assert seq(poll) == before


def test_the_queue_shows_a_cloud_per_term_and_answers_per_entry() -> None:
    poll = kind_poll("wordcloud", moderation="before")
    store(ballot(poll, "a", ["Python"]), ballot(poll, "b", ["python", "Go"], when=1))
    found = moderation.queue(poll)
    assert found["unit"] == "term"
    assert found["mode"] == "before"
    assert found["pending"] == 3
    assert sorted((row["key"], row["count"]) for row in found["waiting"]) == [
        ("go", 1),
        ("python", 2),
    ]
    answers = kind_poll("openanswer")
    store(ballot(answers, "a", ["shit happens"]))
    found = moderation.queue(answers)
    assert found["unit"] == "entry"
    assert found["mode"] == "off"
    assert [(row["text"], row["flagged"]) for row in found["waiting"]] == [("shit happens", True)]
