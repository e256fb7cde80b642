"""Moderation (issue 34) through its doors: the moderator's pages (who may, what they
show, each action by a plain form and by the script's JSON), the admin's actions on
TextEntry, the `moderate` command (its exit codes), and the API's refusal when a poll
refuses what the filter catches. Counts stay exact through every door (recount --check)."""

from __future__ import annotations

import datetime
import uuid
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.utils import timezone

from polls import kinds, live_sessions, organising, text_entries
from polls.models import PollCounter, TextEntry
from polls.pipeline.message import QueuedVote
from polls.pipeline.store import record_votes
from tests.support.kinds import kind_poll

pytestmark = pytest.mark.django_db

NOW = timezone.now()


def given(poll: Any, *ballots: list[str]) -> None:
    """Voters' ballots, as the web side queues them and the worker stores them."""
    kind = kinds.kind_for(poll)
    record_votes(
        [
            QueuedVote(
                uuid.uuid4(),
                poll.pk,
                None,
                f"anon:v{n}",
                NOW + datetime.timedelta(seconds=n),
                kind.normalise(poll, [], texts),
            )
            for n, texts in enumerate(ballots)
        ]
    )


def terms(poll: Any) -> dict[str, int]:
    return {t["text"]: t["count"] for t in text_entries.export_terms(poll.pk)}


def exact(poll: Any) -> None:
    assert organising.recount_poll(poll, check=True).differences == []


@pytest.fixture
def moderator(django_user_model: Any) -> Any:
    user = django_user_model.objects.create_user("moderator", password="x")
    user.groups.add(Group.objects.get(name="Moderators"))
    return user


def client_of(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


# --- Who may moderate -----------------------------------------------------------------


def test_the_moderators_group_has_the_permission(moderator: Any) -> None:
    assert moderator.has_perm("polls.moderate_entries")


@pytest.mark.parametrize(
    ("who", "status"),
    [("anonymous", 302), ("voter", 403), ("moderator", 200), ("presenter", 200), ("staff", 200)],
)
def test_only_moderators_presenters_and_staff_see_the_queue_and_act(
    who: str, status: int, django_user_model: Any, moderator: Any
) -> None:
    poll = kind_poll("wordcloud", moderation="before")
    given(poll, ["Python"])
    users = {
        "voter": django_user_model.objects.create_user("voter"),
        "moderator": moderator,
        "presenter": django_user_model.objects.create_user("presenter"),
        "staff": django_user_model.objects.create_user("staff", is_staff=True),
    }
    users["presenter"].groups.add(Group.objects.get(name="Presenters"))
    client = client_of(users[who]) if who in users else Client()
    page = client.get(f"/moderate/polls/{poll.slug}/")
    assert page.status_code == status
    if status == 302:
        assert "/login" in page["Location"]
    posted = client.post(
        f"/moderate/polls/{poll.slug}/act",
        {"action": "approve", "unit": "term", "value": "python"},
        HTTP_ACCEPT="application/json",
    )
    assert posted.status_code == (200 if status == 200 else 403)
    assert terms(poll) == ({"Python": 1} if status == 200 else {})


def test_the_page_shows_the_queue_with_counts_and_the_entries_as_text(moderator: Any) -> None:
    poll = kind_poll("openanswer")
    given(poll, ["<b>shit</b> happens"], ["fine talk"])
    html = client_of(moderator).get(f"/moderate/polls/{poll.slug}/").content.decode()
    assert "1 waiting" in html
    assert "0 hidden" in html
    assert "&lt;b&gt;shit&lt;/b&gt; happens" in html
    assert "<b>shit" not in html
    assert "caught by the filter" in html
    part = client_of(moderator).get(f"/moderate/polls/{poll.slug}/?part=queue")
    assert part.content.decode().lstrip().startswith("<section")


def test_a_plain_form_acts_and_comes_back_with_a_message(moderator: Any) -> None:
    poll = kind_poll("openanswer", moderation="before")
    given(poll, ["A question"])
    entry = TextEntry.objects.get(poll=poll)
    back = f"/moderate/polls/{poll.slug}/"
    answer = client_of(moderator).post(
        f"/moderate/polls/{poll.slug}/act",
        {"action": "approve", "unit": "entry", "value": entry.pk, "next": back},
        follow=True,
    )
    assert answer.redirect_chain[-1][0] == back
    assert "Approved: 1 shown." in answer.content.decode()
    entry.refresh_from_db()
    assert entry.state == "shown"
    assert entry.moderated_by == moderator


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"action": "delete", "unit": "entry", "value": "1"}, "bad_action"),
        ({"action": "hide", "unit": "entry", "value": "x"}, "bad_entry"),
        ({"action": "hide", "unit": "nothing"}, "bad_target"),
        ({"action": "approve", "unit": "term", "value": "x"}, "per_entry"),
    ],
)
def test_a_bad_action_is_a_400_with_its_code(
    body: dict[str, str], code: str, moderator: Any
) -> None:
    poll = kind_poll("openanswer")
    answer = client_of(moderator).post(
        f"/moderate/polls/{poll.slug}/act", body, HTTP_ACCEPT="application/json"
    )
    assert answer.status_code == 400
    assert answer.json()["code"] == code


