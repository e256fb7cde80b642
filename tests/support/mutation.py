"""The suite under mutmut (scripts/mutation, docs/testing.md): the roles it starts as
subprocesses run the mutated copy, and their calls count for mutmut's test selection.

mutmut 3 copies the code to `mutants/` (each function behind a trampoline that picks the
variant named by MUTANT_UNDER_TEST) and runs pytest from there, so tests/support/processes.py's
ROOT is `mutants/` and the roles start in it. The environment passes the active mutant
on; PYTHONPATH puts the mutated copy first, whatever a role's program does with sys.path.

mutmut learns which tests reach a function by recording trampoline calls in its own
process: a call in a gunicorn, daphne or celery process would be lost, and a function
that only a role runs (the worker's task) would get no tests at all. So in mutmut's
"stats" pass the roles load tests/support/role_site/sitecustomize.py, which appends each call's
name to a file in ROLE_HITS; after each test, `collect_role_hits` hands the new names to
mutmut as if the test process had made the calls.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
SITE = Path(__file__).resolve().parent / "role_site"
ROLE_HITS = ROOT / "test-artifacts" / "mutmut-role-hits"
# Roles started under mutmut: a mutant that times out is killed with its pytest, and the
# roles it started (sessions of their own) would live on, running that mutant on the
# queue and the database the next mutant's roles use.
ROLES = ROOT / "test-artifacts" / "mutmut-roles.pids"
_read_upto: dict[Path, int] = {}


def active() -> bool:
    """Whether this test run is one of mutmut's (a mutant, the stats or the clean pass)."""
    return "MUTANT_UNDER_TEST" in os.environ


def role_env() -> dict[str, str]:
    """What a role's environment adds under mutmut (nothing otherwise)."""
    if not active():
        return {}
    path = [str(ROOT)]
    extra = {}
    if os.environ["MUTANT_UNDER_TEST"] == "stats":
        ROLE_HITS.mkdir(parents=True, exist_ok=True)
        path.insert(0, str(SITE))
        extra["MUTMUT_ROLE_HITS"] = str(ROLE_HITS)
    if os.environ.get("PYTHONPATH"):
        path.append(os.environ["PYTHONPATH"])
    return {"PYTHONPATH": os.pathsep.join(path), **extra}


def started(pid: int) -> None:
    """Note a role's process (the leader of its process group) under mutmut."""
    if active():
        ROLES.parent.mkdir(parents=True, exist_ok=True)
        with ROLES.open("a") as f:
            f.write(f"{pid}\n")


def reap() -> None:
    """End the roles an earlier mutant's run left behind (each is its process group's
    leader; only processes still running in this tree are signalled)."""
    if not ROLES.exists():
        return
    for pid in {int(line) for line in ROLES.read_text().split()}:
        try:
            if Path(f"/proc/{pid}/cwd").resolve() == ROOT:
                os.killpg(pid, signal.SIGKILL)
        except (OSError, ProcessLookupError):
            pass  # gone already
    ROLES.unlink(missing_ok=True)


def start() -> None:
    """Each test session under mutmut starts clean: no roles of an earlier mutant, and a
    stats pass with no calls recorded by an earlier one's roles."""
    if active():
        reap()
    if os.environ.get("MUTANT_UNDER_TEST") == "stats":
        shutil.rmtree(ROLE_HITS, ignore_errors=True)
        _read_upto.clear()


def fastest_first(items: list[Any]) -> None:
    """Under a mutant, its tests run fastest first (by the stats pass's timings): the run
    stops at the first failure (-x), and a fast test that fails spares the wait of a slow
    one that would (a role waited on for 30 s)."""
    if os.environ.get("MUTANT_UNDER_TEST") in (None, "", "stats", "fail"):
        return
    try:
        durations = json.loads((ROOT / "mutmut-stats.json").read_text())["duration_by_test"]
    except (OSError, ValueError, KeyError):
        return
    items.sort(key=lambda item: durations.get(item.nodeid, float("inf")))


def collect_role_hits() -> None:
    """Give mutmut the functions the roles ran since the last call (stats pass only)."""
    if os.environ.get("MUTANT_UNDER_TEST") != "stats" or not ROLE_HITS.is_dir():
        return
    from mutmut.state import state

    for path in ROLE_HITS.glob("*.hits"):
        with path.open("rb") as f:
            f.seek(_read_upto.get(path, 0))
            data = f.read()
        complete = data[: data.rfind(b"\n") + 1]  # a line still being written waits
        _read_upto[path] = _read_upto.get(path, 0) + len(complete)
        state()._stats.update(complete.decode().split())
