"""The README's run command serves the site as in production: the roles started with
scripts/run's own environment (scripts/run-production.env) behind the front door answer
with the product's designed error pages, never Django's debug page; static files and the
favicon come through WhiteNoise; plain HTTP on loopback works (no HTTPS redirect, no
Secure cookies)."""

from __future__ import annotations

import re
import secrets
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from django.test import RequestFactory

from polls import views
from polls.models import Poll
from tests.support import processes

RUN = processes.ROOT / "scripts" / "run"
RUN_ENV = processes.ROOT / "scripts" / "run-production.env"

# What Django's debug pages show: none of it may reach a visitor of the run command.
DEBUG_PAGE_SIGNS = ("DEBUG = True", "URLconf", "Using the URLconf", "Traceback", "/metrics")


def run_env() -> dict[str, str]:
    """scripts/run-production.env, as scripts/run exports it."""
    pairs = {}
    for raw in RUN_ENV.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            name, _, value = line.partition("=")
            pairs[name] = value
    return pairs


def test_scripts_run_exports_the_production_environment_unless_asked_for_debug() -> None:
    script = RUN.read_text(encoding="utf-8")
    assert 'source "$ROOT/scripts/run-production.env"' in script
    env = run_env()
    assert env["DJANGO_DEBUG"] == "0"
    assert env["DJANGO_SECURE_SSL_REDIRECT"] == "0"
    assert env["DJANGO_SECURE_COOKIES"] == "0"
    # It says so, and prints the index.
    assert "DJANGO_SECURE_SSL_REDIRECT=0 and DJANGO_SECURE_COOKIES=0" in script
    assert re.search(r"Polls: +http://\$site/\n", script)
    assert "--debug) debug=1" in script


@pytest.fixture(scope="module")
def production_site(
    django_db_setup: None, django_db_blocker: Any, redis_client: Any
) -> Iterator[processes.Site]:
    """voting and results with scripts/run's environment (debug off, hashed static files
    collected first, a secret key of their own) behind the front door."""
    static = Path(tempfile.mkdtemp(prefix="static-", dir=processes.ARTIFACTS))
    with django_db_blocker.unblock():
        env = {**run_env(), "DJANGO_SECRET_KEY": secrets.token_urlsafe(40)}
        env["DJANGO_STATIC_ROOT"] = str(static)
        collected = processes.manage("collectstatic", "--noinput", env=processes.role_env(**env))
        assert collected.returncode == 0, collected.stderr
        voting = processes.voting_server(env=env).start()
        results = processes.results_server(env=env).start()
    door = processes.FrontDoor(voting=voting.url, results=results.url)
    try:
        voting.wait_ready()
        results.wait_ready()
        door.start()
        door.wait_ready()
        yield processes.Site(url=door.url, door=door, voting=voting, results=results, worker=None)  # type: ignore[arg-type]
    finally:
        door.stop()
        voting.stop()
        results.stop()
        shutil.rmtree(static, ignore_errors=True)


def assert_product_page(response: requests.Response, status: int, heading: str) -> None:
    assert response.status_code == status, response.text[:500]
    assert response.headers["Content-Type"].startswith("text/html")
    body = response.text
    assert heading in body
    assert 'href="/"' in body  # a way back to the polls
    assert 'rel="stylesheet"' in body
    for sign in DEBUG_PAGE_SIGNS:
        assert sign not in body, f"{sign!r} on the {status} page"


pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.processes]


def test_an_unknown_address_gets_the_products_404_page_from_either_role(
    production_site: processes.Site,
) -> None:
    for path in ("/no-such-page", "/polls/no-such-poll/", "/polls/no-such-poll/results/"):
        page = requests.get(f"{production_site.url}{path}", timeout=10, allow_redirects=False)
        assert_product_page(page, 404, "There is no page here")
    api = requests.get(f"{production_site.url}/api/polls/no-such-poll", timeout=10)
    assert api.status_code == 404
    assert api.json() == {"error": "No poll with slug 'no-such-poll'.", "code": "poll_not_found"}


def test_plain_http_works_no_https_redirect_no_secure_cookie(
    production_site: processes.Site, make_poll: Callable[..., Poll]
) -> None:
    poll = make_poll(slug="run-command-pets")
    page = requests.get(
        f"{production_site.url}/polls/{poll.slug}/", timeout=10, allow_redirects=False
    )
    assert page.status_code == 200
    assert "Strict-Transport-Security" not in page.headers
    cookies = page.headers.get("Set-Cookie", "")
    assert "csrftoken=" in cookies
    assert "Secure" not in cookies


def test_static_files_and_the_favicon_come_through_whitenoise_hashed(
    production_site: processes.Site,
) -> None:
    index = requests.get(f"{production_site.url}/", timeout=10).text
    stylesheet = re.search(r'href="(/static/polls/site\.[0-9a-f]{12}\.css)"', index)
    icon = re.search(r'href="(/static/polls/favicon\.[0-9a-f]{12}\.svg)"', index)
    assert stylesheet, "no hashed stylesheet: static files are not the production ones"
    assert icon, "no favicon link"
    css = requests.get(f"{production_site.url}{stylesheet[1]}", timeout=10)
    assert css.status_code == 200
    assert "immutable" in css.headers.get("Cache-Control", "")
    for base in (production_site.url, production_site.voting.url, production_site.results.url):
        favicon = requests.get(f"{base}/favicon.ico", timeout=10)
        assert favicon.status_code == 200, base
        assert favicon.headers["Content-Type"].startswith("image/svg+xml")


def test_the_500_page_renders_without_a_database_or_request_context(
    django_db_blocker: Any,
) -> None:
    with django_db_blocker.block():  # any query would fail the test
        response = views.server_error(RequestFactory().get("/polls/x/"))
    assert response.status_code == 500
    body = response.content.decode()
    assert "Something went wrong on our side" in body
    assert 'href="/"' in body


@pytest.mark.parametrize(
    ("status", "heading"),
    [
        (403, "This cannot be done from here"),
        (404, "There is no page here"),
        (500, "Something went wrong on our side"),
        (503, "The site cannot take this right now"),
    ],
)
def test_each_error_page_is_designed_and_says_what_happened(status: int, heading: str) -> None:
    from polls.responses import error_page

    body = error_page(status, "What exactly went wrong.").content.decode()
    assert heading in body
    assert "What exactly went wrong." in body
    assert 'href="/"' in body
    assert "<title>" in body
