"""What every tier shares: real Postgres (pytest-django's test database), real Redis (a
database of its own, see tests/settings.py), the real roles as subprocesses, the polls the
tests vote on; and the tiers themselves (docs/testing.md, "Layout"): each test is marked
with its folder's tier, and a test asking for more than its tier allows is a usage error."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from django.conf import settings

from polls.live import publisher
from polls.models import Choice, Poll
from polls.pipeline.ledger import PENDING_KEY, queued_messages
from tests.support import mutation, pages, processes


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--slow",
        action="store_true",
        help="the long versions of the fault runs (40-60 s freezes and hangs); CI runs short ones",
    )


def pytest_sessionstart(session: pytest.Session) -> None:
    mutation.start()


TIERS = Path(__file__).resolve().parent
TIER_NAMES = ("unit", "app", "roles", "browser", "deploy")
# What a tier's tests may not ask for (fixtures, or the django_db mark): a test that needs
# it belongs in a heavier tier. roles/, browser/ and deploy/ may use anything.
NOT_IN = {
    "unit": {"django_db", "db", "transactional_db", "redis_client", "own_queue", "worker",
             "voting", "results", "site", "chromium"},
    "app": {"processes", "worker", "voting", "results", "site", "chromium"},
}  # fmt: skip


def tier_of(item: pytest.Item) -> str | None:
    """The tier folder a test is in (unit, app, roles, browser, deploy), None outside one."""
    parts = item.path.resolve().relative_to(TIERS).parts
    return parts[0] if len(parts) > 1 and parts[0] in TIER_NAMES else None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Each test gets its tier's mark (`-m unit`, `-m "not browser"`...); the fastest first
    under a mutant (tests/support/mutation.py)."""
    problems = []
    for item in items:
        tier = tier_of(item)
        if tier is None:
            problems.append(
                f"{item.nodeid}: not in a tier folder (unit, app, roles, browser, deploy)"
            )
            continue
        item.add_marker(tier)
        asked = set(getattr(item, "fixturenames", ())) | {m.name for m in item.iter_markers()}
        if too_heavy := sorted(asked & NOT_IN.get(tier, set())):
            problems.append(f"{item.nodeid}: the {tier} tier may not use {', '.join(too_heavy)}")
    if problems:
        raise pytest.UsageError("tests outside their tier:\n" + "\n".join(problems))
    mutation.fastest_first(items)


@pytest.hookimpl(tryfirst=True)  # before mutmut's own hook maps this test's calls
def pytest_runtest_teardown(item: pytest.Item) -> None:
    mutation.collect_role_hits()


@pytest.fixture
def slow(request: pytest.FixtureRequest) -> bool:
    """Whether this run asked for the long versions of the fault runs (--slow)."""
    return bool(request.config.getoption("--slow"))


@pytest.fixture(scope="session")
def redis_client() -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(settings.REDIS_URL)
    client.flushdb()  # the test run's own Redis database: start with an empty queue
    yield client
    client.close()


def _serving(
    blocker: Any, make: Callable[[], processes.Worker | processes.WebServer]
) -> Iterator[Any]:
    """Start a role (it reads the test database's URL, hence the unblock), wait until it is
    ready, and stop it at the end."""
    with blocker.unblock():
        proc = make().start()
    try:
        yield proc.wait_ready()
    finally:
        proc.stop()


@pytest.fixture(scope="session")
def worker(
    django_db_setup: None, django_db_blocker: Any, redis_client: redis.Redis
) -> Iterator[processes.Worker]:
    """A real Celery worker consuming the test queue and writing the test database."""
    yield from _serving(django_db_blocker, processes.Worker)


@pytest.fixture(scope="session")
def voting(
    django_db_setup: None, django_db_blocker: Any, redis_client: redis.Redis
) -> Iterator[processes.WebServer]:
    """The voting role under gunicorn."""
    yield from _serving(django_db_blocker, processes.voting_server)


@pytest.fixture(scope="session")
def results(
    django_db_setup: None, django_db_blocker: Any, redis_client: redis.Redis
) -> Iterator[processes.WebServer]:
    """The results role under daphne."""
    yield from _serving(django_db_blocker, processes.results_server)


@pytest.fixture(scope="session")
def site(
    voting: processes.WebServer, results: processes.WebServer, worker: processes.Worker
) -> Iterator[processes.Site]:
    """The whole site on one origin, as `scripts/run` serves it: the front door (Debian's
    nginx, the shipped configuration) at `site.url`, the session's roles behind it."""
    door = processes.FrontDoor(voting=voting.url, results=results.url, url=processes.site_url())
    door.start()
    try:
        door.wait_ready()
        yield processes.Site(url=door.url, door=door, voting=voting, results=results, worker=worker)
    finally:
        door.stop()


