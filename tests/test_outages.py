"""What a visitor gets while Postgres or Redis is down (README, "When a store is down").

The real roles (gunicorn for voting, daphne for results, a Celery worker) run against a
private Postgres and a private Redis that these tests stop and start again. A page that
needs the store that is down answers 503 with Retry-After, never a 500; a page that does
not need it still answers; and the vote pages keep working from the web process's copy
of the poll while Postgres is down.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
import requests

from tests import processes
from tests.clients import Browser
from tests.stores import PrivatePostgres, PrivateRedis

pytestmark = pytest.mark.processes

SLUG = "outage-poll"
# How long a web process serves its copy of a poll before reading it again (the default).
POLL_CACHE_SECONDS = 2


@dataclass
class Site:
    postgres: PrivatePostgres
    redis: PrivateRedis
    voting: processes.WebServer
    results: processes.WebServer

    def public_pages(self) -> list[str]:
        """Every page and API a visitor can ask for, on the role the Ingress sends it to
        (deploy/k8s/ingress.yaml: results pages to the results role, the rest to voting)."""
        return [
            f"{self.voting.url}/",
            f"{self.voting.url}/polls/{SLUG}/",
            f"{self.results.url}/polls/{SLUG}/results/",
            f"{self.voting.url}/api/polls/{SLUG}",
            f"{self.voting.url}/api/polls/{SLUG}/results",
            f"{self.voting.url}/admin/login/",
        ]

    @contextmanager
    def postgres_stopped(self) -> Iterator[None]:
        self.postgres.stop()
        try:
            yield
        finally:
            self.postgres.start()

    @contextmanager
    def redis_stopped(self) -> Iterator[None]:
        self.redis.stop()
        try:
            yield
        finally:
            self.redis.start()


@pytest.fixture(scope="module")
def site() -> Iterator[Site]:
    postgres = PrivatePostgres().init()
    redis_store = PrivateRedis().start()
    started: list[processes.Worker | processes.WebServer] = []
    try:
        env = {"DATABASE_URL": postgres.url, "REDIS_URL": redis_store.url}
        processes.manage("migrate", "--noinput", env=processes.role_env(**env), check=True)
        processes.manage("create_poll", SLUG, "Cats or dogs?", "--choice", "Cats", "--choice",
                         "Dogs", "--open", env=processes.role_env(**env), check=True)  # fmt: skip
        # One voting process: the poll copy a test loads first is the one it asks again.
        voting = processes.voting_server(env=env, workers=1)
        results = processes.results_server(env=env)
        started += [voting.start(), results.start(), processes.Worker(env=env).start()]
        for role in started:
            role.wait_ready()
        yield Site(postgres, redis_store, voting, results)
    finally:
        for role in started:
            role.stop()
        redis_store.cleanup()
        postgres.cleanup()


def deliberate(answer: requests.Response) -> bool:
    """Not a 5xx, or the 503 with Retry-After that says "try again shortly"."""
    return answer.status_code < 500 or (
        answer.status_code == 503 and bool(answer.headers.get("Retry-After"))
    )


def ask_every_page(site: Site) -> list[str]:
    """Each public page's answer that is a 5xx other than a deliberate 503."""
    wrong = []
    for url in site.public_pages():
        answer = requests.get(url, timeout=15)
        if not deliberate(answer):
            wrong.append(f"{url}: {answer.status_code} {answer.text[:300]!r}")
    return wrong


def load_poll_copies(site: Site) -> None:
    """The voting process reads the poll once while Postgres is up (its copy)."""
    assert requests.get(f"{site.voting.url}/polls/{SLUG}/", timeout=10).status_code == 200
    assert requests.get(f"{site.voting.url}/api/polls/{SLUG}", timeout=10).status_code == 200


def test_while_postgres_is_down_the_results_page_and_api_answer_503_with_retry_after(
    site: Site,
) -> None:
    with site.postgres_stopped():
        page = requests.get(f"{site.results.url}/polls/{SLUG}/results/", timeout=15)
        api = requests.get(f"{site.voting.url}/api/polls/{SLUG}/results", timeout=15)

    assert page.status_code == 503, page.text[:500]
    assert page.headers["Retry-After"] == "5"
    assert "unavailable for a moment" in page.text
    assert api.status_code == 503, api.text[:500]
    assert api.headers["Retry-After"] == "5"
    assert "unavailable for a moment" in api.json()["error"]


def test_while_postgres_is_down_the_poll_page_shows_without_the_stored_vote(site: Site) -> None:
    voter = Browser(site.voting.url)
    cats = _choice_id(voter, "Cats")
    assert voter.vote_form(SLUG, cats).status_code == 303
    processes.wait_for(
        lambda: "(your vote)" in voter.open_poll(SLUG), what="the stored vote on the poll page"
    )

    with site.postgres_stopped():
        # Served from the process's copy of the poll: at once, and once the copy is due
        # to be read again (the database is tried, fails, and the copy keeps serving).
        pages = [voter.http.get(f"{site.voting.url}/polls/{SLUG}/", timeout=15)]
        time.sleep(POLL_CACHE_SECONDS + 0.5)
        pages.append(voter.http.get(f"{site.voting.url}/polls/{SLUG}/", timeout=15))

    for page in pages:
        assert page.status_code == 200, page.text[:500]
        assert "Cats or dogs?" in page.text
        assert 'name="choice"' in page.text  # the voter can still vote
        assert "(your vote)" not in page.text


def test_during_a_postgres_outage_no_page_answers_a_5xx_but_a_deliberate_503(
    site: Site,
) -> None:
    load_poll_copies(site)
    with site.postgres_stopped():
        wrong = ask_every_page(site)
    assert wrong == []


def test_during_a_redis_outage_no_page_answers_a_5xx_but_a_deliberate_503(site: Site) -> None:
    load_poll_copies(site)
    with site.redis_stopped():
        wrong = ask_every_page(site)
    assert wrong == []


def test_while_redis_is_down_the_vote_form_answers_a_503_page_with_retry_after(
    site: Site,
) -> None:
    voter = Browser(site.voting.url)
    dogs = _choice_id(voter, "Dogs")
    with site.redis_stopped():
        answer = voter.vote_form(SLUG, dogs)

    assert answer.status_code == 503, answer.text[:500]
    assert answer.headers["Retry-After"] == "5"
    assert answer.headers["Content-Type"].startswith("text/html")
    # The poll page again, with the reason and the form to try once more.
    assert "Votes cannot be taken right now; nothing was recorded." in answer.text
    assert "Cats or dogs?" in answer.text
    assert 'name="choice"' in answer.text


def _choice_id(voter: Browser, label: str) -> int:
    choices = voter.http.get(f"{voter.base}/api/polls/{SLUG}", timeout=10).json()["choices"]
    return next(int(c["id"]) for c in choices if c["label"] == label)
