"""What a visitor gets while Postgres or Redis is down (README, "When a store is down").

The real roles (gunicorn for voting, daphne for results, a Celery worker) run against a
private Postgres and a private Redis that these tests stop and start again. A page that
needs the store that is down answers 503 with Retry-After, never a 500; a page that does
not need it still answers; and the vote pages keep working from the web process's copy
of the poll while Postgres is down. For someone logged in, Postgres holds who they are:
their votes wait for it (503, nothing recorded), the pages that need no identity render.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
import requests
from django.db import OperationalError
from django.test import Client

from tests.support import processes
from tests.support.clients import Browser
from tests.support.stores import PrivatePostgres, PrivateRedis

pytestmark = pytest.mark.processes

SLUG = "outage-poll"
MEMBERS_SLUG = "members-poll"  # login_required
USER, PASSWORD = "ada", "pw-ada-outage-1"
# How long a web process serves its copy of a poll before reading it again (the default).
POLL_CACHE_SECONDS = 2


@dataclass
class Site:
    postgres: PrivatePostgres
    redis: PrivateRedis
    voting: processes.WebServer
    results: processes.WebServer
    session_code: str  # a live session USER presents

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
    def postgres_out(self, how: str) -> Iterator[None]:
        """Postgres "stopped" (connections refused) or "hung" (nothing answered)."""
        if how == "stopped":
            with self.postgres_stopped():
                yield
        else:
            with self.postgres.frozen():
                yield

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
        made = processes.manage("shell", "-c", SET_UP_MEMBERS, env=processes.role_env(**env),
                                check=True)  # fmt: skip
        session_code = made.stdout.split()[-1]
        # One voting process: the poll copy a test loads first is the one it asks again.
        voting = processes.voting_server(env=env, workers=1)
        results = processes.results_server(env=env)
        started += [voting.start(), results.start(), processes.Worker(env=env).start()]
        for role in started:
            role.wait_ready()
        yield Site(postgres, redis_store, voting, results, session_code)
    finally:
        for role in started:
            role.stop()
        redis_store.cleanup()
        postgres.cleanup()


# A user, a poll only logged-in people vote on, and a live session the user presents.
SET_UP_MEMBERS = f"""
from django.contrib.auth.models import User
from polls import live_sessions, organising
ada = User.objects.create_user({USER!r}, password={PASSWORD!r})
members = organising.create_poll(slug={MEMBERS_SLUG!r}, question="Members: tea or coffee?",
                                 labels=["Tea", "Coffee"], open_now=True, login_required=True)
first = organising.create_poll(slug="talk-1", question="First?", labels=["A", "B"], open_now=True)
second = organising.create_poll(slug="talk-2", question="Second?", labels=["A", "B"], open_now=True)
made = live_sessions.create_session(title="Talk", owner=ada, polls=[first, second])
print(live_sessions.go_live(made).code)
"""


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


# --- Logged-in people: Postgres holds who they are ----------------------------------------

# The most a request may wait on a hung Postgres: the log-in session's read (the query
# deadline, DATABASE_QUERY_TIMEOUT) and one more call on a new connection (the connect
# deadline, DATABASE_CONNECT_TIMEOUT), plus slack for a busy machine.
HUNG_BOUND_SECONDS = 5 + 3 + 2


def logged_in(site: Site) -> requests.Session:
    """A browser that logged in through the voters' log-in page (a session in Postgres)."""
    http = requests.Session()
    form = http.get(f"{site.voting.url}/accounts/login/", timeout=10)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text)
    assert token, form.text[:500]
    answer = http.post(
        f"{site.voting.url}/accounts/login/",
        data={"csrfmiddlewaretoken": token.group(1), "username": USER, "password": PASSWORD},
        headers={"Referer": f"{site.voting.url}/accounts/login/"},
        allow_redirects=False,
        timeout=10,
    )
    assert answer.status_code == 302, answer.text[:500]
    assert "sessionid" in http.cookies
    # Its voter cookie, the CSRF cookie, and the voting process's copies of the polls.
    for slug in (SLUG, MEMBERS_SLUG):
        assert http.get(f"{site.voting.url}/api/polls/{slug}", timeout=10).status_code == 200
        assert http.get(f"{site.voting.url}/polls/{slug}/", timeout=10).status_code == 200
    return http


