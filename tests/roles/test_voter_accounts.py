"""A voter who logs in, on the real site: imported by manage.py import_voters, logged in on
the site's own log-in page, voting on a poll that requires login through the real
pipeline."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests
from django.contrib.auth import get_user_model

from polls.models import Poll, Vote
from polls.voters import voter_key_for
from tests.support import processes
from tests.support.commands import PASSWORD, import_voters, voters_file


@pytest.mark.django_db(transaction=True)
@pytest.mark.processes
def test_a_non_staff_voter_logs_in_and_votes_on_a_login_required_poll(
    make_poll: Callable[..., Poll], site: Any, tmp_path: Path
) -> None:
    poll = make_poll(
        slug=f"members-{uuid.uuid4().hex[:8]}", labels=("Cats", "Dogs"), login_required=True
    )
    import_voters(voters_file(tmp_path, f"username,password\nada,{PASSWORD}\n"))
    ada = get_user_model().objects.get(username="ada")
    http = requests.Session()
    login = http.get(f"{site.url}/accounts/login/?next=/polls/{poll.slug}/", timeout=10)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login.text)
    assert token
    back = http.post(
        f"{site.url}/accounts/login/",
        data={
            "csrfmiddlewaretoken": token[1],
            "username": "ada",
            "password": PASSWORD,
            "next": f"/polls/{poll.slug}/",
        },
        headers={"Referer": f"{site.url}/accounts/login/"},
        allow_redirects=False,
        timeout=10,
    )
    assert back.status_code == 302, back.text[:500]
    assert back.headers["Location"] == f"/polls/{poll.slug}/"
    page = http.get(f"{site.url}/polls/{poll.slug}/", timeout=10).text
    assert "Log in to vote" not in page
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert token
    dogs = poll.choices.get(label="Dogs").pk
    voted = http.post(
        f"{site.url}/polls/{poll.slug}/vote/",
        data={"csrfmiddlewaretoken": token[1], "choice": dogs},
        headers={"Referer": f"{site.url}/polls/{poll.slug}/"},
        allow_redirects=False,
        timeout=10,
    )
    assert voted.status_code == 303, voted.text[:500]
    processes.wait_for(
        lambda: Vote.objects.filter(
            poll=poll, voter_key=voter_key_for(user_id=ada.pk, anonymous_id="")
        ).exists(),
        what="the logged-in voter's vote, stored by the worker",
    )
    assert Vote.objects.get(poll=poll).choice_id == dogs
