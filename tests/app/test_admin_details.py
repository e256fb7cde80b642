"""The admin's small things a new organiser trips on: the add form's "state now", new
choices' positions, and a column header that fits."""

from __future__ import annotations

import re

import pytest

from polls.models import Poll

pytestmark = pytest.mark.django_db

ADD = "/admin/polls/poll/add/"


def test_the_add_form_does_not_claim_draft_before_anything_is_saved(admin_client) -> None:
    page = admin_client.get(ADD).content.decode()
    assert "decided by the status and times above, once saved" in page
    assert re.search(r'<div class="readonly">\s*draft\s*</div>', page) is None


def test_new_choice_rows_get_positions_in_order(admin_client, make_poll) -> None:
    page = admin_client.get(ADD).content.decode()
    positions = re.findall(r'name="choices-(\d+)-position" value="(\d+)"', page)
    assert positions == [("0", "0"), ("1", "1"), ("2", "2"), ("3", "3")]
    poll = make_poll(labels=("Cats", "Dogs", "Fish"))  # positions 0, 1, 2
    change = admin_client.get(f"/admin/polls/poll/{poll.pk}/change/").content.decode()
    extra = re.findall(r'name="choices-3-position" value="(\d+)"', change)
    assert extra == ["3"]  # the next after the last, not 0


def test_the_list_column_headers_are_short(admin_client, make_poll) -> None:
    make_poll()
    page = admin_client.get("/admin/polls/poll/").content.decode()
    assert "public pages" not in page.lower()
    assert re.search(r'class="column-links">.*?>pages<', page, flags=re.S) or ">Pages<" in page
    assert Poll.objects.count() == 1