def test_a_poll_without_audience_text_has_no_queue(moderator: Any) -> None:
    poll = kind_poll("single")
    client = client_of(moderator)
    assert client.get(f"/moderate/polls/{poll.slug}/").status_code == 404
    assert client.get(f"/moderate/polls/{poll.slug}/?part=panel").status_code == 204
    assert client.get("/moderate/polls/no-such-poll/").status_code == 404


def test_hiding_through_the_page_keeps_counts_exact_and_moves_seq(moderator: Any) -> None:
    poll = kind_poll("wordcloud")
    given(poll, ["Python", "Rust"], ["python"], ["Rust"])
    seq = PollCounter.objects.get(poll=poll).seq
    client = client_of(moderator)
    answer = client.post(
        f"/moderate/polls/{poll.slug}/act",
        {"action": "hide", "unit": "term", "value": "PYTHON"},
        HTTP_ACCEPT="application/json",
    )
    assert answer.json() | {"message": ""} == {
        "moved": 2,
        "seq": seq + 1,
        "message": "",
        "pending": 0,
        "hidden": 2,
    }
    assert terms(poll) == {"Rust": 2}
    exact(poll)
    one = TextEntry.objects.filter(poll=poll, state="hidden").first()
    assert one is not None
    client.post(
        f"/moderate/polls/{poll.slug}/act",
        {"action": "restore", "unit": "entry", "value": one.pk},  # a cloud's entry: its term
        HTTP_ACCEPT="application/json",
    )
    assert terms(poll) == {"Python": 2, "Rust": 2}
    exact(poll)


def test_the_session_page_lists_its_text_polls(django_user_model: Any, moderator: Any) -> None:
    owner = django_user_model.objects.create_user("owner")
    cloud, single = kind_poll("wordcloud"), kind_poll("single")
    session = live_sessions.create_session(title="Talk", owner=owner, polls=[cloud, single])
    session = live_sessions.go_live(session)
    html = client_of(moderator).get(f"/moderate/s/{session.code}/").content.decode()
    assert f'id="mod-{cloud.slug}"' in html
    assert f'id="mod-{single.slug}"' not in html
    assert "After: shown at once" in html  # a live session's default
    # The session's owner may moderate it without the group.
    assert client_of(owner).get(f"/moderate/s/{session.code}/").status_code == 200
    assert Client().get(f"/moderate/s/{session.code}/").status_code == 302


def test_the_presenter_view_carries_the_moderation_panel(django_user_model: Any) -> None:
    owner = django_user_model.objects.create_user("owner", is_staff=True)
    session = live_sessions.go_live(
        live_sessions.create_session(title="Talk", owner=owner, polls=[kind_poll("wordcloud")])
    )
    html = client_of(owner).get(f"/present/{session.code}/").content.decode()
    assert 'id="moderation-panel"' in html
    assert f"/moderate/s/{session.code}/" in html


# --- The admin's actions -----------------------------------------------------------------


def test_the_admin_approves_hides_and_restores_entries(django_user_model: Any) -> None:
    admin = django_user_model.objects.create_superuser("admin", password="x")
    poll = kind_poll("wordcloud", moderation="before")
    given(poll, ["Python"], ["python", "Go"])
    client = client_of(admin)
    ids = list(TextEntry.objects.filter(poll=poll, key="python").values_list("pk", flat=True))

    def act(action: str, chosen: list[int]) -> None:
        page = client.post(
            "/admin/polls/textentry/",
            {"action": action, "_selected_action": chosen},
            follow=True,
        )
        assert page.status_code == 200

    act("approve", ids[:1])  # one entry of a cloud: its whole term
    assert terms(poll) == {"Python": 2}
    act("hide", ids)
    assert terms(poll) == {}
    act("restore", ids[:1])
    assert terms(poll) == {"Python": 2}
    go = TextEntry.objects.get(poll=poll, key="go")
    act("hide_voters", [go.pk])  # "go"'s voter also gave "python"
    assert TextEntry.objects.get(pk=go.pk).state == "hidden"
    assert terms(poll) == {"Python": 1}
    exact(poll)


# --- The command -----------------------------------------------------------------------


def run(*args: str) -> str:
    import io

    out = io.StringIO()
    call_command("moderate", *args, stdout=out)
    return out.getvalue()


