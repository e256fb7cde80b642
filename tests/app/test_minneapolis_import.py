"""The organiser's whole path with the real 2017 Minneapolis mayoral cast-vote records
(105,928 rows, tests/support/public_records.py; under CI a failure to obtain them fails):
create a ranked poll, import the file with one command under the city's rules (an overvote
skips to the next rank, batch elimination, ties by lot), and the published rounds (the
results API) are the official ones. The import's time and the results API's p50 are printed
(`-s`), never asserted: the targets (60 s, 50 ms) are the benchmark's."""

from __future__ import annotations

import statistics
import time

import pytest
from django.test import Client

from polls.models import Poll
from tests.support import public_records
from tests.support.commands import run

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_kept_snapshots(redis_client) -> None:
    """Poll ids come again after the database is emptied: an earlier test's kept snapshot
    must not answer for this test's poll."""
    for key in redis_client.scan_iter("results:snapshot:*"):
        redis_client.delete(key)


def test_the_city_imports_its_records_and_publishes_the_official_rounds(tmp_path) -> None:
    path = tmp_path / "2017-mayor-cvr.csv"
    path.write_bytes(public_records.mayor_records())
    run(
        "create_poll", "mayor-2017", "Mayor of Minneapolis, 2017", "--kind", "ranked", "--open",
        "--choice", "Jacob Frey", "--choice", "Raymond Dehn",
    )  # fmt: skip
    started = time.perf_counter()
    said = run(
        "import_ballots", "mayor-2017", str(path), "--create-choices",
        "--overvote-rule", "skip", "--batch", "--tie", "previous_then_lot",
    )  # fmt: skip
    imported = time.perf_counter() - started
    assert "Imported 104522 ballots" in said
    assert "ranking nobody: overvote 37, undervote 1369" in said
    assert run("recount", "mayor-2017", "--check") == "mayor-2017: ok (104522 votes)\n"

    client = Client()
    results = client.get("/api/polls/mayor-2017/results").json()
    labels = {c["id"]: c["label"] for c in results["choices"]}
    first, *_, last = results["rounds"]
    first_choices = {labels[c["id"]]: c["votes"] for c in first["counts"]}
    assert sum(first_choices.values()) == 104_522  # ballots with a valid choice
    assert {
        name: first_choices[name]
        for name in sorted(first_choices, key=first_choices.__getitem__)[-5:]
    } == {
        "Nekima Levy-Pounds": 15_716,
        "Raymond Dehn": 18_101,
        "Betsy Hodges": 18_915,
        "Tom Hoch": 20_125,
        "Jacob Frey": 26_116,
    }
    assert {labels[c["id"]]: c["votes"] for c in last["counts"]} == {
        "Jacob Frey": 46_716,
        "Raymond Dehn": 34_971,
    }
    assert labels[results["winner"]] == "Jacob Frey"
    # The batch after round 1 is listed whole: the 14 behind Levy-Pounds, each with its
    # own transfers.
    assert len(first["eliminations"]) == 14
    assert first["eliminated"] is None
    assert [len(r["eliminations"]) for r in results["rounds"]] == [14, 1, 1, 1, 0]
    assert results["inactive_from_start"] == {"overvote": 37, "undervote": 1_369}
    assert results["rules"] == {
        "tie": "previous_then_lot",
        "batch": True,
        "until_two": False,
        "seed": Poll.objects.get(slug="mayor-2017").options["seed"],
    }
    rctab = client.get("/api/polls/mayor-2017/results/rctab.json").json()
    assert rctab["summary"]["totalNumBallots"] == "105928"
    assert rctab["results"][-1]["tally"] == {"Jacob Frey": "46716", "Raymond Dehn": "34971"}

    reads = []
    for _ in range(50):
        started = time.perf_counter()
        assert client.get("/api/polls/mayor-2017/results").status_code == 200
        reads.append(time.perf_counter() - started)
    print(
        f"\nMinneapolis 2017: import of 105,928 rows {imported:.2f} s; results API "
        f"p50 {statistics.median(reads) * 1000:.1f} ms, max {max(reads) * 1000:.1f} ms "
        f"(50 reads, a kept snapshot)"
    )
