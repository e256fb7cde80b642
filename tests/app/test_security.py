"""Abuse and production settings: rate limits shared through Redis, admin login throttling,
unforgeable voter cookies, CSP, and a clean `check --deploy`."""

from __future__ import annotations

import json
import os
import secrets
import subprocess

import pytest
from django.test import Client, RequestFactory, override_settings

from polls.ratelimits import client_ip, parse_rate
from polls.voters import signed_voter_cookie
from tests.support import processes
from tests.support.clients import SECURITY_HEADERS


def manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Without the test stores: only the settings these checks are about."""
    base = {**os.environ, "DJANGO_SETTINGS_MODULE": "votingsite.settings"}
    return processes.manage(*args, env={**base, **env})


def test_production_settings_pass_check_deploy() -> None:
    result = manage("check", "--deploy", "--fail-level", "WARNING",
                    DJANGO_DEBUG="0", DJANGO_SECRET_KEY=secrets.token_urlsafe(50))  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key() -> None:
    result = manage("check", DJANGO_DEBUG="0", DJANGO_SECRET_KEY="")
    assert result.returncode == 1
    assert result.stderr.strip() == "error: DJANGO_SECRET_KEY must be set when DJANGO_DEBUG=0"


@pytest.mark.django_db
def test_pages_carry_a_content_security_policy_and_no_framing(client, make_poll) -> None:
    poll = make_poll()
    response = client.get(f"/polls/{poll.slug}/")
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert response["X-Frame-Options"] == "DENY"


def test_a_malformed_public_origin_is_refused_at_start_with_its_value() -> None:
    result = manage("check", DJANGO_PUBLIC_ORIGINS="http://127.0.0.1:8000,127.0.0.1:8000")
    assert result.returncode == 1
    assert "DJANGO_PUBLIC_ORIGINS: '127.0.0.1:8000' is not an origin" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("post", "/api/polls/{slug}/vote", b"x" * 70_000, 413),  # refused by a middleware
        ("post", "/polls/{slug}/vote/", b"x" * 70_000, 413),
        ("get", "/no-such-page/", b"", 404),
        ("post", "/api/polls/{slug}/vote", b"{}", 403),  # no CSRF token
        ("get", "/api/polls/{slug}/vote", b"", 405),
    ],
)
def test_every_error_carries_the_same_security_headers_as_a_page(
    make_poll, method: str, path: str, body: bytes, status: int
) -> None:
    poll = make_poll()
    client = Client(enforce_csrf_checks=True)
    page = client.get(f"/polls/{poll.slug}/")
    send = getattr(client, method)
    kwargs = {"data": body, "content_type": "application/json"} if method == "post" else {}
    error = send(path.format(slug=poll.slug), **kwargs)
    assert error.status_code == status
    for name in SECURITY_HEADERS:
        assert error.get(name) == page[name], f"{status}: {name}"


@pytest.mark.django_db
def test_a_forged_voter_cookie_is_replaced_not_trusted(make_poll) -> None:
    poll = make_poll()
    client = Client()
    client.cookies["voter"] = "someone-else:forged-signature"
    response = client.get(f"/polls/{poll.slug}/")
    issued = response.cookies["voter"]
    assert issued.value != "someone-else:forged-signature"
    assert issued["httponly"]
    assert issued["samesite"] == "Lax"


@pytest.mark.django_db
@pytest.mark.usefixtures("own_queue")
@override_settings(VOTE_RATE_PER_VOTER="3/h", VOTE_RATE_PER_IP="1000/h")
def test_a_voter_over_the_limit_gets_429_with_retry_after(make_poll) -> None:
    poll = make_poll()
    client = Client()
    choice = poll.choices.first().pk
    statuses = []
    for _ in range(5):
        response = client.post(f"/api/polls/{poll.slug}/vote", data=json.dumps({"choice": choice}),
                               content_type="application/json")  # fmt: skip
        statuses.append(response.status_code)
    assert statuses == [202, 202, 202, 429, 429]
    assert "Too many votes" in response.json()["error"]
    assert 0 < int(response["Retry-After"]) <= 3600
    form = client.post(f"/polls/{poll.slug}/vote/", data={"choice": choice})
    assert form.status_code == 429
    assert form["Retry-After"]


@pytest.mark.django_db
@pytest.mark.usefixtures("own_queue")
@override_settings(RATELIMIT_ENABLE=False, VOTE_RATE_PER_VOTER="1/h")
def test_ratelimit_enable_off_switches_limits_off(make_poll) -> None:
    poll = make_poll()
    client = Client()
    for _ in range(3):
        response = client.post(f"/api/polls/{poll.slug}/vote",
                               data=json.dumps({"choice": poll.choices.first().pk}),
                               content_type="application/json")  # fmt: skip
        assert response.status_code == 202


@pytest.mark.django_db
@pytest.mark.usefixtures("redis_client")
@override_settings(ADMIN_LOGIN_RATE="3/h")
def test_admin_login_attempts_are_throttled_per_address() -> None:
    client = Client()
    statuses = [
        client.post("/admin/login/", {"username": "admin", "password": f"guess{n}"}).status_code
        for n in range(5)
    ]
    assert statuses == [200, 200, 200, 429, 429]


@pytest.mark.parametrize(
    ("hops", "forwarded", "expected"),
    [
        (0, "6.6.6.6", "10.0.0.9"),  # no trusted proxy: the header is the client's to forge
        (1, "6.6.6.6, 203.0.113.7", "203.0.113.7"),  # our proxy appended the real client
        (2, "6.6.6.6, 203.0.113.7, 10.1.1.1", "203.0.113.7"),
        (1, "", "10.0.0.9"),
    ],
)
def test_client_address_trusts_only_our_own_proxies(hops, forwarded, expected) -> None:
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.9", HTTP_X_FORWARDED_FOR=forwarded)
    with override_settings(TRUSTED_PROXY_HOPS=hops):
        assert client_ip(request) == expected


def test_voter_cookie_helper_matches_the_site_signature() -> None:
    # The middleware, the load tests and the bench sign with this helper: Django's scheme.
    from django.core import signing

    signed = signed_voter_cookie("abc")
    assert signing.get_cookie_signer(salt="voterpolls.voter").unsign(signed) == "abc"


@pytest.mark.parametrize(
    ("rate", "parsed"),
    [("30/m", (30, 60)), ("1200/m", (1200, 60)), ("5/h", (5, 3600)), ("10/5m", (10, 300))],
)
def test_vote_rates_use_django_ratelimits_format(rate, parsed) -> None:
    assert parse_rate(rate) == parsed


def test_a_malformed_rate_is_refused_with_its_value() -> None:
    with pytest.raises(ValueError, match="'30 per minute'"):
        parse_rate("30 per minute")


@pytest.mark.django_db
@pytest.mark.usefixtures("own_queue")
@override_settings(VOTE_RATE_PER_IP="20/m", VOTE_RATE_PER_VOTER="1000/m")
def test_ipv6_addresses_of_one_64_share_the_per_address_limit(make_poll, redis_client) -> None:
    """30 addresses from one /64 (a phone's privacy addresses, or an attacker) count as one."""
    redis_client.delete(*redis_client.keys("rl:*") or ["rl:none"])
    poll = make_poll()
    choice = poll.choices.first().pk
    statuses = [
        Client(REMOTE_ADDR=f"2001:db8:1:2::{n:x}")
        .post(f"/api/polls/{poll.slug}/vote", {"choice": choice}, content_type="application/json")
        .status_code
        for n in range(1, 31)
    ]
    assert statuses == [202] * 20 + [429] * 10
    other = Client(REMOTE_ADDR="2001:db8:1:3::1").post(
        f"/api/polls/{poll.slug}/vote", {"choice": choice}, content_type="application/json"
    )
    assert other.status_code == 202  # another /64: another count


@pytest.mark.parametrize(
    ("address", "counted"),
    [
        ("203.0.113.9", "203.0.113.9"),
        ("2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2::/64"),
        ("not-an-address", "not-an-address"),
    ],
)
def test_what_the_per_address_limit_counts(address, counted) -> None:
    from polls.ratelimits import address_block

    assert address_block(address) == counted


@pytest.mark.django_db
def test_csv_exports_never_hand_a_spreadsheet_a_formula(make_poll, admin_client) -> None:
    import csv
    import io

    from django.core.management import call_command

    from polls.organising import create_poll
    from tests.support.votes import stored_vote

    evil = ['=HYPERLINK("http://evil.example","x")', "+1+1", "-2", "@SUM(A1)", "\tx", "\rx"]
    poll = make_poll(slug="csv-evil", question="=cmd|' /C calc'!A0", labels=evil)
    stored_vote(poll, evil[0], "anon:a")
    ranked = create_poll(slug="csv-ranked", question="Rank", labels=evil[:3], kind="ranked",
                         open_now=True)  # fmt: skip
    outputs = []
    for args in (["csv-evil"], ["csv-evil", "--ballots"], ["csv-ranked", "--ballots"]):
        out = io.StringIO()
        call_command("export_results", *args, stdout=out)
        outputs.append(out.getvalue())
    action = admin_client.post(
        "/admin/polls/poll/", {"action": "export_csv", "_selected_action": [poll.pk]}
    )
    outputs.append(action.content.decode())
    for text in outputs:
        for row in csv.reader(io.StringIO(text)):
            for value in row:
                assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), (value, text)
    assert "'=HYPERLINK" in outputs[0]
    assert ranked.kind == "ranked"