def test_the_command_lists_approves_hides_and_restores() -> None:
    poll = kind_poll("wordcloud", moderation="before")
    given(poll, ["Python", "shit"], ["python"])
    listed = run(poll.slug, "--list")
    assert "3 waiting" in listed
    assert "shit x1 [filter]" in listed
    assert "2 entries moved" in run(poll.slug, "--approve", "PYTHON")
    assert terms(poll) == {"Python": 2}
    assert "2 entries moved" in run(poll.slug, "--hide", "python")
    assert "2 entries moved" in run(poll.slug, "--restore", "Python")
    assert "1 entries moved" in run(poll.slug, "--approve-all")
    one = TextEntry.objects.get(poll=poll, key="shit")
    assert "2 entries moved" in run(poll.slug, "--hide-voter", f"#{one.pk}")
    exact(poll)


@pytest.mark.parametrize(
    ("kind", "args", "says"),
    [
        ("wordcloud", ("--hide", "#999999999"), "no entry"),
        ("openanswer", ("--approve", "word"), "per answer"),
        ("single", ("--list",), "no audience text"),
    ],
)
def test_the_command_fails_with_exit_code_1_and_changes_nothing(
    kind: str, args: tuple[str, ...], says: str
) -> None:
    poll = kind_poll(kind)
    with pytest.raises(CommandError) as failed:
        run(poll.slug, *args)
    assert failed.value.returncode == 1
    assert says in str(failed.value)


# --- Refusing at admission ---------------------------------------------------------------


def test_a_poll_that_refuses_the_filters_catch_answers_400_before_any_202() -> None:
    poll = kind_poll("openanswer", filter_action="refuse")
    client = Client()
    answer = client.post(
        f"/api/polls/{poll.slug}/vote",
        {"answer": "so ein Arschloch"},
        content_type="application/json",
    )
    assert answer.status_code == 400
    assert answer.json()["code"] == "entry_refused_by_filter"
    assert "does not accept" in answer.json()["error"]
    page = client.post(
        f"/polls/{poll.slug}/vote/", {"answer": "Scheiße"}, HTTP_ACCEPT_LANGUAGE="de"
    )
    assert page.status_code == 400
    assert "Eintrag 1 wurde abgelehnt" in page.content.decode()


# --- The voter's own waiting entries -------------------------------------------------------


def test_a_voters_caught_entry_is_marked_waiting_on_their_page_at_once() -> None:
    poll = kind_poll("wordcloud")
    client = Client()
    posted = client.post(f"/polls/{poll.slug}/vote/", {"entry": ["Python", "shit"]})
    assert posted.status_code == 303
    page = client.get(f"/polls/{poll.slug}/").content.decode()
    assert "Your words: Python, shit (waiting for a moderator)" in page


def test_a_stored_entry_is_marked_by_its_state_as_moderators_move_it() -> None:
    from polls.kinds.text import own_texts

    poll = kind_poll("openanswer", moderation="before")
    given(poll, ["Good talk"])
    key = (poll.pk, "anon:v0")

    def mine() -> list[str]:
        return own_texts(poll, text_entries.stored_ballots([key])[key])

    assert mine() == ["Good talk (waiting for a moderator)"]
    run(poll.slug, "--approve-all")
    assert mine() == ["Good talk"]
    # The stored ballot still equals the same ballot sent again (no rewrite, no refusal).
    sent = kinds.kind_for(poll).normalise(poll, [], ["Good talk"])
    assert text_entries.stored_ballots([key])[key] == sent


def test_a_sessions_owner_may_moderate_its_polls_and_nobody_elses(django_user_model: Any) -> None:
    owner = django_user_model.objects.create_user("owner")
    other = django_user_model.objects.create_user("other")
    cloud = kind_poll("wordcloud")
    live_sessions.create_session(title="Talk", owner=owner, polls=[cloud])
    assert client_of(owner).get(f"/moderate/polls/{cloud.slug}/").status_code == 200
    assert client_of(other).get(f"/moderate/polls/{cloud.slug}/").status_code == 403
    assert (
        client_of(owner).get(f"/moderate/polls/{kind_poll('wordcloud').slug}/").status_code == 403
    )


def test_a_logged_in_non_moderator_cannot_use_the_session_page_to_test_codes(
    django_user_model: Any,
) -> None:
    """Their lookups count as wrong codes, as anyone's: no oracle of live codes."""
    voter = django_user_model.objects.create_user("voter")
    client = client_of(voter)
    assert client.get("/moderate/s/000000/").status_code == 404
    owner = django_user_model.objects.create_user("owner")
    session = live_sessions.go_live(
        live_sessions.create_session(title="Talk", owner=owner, polls=[kind_poll("wordcloud")])
    )
    assert client.get(f"/moderate/s/{session.code}/").status_code == 403