def _timed(ask: Callable[[], requests.Response]) -> tuple[requests.Response, float]:
    began = time.monotonic()
    answer = ask()
    return answer, time.monotonic() - began


def _in_parallel(
    asks: dict[str, Callable[[], requests.Response]],
) -> dict[str, tuple[requests.Response, float]]:
    # The voting role runs 8 threads: each request waits out its own deadline, at once.
    with ThreadPoolExecutor(len(asks)) as pool:
        futures = {name: pool.submit(_timed, ask) for name, ask in asks.items()}
        return {name: future.result() for name, future in futures.items()}


def _ballot_keys(site: Site) -> list[str]:
    return sorted(str(key) for key in site.redis.client().keys("ballot:*"))


@pytest.mark.parametrize("how", ["stopped", "hung"])
def test_while_postgres_is_out_a_logged_in_persons_vote_and_controls_get_503_and_pages_render(
    site: Site, how: str
) -> None:
    person = logged_in(site)
    url = site.voting.url
    csrf = {"X-CSRFToken": person.cookies["csrftoken"] or ""}
    choices = {slug: person.get(f"{url}/api/polls/{slug}", timeout=10).json()["choices"][0]["id"]
               for slug in (SLUG, MEMBERS_SLUG)}  # fmt: skip
    ballots_before = _ballot_keys(site)

    def vote_api(slug: str) -> Callable[[], requests.Response]:
        return lambda: person.post(f"{url}/api/polls/{slug}/vote", json={"choice": choices[slug]},
                                   headers=csrf, timeout=30)  # fmt: skip

    def vote_form(slug: str) -> Callable[[], requests.Response]:
        data = {"csrfmiddlewaretoken": person.cookies["csrftoken"], "choice": choices[slug]}
        return lambda: person.post(f"{url}/polls/{slug}/vote/", data=data, timeout=30,
                                   headers={"Referer": f"{url}/polls/{slug}/"},
                                   allow_redirects=False)  # fmt: skip

    def control() -> requests.Response:
        return person.post(f"{url}/present/{site.session_code}/control", data={"action": "next"},
                           headers={**csrf, "Accept": "application/json"}, timeout=30)  # fmt: skip

    asks = {
        "API vote, open poll": vote_api(SLUG),
        "API vote, login-only poll": vote_api(MEMBERS_SLUG),
        "form vote, open poll": vote_form(SLUG),
        "form vote, login-only poll": vote_form(MEMBERS_SLUG),
        "presenter control": control,
        "poll page": lambda: person.get(f"{url}/polls/{SLUG}/", timeout=30),
        "login-only poll page": lambda: person.get(f"{url}/polls/{MEMBERS_SLUG}/", timeout=30),
        "API poll": lambda: person.get(f"{url}/api/polls/{SLUG}", timeout=30),
    }
    with site.postgres_out(how):
        answers = _in_parallel(asks)

    for name, (answer, seconds) in answers.items():
        print(f"Postgres {how}, logged in, {name}: {answer.status_code} in {seconds:.2f}s")
    for name, (answer, seconds) in answers.items():
        assert seconds < HUNG_BOUND_SECONDS, name
        assert answer.status_code != 500, f"{name}: {answer.text[:300]}"
    for name in ("API vote, open poll", "API vote, login-only poll"):
        answer = answers[name][0]
        assert (answer.status_code, answer.headers.get("Retry-After")) == (503, "5"), name
        assert answer.json()["code"] == "votes_unavailable", name
    for name in ("form vote, open poll", "form vote, login-only poll"):
        answer = answers[name][0]
        assert (answer.status_code, answer.headers.get("Retry-After")) == (503, "5"), name
        assert "nothing was recorded" in answer.text, name
        assert 'name="choice"' in answer.text, name  # the form again, to try once more
    answer = answers["presenter control"][0]
    assert (answer.status_code, answer.headers.get("Retry-After")) == (503, "5")
    assert answer.json()["code"] == "unavailable"
    for name in ("poll page", "login-only poll page"):
        answer = answers[name][0]
        assert answer.status_code == 200, name
        assert 'name="choice"' in answer.text, name
    answer = answers["API poll"][0]
    assert answer.status_code == 200
    assert answer.json()["your_choice"] is None
    # No vote was taken under any identity: no ballot was admitted.
    # (An earlier test's settled ballot may expire meanwhile: only new ones would tell.)
    assert set(_ballot_keys(site)) <= set(ballots_before)


