"""Voters who log in: organisers import accounts from a CSV (manage.py import_voters), a
voter logs in on the site's own log-in page (not the admin's, which takes staff only),
comes back to the poll, and votes on a poll that requires login through the real
pipeline. The log-in is throttled like the admin's."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management.base import CommandError
from django.test import Client, override_settings

from polls.models import Poll
from tests.support.commands import PASSWORD, import_voters, voters_file


@pytest.mark.django_db
def test_import_voters_creates_non_staff_accounts_with_hashed_passwords(tmp_path: Path) -> None:
    path = voters_file(
        tmp_path,
        f"username,password,email\nada,{PASSWORD},ada@example.org\ngrace,{PASSWORD}-2,\n",
    )
    assert "2 voter account(s) created" in import_voters(path)
    ada = get_user_model().objects.get(username="ada")
    assert not ada.is_staff
    assert not ada.is_superuser
    assert ada.email == "ada@example.org"
    assert ada.password.startswith("pbkdf2_sha256$")  # hashed, never the password itself
    assert PASSWORD not in ada.password
    assert ada.check_password(PASSWORD)
    # Again: the accounts are there and keep their passwords unless --update.
    again = voters_file(tmp_path, "username,password\nada,another-long-pass-7\n")
    assert "1 already there" in import_voters(again)
    ada.refresh_from_db()
    assert ada.check_password(PASSWORD)
    assert "1 updated" in import_voters(again, "--update")
    ada.refresh_from_db()
    assert ada.check_password("another-long-pass-7")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("text", "code", "says"),
    [
        ("name,pass\nada,x\n", 1, "line 1: the header lacks the column 'username'"),
        ("username,password\n", 1, "the file has a header but no voters"),
        ("", 1, "the file is empty"),
        (
            f"username,password\nada,{PASSWORD}\nada,{PASSWORD}\n",
            1,
            "line 3: 'ada' is also on line 2",
        ),
        (
            "username,password\nada,123\n",
            1,
            "line 2: password for 'ada': This password is too short",
        ),
        (f"username,password\n,{PASSWORD}\n", 1, "line 2: the username is empty"),
        (f"username,password\nbad name!,{PASSWORD}\n", 1, "line 2: username 'bad name!'"),
    ],
)
def test_a_bad_voters_file_imports_nothing_and_says_what_is_wrong_where(
    tmp_path: Path, text: str, code: int, says: str
) -> None:
    with pytest.raises(CommandError) as refused:
        import_voters(voters_file(tmp_path, text))
    assert refused.value.returncode == code
    assert says in str(refused.value)
    assert not get_user_model().objects.exists()


@pytest.mark.django_db
def test_one_bad_row_keeps_the_good_ones_out_too_and_files_that_cannot_be_read_exit_2(
    tmp_path: Path,
) -> None:
    path = voters_file(tmp_path, f"username,password\nada,{PASSWORD}\ngrace,password\n")
    with pytest.raises(CommandError, match="line 3: password for 'grace'"):
        import_voters(path)
    assert not get_user_model().objects.filter(username="ada").exists()
    with pytest.raises(CommandError) as missing:
        import_voters(str(tmp_path / "nope.csv"))
    assert missing.value.returncode == 2
    latin = voters_file(tmp_path, "username,password\nzoë,motdepasse-long-1\n", encoding="latin-1")
    with pytest.raises(CommandError) as unreadable:
        import_voters(latin)
    assert unreadable.value.returncode == 2
    assert "UTF-8" in str(unreadable.value)


@pytest.mark.django_db
def test_a_staff_account_is_not_changed_by_an_import(tmp_path: Path) -> None:
    get_user_model().objects.create_user("boss", password=PASSWORD, is_staff=True)
    with pytest.raises(CommandError, match="'boss' is a staff account"):
        import_voters(voters_file(tmp_path, f"username,password\nboss,{PASSWORD}-x\n"), "--update")


@pytest.mark.django_db
def test_log_in_to_vote_leads_to_the_voters_log_in_and_back_to_the_poll(
    make_poll: Callable[..., Poll],
) -> None:
    poll = make_poll(login_required=True)
    get_user_model().objects.create_user("ada", password=PASSWORD)
    client = Client()
    page = client.get(f"/polls/{poll.slug}/").content.decode()
    link = re.search(r'href="([^"]+)">Log in to vote', page)
    assert link
    assert link[1] == f"/accounts/login/?next=%2Fpolls%2F{poll.slug}%2F"
    form = client.get(link[1].replace("&amp;", "&"))
    assert form.status_code == 200
    assert 'autocomplete="current-password"' in form.content.decode()
    back = client.post(
        "/accounts/login/",
        {"username": "ada", "password": PASSWORD, "next": f"/polls/{poll.slug}/"},
    )
    assert back.status_code == 302
    assert back["Location"] == f"/polls/{poll.slug}/"
    page = client.get(back["Location"]).content.decode()
    assert "Log in to vote" not in page
    assert ">ada<" in page  # who is logged in, by the log-out button


@pytest.mark.django_db
def test_a_wrong_password_is_told_plainly() -> None:
    get_user_model().objects.create_user("ada", password=PASSWORD)
    page = Client().post("/accounts/login/", {"username": "ada", "password": "nope"})
    assert page.status_code == 200
    assert "Please enter a correct username and password" in page.content.decode()


@pytest.mark.django_db
@pytest.mark.usefixtures("redis_client")
@override_settings(ADMIN_LOGIN_RATE="3/h")
def test_the_voters_log_in_is_throttled_like_the_admins() -> None:
    # An address of its own: the count is per address, and other tests log in from 127.0.0.1.
    client = Client(REMOTE_ADDR="198.51.100.17")
    statuses = [
        client.post("/accounts/login/", {"username": "ada", "password": f"guess{n}"}).status_code
        for n in range(5)
    ]
    assert statuses == [200, 200, 200, 429, 429]
    # The same count as the admin's log-in: the same accounts behind both.
    assert client.post("/admin/login/", {"username": "ada", "password": "x"}).status_code == 429
