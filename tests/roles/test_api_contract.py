"""The API's contract, fuzzed: schemathesis generates requests from /api/openapi.json —
valid and invalid bodies for every kind of ballot, odd slugs, unsupported methods — and
sends them to the real roles behind the real front door. Every check schemathesis has is
on: no 5xx, every status documented, every body and header as the document says, valid
data accepted and invalid data refused.

Bounded: CONTRACT_EXAMPLES cases per operation and phase (40) and CONTRACT_SECONDS for the
whole run (45 s in CI, a few thousand requests; docs/security.md has the long run).
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests
from django.utils import timezone

from polls import organising
from polls.models import Poll, Vote
from tests.support.pages import KINDS, has_choices, some_entries

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.processes]

EXAMPLES = int(os.environ.get("CONTRACT_EXAMPLES", "40"))
SECONDS = int(os.environ.get("CONTRACT_SECONDS", "45"))  # the whole run's budget

# What a well-formed request may still be answered, by the rules of the poll it names
# (the document lists each with its error): an unknown choice or too many picks (400), a
# login-required poll or hidden results (403), a poll that is not there or not open (404,
# 409), a limit reached or a store away (429, 503).
VALID_BUT_REFUSED = ["200", "202", "400", "403", "404", "409", "429", "503"]


@pytest.fixture
def contract_polls() -> list[Poll]:
    """One open poll of every kind, and polls each rule refuses: closed, draft,
    login-required, results hidden."""
    tag = uuid.uuid4().hex[:6]
    polls = [
        organising.create_poll(slug=f"c-{tag}-{kind}", question="?", open_now=True, kind=kind,
                               labels=["Red", "Green", "Blue"] if has_choices(kind) else [])
        for kind in KINDS
    ]  # fmt: skip
    # Text polls with entries: their pages of terms and entries have something to say.
    some_entries(polls[-2], [["Python", "Django"], ["python"]])
    some_entries(polls[-1], [["Yes!"], ["No"]])
    closed = organising.create_poll(slug=f"c-{tag}-closed", question="?", labels=["A", "B"],
                                    open_now=True)  # fmt: skip
    organising.close_poll(closed)
    polls += [
        closed,
        organising.create_poll(slug=f"c-{tag}-draft", question="?", labels=["A", "B"]),
        organising.create_poll(slug=f"c-{tag}-login", question="?", labels=["A", "B"],
                               open_now=True, login_required=True),
        organising.create_poll(slug=f"c-{tag}-hidden", question="?", labels=["A", "B"],
                               open_now=True, results_visibility=Poll.ResultsVisibility.HIDDEN),
    ]  # fmt: skip
    Poll.objects.filter(pk__in=[p.pk for p in polls]).update(opens_at=None)
    return polls


@pytest.fixture
def contract_board(django_user_model: Any) -> str:
    """A live session of a Q&A board alone, with a question: its join code."""
    from polls import live_sessions, qna_reads
    from polls.models import Question

    owner = django_user_model.objects.create_user(f"contract-{uuid.uuid4().hex[:6]}")
    session = live_sessions.go_live(
        live_sessions.create_session(title="Contract", owner=owner, polls=[], qna=True)
    )
    board = qna_reads.board_of(session)
    assert board is not None
    Question.objects.create(board=board, uuid=uuid.uuid4(), voter_key="anon:contract",
                            text="Why?", asked_at=timezone.now(), admitted_ms=1)  # fmt: skip
    return session.code


def contract_config(site: Any, polls: list[Poll], codes: tuple[str, ...] = ()) -> str:
    """schemathesis.toml for this run: where the site is, the polls and choices to name
    more often than random ones (so the vote rules are reached, not only 404s)."""
    choice_ids = [c.pk for p in polls for c in p.choices.all()]
    slugs = ", ".join(f'"{p.slug}"' for p in polls)
    return textwrap.dedent(f"""\
        base-url = "{site.url}"
        request-timeout = 30
        [generation]
        mode = "all"
        max-examples = {EXAMPLES}
        deterministic = {"true" if os.environ.get("CI") == "1" else "false"}
        dictionaries = {{ integer = {{ dictionary = "choices", probability = 0.8 }} }}
        [dictionaries.slugs]
        values = [{slugs}]
        [dictionaries.choices]
        values = {[*choice_ids, 1, 2, 3]}
        [parameters.slug]
        dictionary = "slugs"
        probability = 0.8
        [dictionaries.codes]
        values = [{", ".join(f'"{c}"' for c in codes)}]
        [parameters.join_code]
        dictionary = "codes"
        probability = 0.8
        [checks.positive_data_acceptance]
        expected-statuses = {VALID_BUT_REFUSED}
    """)


def test_every_answer_is_documented_and_no_request_gets_a_server_error(
    site: Any, contract_polls: list[Poll], contract_board: str, tmp_path: Path
) -> None:
    # schemathesis's own runner, not its pytest loader (which pytest 9's nodes break):
    # every phase, every check, a report of each failure.
    config = tmp_path / "schemathesis.toml"
    config.write_text(contract_config(site, contract_polls, (contract_board,)))
    token = secrets.token_hex(16)  # a CSRF secret of our own: cookie and header agree
    run = subprocess.run(
        [str(Path(sys.executable).with_name("schemathesis")), "--no-color",
         "--config-file", str(config), "run", f"{site.url}/api/openapi.json",
         "--checks", "all", "--workers", "1", "--max-time", str(SECONDS),
         "-H", f"Cookie: csrftoken={token}", "-H", f"X-CSRFToken: {token}",
         "--report-dir", str(tmp_path)],
        check=False, capture_output=True, text=True, timeout=600, cwd=tmp_path,
    )  # fmt: skip
    print(run.stdout[-3000:])
    assert run.returncode == 0, run.stdout[-20000:] + run.stderr[-5000:]
    # Every operation of the document was tried (none skipped for want of time or data).
    # The served document: the base and what the kinds add (the ranked count's RCTab path).
    document = requests.get(f"{site.url}/api/openapi.json", timeout=10).json()
    operations = sum(
        method in ("get", "post") for path in document["paths"].values() for method in path
    )
    assert re.search(rf"Tested:\s+{operations}\b", run.stdout), run.stdout[-3000:]
    # How far it reached into the rules (how many generated ballots were stored) varies
    # with the machine's speed within the time budget: printed, not asserted.
    time.sleep(2)
    print("generated ballots stored:", Vote.objects.filter(poll__in=contract_polls).count())
