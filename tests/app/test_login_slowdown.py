"""Guessing one account's password is slowed per (account, address), and the account is
never locked: its owner logs in from elsewhere, and the guesser's address can still try
other accounts (up to the per-address limit)."""

from __future__ import annotations

import random
import uuid

import pytest
from django.contrib.auth.models import User
from django.test import Client, override_settings

pytestmark = pytest.mark.django_db


def an_address() -> str:
    return f"10.{random.randrange(256)}.{random.randrange(256)}.{random.randrange(1, 255)}"


@override_settings(ADMIN_LOGIN_RATE="1000/m", LOGIN_RATE_PER_ACCOUNT_ADDRESS="5/5m")
def test_guesses_at_one_account_from_one_address_slow_down_and_never_lock_it() -> None:
    name = f"presenter-{uuid.uuid4().hex[:8]}"
    User.objects.create_user(name, password="the-right-one-123")
    other = f"voter-{uuid.uuid4().hex[:8]}"
    User.objects.create_user(other, password="another-right-one-456")
    guesser = Client(REMOTE_ADDR=an_address())
    statuses = [
        guesser.post("/accounts/login/", {"username": name, "password": f"guess{n}"}).status_code
        for n in range(5)
    ]
    assert statuses == [200] * 5  # the form again, "wrong password"
    slowed = guesser.post("/accounts/login/", {"username": name.upper(), "password": "guess6"})
    assert slowed.status_code == 429
    assert 1 <= int(slowed["Retry-After"]) <= 300
    right = {"username": name, "password": "the-right-one-123"}
    assert guesser.post("/accounts/login/", right).status_code == 429  # slowed, even so
    # Never a lock: the account's owner, elsewhere, logs in at once ...
    assert Client(REMOTE_ADDR=an_address()).post("/accounts/login/", right).status_code == 302
    # ... and the same address may still log in to another account.
    mine = {"username": other, "password": "another-right-one-456"}
    assert guesser.post("/accounts/login/", mine).status_code == 302