@pytest.fixture(scope="session", autouse=True)
def _flush_outlasts_a_deadlock() -> Iterator[None]:
    """Emptying the test database between tests TRUNCATEs every table at once; a worker's
    reconciler that is restating a poll meanwhile (a transaction holding a poll's row and
    reading its versions) can deadlock with it, and Postgres then cancels the flush. Only
    the test database is ever flushed, so the flush is tried again there."""
    from django.core.management.commands import flush
    from django.db import OperationalError

    real = flush.Command.handle

    def handle(self: Any, *args: Any, **options: Any) -> Any:
        for attempt in (1, 2, 3):
            try:
                return real(self, *args, **options)
            except Exception as exc:
                deadlock = isinstance(exc.__cause__, OperationalError) and "deadlock" in str(
                    exc.__cause__
                )
                if not deadlock or attempt == 3:
                    raise
        return None

    flush.Command.handle = handle  # type: ignore[method-assign]
    yield
    flush.Command.handle = real  # type: ignore[method-assign]


@pytest.fixture(autouse=True)
def _join_budgets_fresh(request: pytest.FixtureRequest) -> None:
    """Wrong join codes count against a site-wide budget for ten minutes
    (JOIN_MISS_RATE_SITE): one test's misses (a fuzz run's unknown codes) must not refuse
    the next test's phones with 429, since the session's roles share one Redis database."""
    if not {"site", "voting", "results"} & set(request.fixturenames):
        return
    client = request.getfixturevalue("redis_client")
    spent = client.keys("rl:join-miss:*")
    if spent:
        client.delete(*spent)


@pytest.fixture(autouse=True)
def _live_events_sent() -> Iterator[None]:
    """After each test, this process's live-event threads finish what its commits asked
    (bounded), so none of them reads the test database while it is being cleared."""
    yield
    publisher._publisher.drain(timeout=5)
    publisher._sessions.drain(timeout=5)
    publisher._qna.drain(timeout=5)


@pytest.fixture(autouse=True)
def _worker_settles(request: pytest.FixtureRequest) -> Iterator[None]:
    """After a test that used the worker, wait until it has stored everything queued, so
    clearing the database for the next test never races a vote transaction."""
    yield
    if "worker" not in request.fixturenames:
        return
    client = request.getfixturevalue("redis_client")
    processes.wait_for(
        lambda: queued_messages(client) == 0,
        timeout=60,
        interval=0.1,
        what="the worker to store every queued vote",
    )


@pytest.fixture
def own_queue(redis_client: redis.Redis, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Votes the web side queues go to a queue of their own (its name is returned):
    a session's worker may be consuming the real one. Their ledger entries go at the end
    too: nothing takes this queue, and a worker's ledger sweep would queue them again."""
    name = "votes-web-side-tests"
    monkeypatch.setattr("polls.pipeline.message.queue_name", lambda: name)
    redis_client.delete(name)
    before = _ledger(redis_client)
    yield name
    added = _ledger(redis_client) - before
    if added:
        redis_client.zrem(PENDING_KEY, *added)
    redis_client.delete(name)


def _ledger(client: redis.Redis) -> set[Any]:
    return set(client.zrange(PENDING_KEY, 0, -1))


@pytest.fixture
def make_poll() -> Callable[..., Poll]:
    def make(
        slug: str = "best-pet",
        question: str = "Best pet?",
        labels: tuple[str, ...] = ("Cats", "Dogs", "Fish"),
        status: str = Poll.Status.OPEN,
        **fields: Any,
    ) -> Poll:
        poll = Poll.objects.create(slug=slug, question=question, status=status, **fields)
        for position, label in enumerate(labels):
            Choice.objects.create(poll=poll, label=label, position=position)
        return poll

    return make


@pytest.fixture
def poll(make_poll: Callable[..., Poll]) -> Poll:
    """A two-choice poll, open, of its own slug: the pub/sub layer, its groups and the
    roles' caches outlive a test's database, so no two tests share a poll's name."""
    return make_poll(
        slug=f"pets-{uuid.uuid4().hex[:8]}", question="Cats or dogs?", labels=("Cats", "Dogs")
    )


@pytest.fixture
def content(django_user_model: Any) -> dict[str, str]:
    """A poll of every kind, a closed one, one with hidden results, one needing a log-in,
    and a live session: the values the public pages' parameters are filled from
    (tests/support/pages.py)."""
    return pages.public_content(django_user_model)


@pytest.fixture
def wait_for() -> Callable[..., object]:
    return processes.wait_for


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup: None, django_db_blocker: Any) -> Iterator[None]:
    """pytest-django's test database, and before it is dropped, any connection to it left
    by a thread of this process (the live publisher keeps one between pushes) is ended:
    Postgres would wait for it, and the drop would time out.

    Under mutmut the database is kept between mutants (--reuse-db): emptied first, since
    a mutant killed for a timeout could not clear what its test wrote."""
    if mutation.active():
        with django_db_blocker.unblock():
            from django.core.management import call_command

            call_command("flush", interactive=False, verbosity=0)
    yield
    with django_db_blocker.unblock():
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