def test_while_postgres_is_down_the_api_poll_answers_200_with_your_choice_null(
    site: Site,
) -> None:
    voter = Browser(site.voting.url)
    cats = _choice_id(voter, "Cats")
    assert voter.vote_form(SLUG, cats).status_code == 303
    api = f"{site.voting.url}/api/polls/{SLUG}"
    processes.wait_for(
        lambda: voter.http.get(api, timeout=10).json()["your_choice"] == cats,
        what="the stored vote in the API",
    )
    with site.postgres_stopped():
        answer = voter.http.get(api, timeout=15)

    assert answer.status_code == 200, answer.text[:500]
    assert answer.json()["your_choice"] is None
    assert answer.json()["question"] == "Cats or dogs?"


def test_a_store_outage_answer_is_logged_once_as_a_warning_in_the_requests_language(
    site: Site,
) -> None:
    person = logged_in(site)
    path = f"/present/{site.session_code}/control"
    earlier = len(site.voting.output())
    with site.postgres_stopped():
        answer = person.post(f"{site.voting.url}{path}", data={"action": "next"},
                             headers={"X-CSRFToken": person.cookies["csrftoken"] or "",
                                      "Accept": "application/json", "Accept-Language": "de"},
                             timeout=15)  # fmt: skip

    assert answer.status_code == 503
    assert answer.json()["code"] == "unavailable"
    assert "kurz nicht verfügbar" in answer.json()["error"], answer.json()
    lines = [line for line in site.voting.output()[earlier:].splitlines()
             if f"POST {path}" in line or line.endswith(f": {path}")]  # fmt: skip
    logged = [line for line in lines if "store unavailable" in line]
    assert len(logged) == 1, lines
    assert " WARNING " in logged[0]
    assert not [line for line in lines if "django.request" in line], lines


class _LosesPostgres:
    """A middleware whose store fails under it (as VoterMiddleware's log-in read did)."""

    def __init__(self, get_response: Callable[..., Any]) -> None:
        self.get_response = get_response

    def __call__(self, request: Any) -> Any:
        raise OperationalError("connection refused")


def test_a_store_outage_raised_in_any_middleware_is_the_deliberate_503(settings: Any) -> None:
    """The safety net for middleware (handler500, as production runs: debug off): Django
    answers a middleware's exception itself, where no process_exception sees it."""
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, f"{__name__}._LosesPostgres"]
    client = Client(raise_request_exception=False)
    api = client.get(f"/api/polls/{SLUG}", HTTP_ACCEPT_LANGUAGE="fr")
    page = client.get(f"/polls/{SLUG}/", HTTP_ACCEPT_LANGUAGE="fr")

    assert (api.status_code, api["Retry-After"]) == (503, "5")
    assert api.json()["code"] == "unavailable"
    assert "indisponible" in api.json()["error"], api.json()
    assert (page.status_code, page["Retry-After"]) == (503, "5")
    assert "indisponible" in page.content.decode()