@pytest.mark.django_db
def test_a_session_cookie_stops_working_once_its_user_logs_out(client) -> None:
    from django.contrib.auth.models import User

    User.objects.create_superuser("boss", password="pw-boss-12345")
    assert (
        client.post("/admin/login/", {"username": "boss", "password": "pw-boss-12345"}).status_code
        == 302
    )
    stolen = client.cookies["sessionid"].value
    assert client.get("/admin/").status_code == 200
    client.post("/admin/logout/")

    thief = Client()
    thief.cookies["sessionid"] = stolen
    assert thief.get("/admin/").status_code == 302  # to the log-in page: the session is gone


@pytest.mark.django_db
@pytest.mark.usefixtures("own_queue")
def test_an_anonymous_vote_creates_no_session(make_poll) -> None:
    from django.contrib.sessions.models import Session

    poll = make_poll()
    client = Client()
    client.get(f"/polls/{poll.slug}/")
    client.post(f"/api/polls/{poll.slug}/vote", {"choice": poll.choices.first().pk},
                content_type="application/json")  # fmt: skip
    assert "sessionid" not in client.cookies
    assert Session.objects.count() == 0


MARKUP = '<script>alert("x")</script><img src=x onerror=alert(1)>'


@pytest.mark.django_db
def test_an_organisers_markup_is_shown_as_text_on_every_page(make_poll) -> None:
    poll = make_poll(slug="markup", question=f"Q {MARKUP}", labels=(f"A {MARKUP}", "B"))
    client = Client()
    for path in ("/", f"/polls/{poll.slug}/", f"/polls/{poll.slug}/results/"):
        page = client.get(path).content.decode()
        assert "<script>alert" not in page, path
        assert "<img src=x" not in page, path
        assert "&lt;script&gt;alert" in page, path  # shown, as text
    # The API and the live snapshot carry it as data; the pages' scripts set textContent.
    assert MARKUP in client.get(f"/api/polls/{poll.slug}").json()["question"]
