"""docs/operations.md lists every environment variable the code reads (no database needed).

The names are collected from the source, not from a list kept by hand: a new
`env.int("NAME", ...)` in the settings, an `os.environ.get("NAME")` anywhere in the app,
or a `${NAME:-default}` in the Procfile fails this test until the page documents it.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OPERATIONS = ROOT / "docs" / "operations.md"

_NAME = r"""\(\s*["']([A-Z][A-Z0-9_]*)["']"""
# env.str("X", ...), env.int(\n "X", ...), env("X"), os.environ.get("X"), os.environ["X"],
# os.environ.setdefault("X", ...), os.getenv("X"): whitespace and newlines allowed before
# the name.
PYTHON_READS = re.compile(
    r"\benv(?:\.\w+)?" + _NAME
    + r"|\bos\.environ\.(?:get|setdefault)" + _NAME
    + r"""|\bos\.environ\[\s*["']([A-Z][A-Z0-9_]*)["']\s*\]"""
    + r"|\bos\.getenv" + _NAME
)  # fmt: skip
# ${NAME}, ${NAME:-default} and $NAME in a Procfile line.
SHELL_READS = re.compile(r"\$\{?([A-Z_][A-Z0-9_]*)")


def names_in_python(text: str) -> set[str]:
    return {name for match in PYTHON_READS.finditer(text) for name in match.groups() if name}


def names_in_procfile(text: str) -> set[str]:
    return set(SHELL_READS.findall(text))


def source_files() -> list[Path]:
    files = sorted((ROOT / "votingsite").glob("*.py"))
    for app in ("polls", "results"):
        files += sorted(p for p in (ROOT / app).rglob("*.py") if "migrations" not in p.parts)
    # The settings the test suite runs with (TEST_REDIS_URL).
    files.append(ROOT / "tests" / "settings.py")
    return files


def names_read_by_the_code() -> dict[str, str]:
    """Each variable name, with the first file that reads it (for the failure message)."""
    found: dict[str, str] = {}
    for path in source_files():
        for name in names_in_python(path.read_text(encoding="utf-8")):
            found.setdefault(name, str(path.relative_to(ROOT)))
    for name in names_in_procfile((ROOT / "Procfile").read_text(encoding="utf-8")):
        found.setdefault(name, "Procfile")
    return found


def is_documented(name: str, page: str) -> bool:
    """`NAME` in backticks, or NAME alone in a table cell."""
    escaped = re.escape(name)
    return bool(re.search(rf"`{escaped}`|\|\s*{escaped}\s*\|", page))


def test_every_environment_variable_the_code_reads_is_in_operations_md() -> None:
    page = OPERATIONS.read_text(encoding="utf-8")
    found = names_read_by_the_code()
    # The collector sees the code at all (paths and patterns still match it).
    assert {"DJANGO_DEBUG", "REDIS_URL", "CELERY_METRICS_PORT", "VOTING_PORT"} <= set(found)
    missing = sorted(f"{name} (read in {where})" for name, where in found.items()
                     if not is_documented(name, page))  # fmt: skip
    assert not missing, "docs/operations.md does not document: " + ", ".join(missing)


def test_the_collector_finds_each_way_of_reading_a_variable() -> None:
    snippet = """
DEBUG = env.bool("DJANGO_DEBUG", default=True)
GRACE = env.int(
    "VOTE_LEDGER_GRACE_SECONDS", default=45
)
URL = env('PLAIN_CALL')
PORT = int(os.environ.get("CELERY_METRICS_PORT", "9808"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "votingsite.settings")
DIR = os.environ[ "PROMETHEUS_MULTIPROC_DIR" ]
ADDR = os.getenv(
    'METRICS_ADDR')
NOT_READ = settings.REDIS_URL + "LOOKS_LIKE_A_NAME"
environ.Env()
"""
    assert names_in_python(snippet) == {
        "DJANGO_DEBUG",
        "VOTE_LEDGER_GRACE_SECONDS",
        "PLAIN_CALL",
        "CELERY_METRICS_PORT",
        "DJANGO_SETTINGS_MODULE",
        "PROMETHEUS_MULTIPROC_DIR",
        "METRICS_ADDR",
    }
    procfile = "web: exec gunicorn x --bind 127.0.0.1:${VOTING_PORT:-8000} --workers $WORKERS\n"
    assert names_in_procfile(procfile) == {"VOTING_PORT", "WORKERS"}

    page = "| `REDIS_URL` | ... |\n| PLAIN | x |\nsee `TEST_REDIS_URL`"
    assert is_documented("REDIS_URL", page)
    assert is_documented("PLAIN", page)
    assert is_documented("TEST_REDIS_URL", page)
    assert not is_documented("REDIS", page)
    assert not is_documented("VOTING_PORT", page)
