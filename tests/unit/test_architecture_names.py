"""docs/architecture.md cannot drift: every name it cites in backticks exists.

A dotted Python name (`polls.snapshots.results`, `votingsite.asgi:application`, or a
module's short form `store._state_problem` when one project module has that name) must
import and resolve; a path of the checkout (`polls/openness.py`, `tests/app/`) must exist.
Placeholders (`<kind>`, `<status>`) stand for any name: such a path must match a file.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "architecture.md"
PACKAGES = ("polls", "results", "votingsite", "bench")
TOP_FOLDERS = (*PACKAGES, "tests", "deploy", "scripts", "templates", "docs", "locale", "judges")
# The page's test column writes `tests/app/test_x.py` once, then `app/test_y.py`.
TIERS = ("unit", "app", "roles", "browser", "deploy", "support")
# A word with one of these endings is a file name, not a Python attribute.
FILE_ENDINGS = (".py", ".html", ".js", ".css", ".md", ".yaml", ".yml", ".conf", ".env",
                ".txt", ".json", ".po", ".toml", ".svg", ".lua", ".csv")  # fmt: skip

SPAN = re.compile(r"`([^`\n]+)`")
IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
DOTTED = re.compile(rf"^{IDENT}(?:\.{IDENT})+(?::{IDENT})?$")


def cited_words(text: str) -> list[str]:
    words = []
    for span in SPAN.findall(text):
        for word in span.split():
            words.append(word.strip("()[],;'\""))
    return words


def module_short_names() -> dict[str, list[str]]:
    """Each module's last name -> the dotted modules that have it."""
    found: dict[str, list[str]] = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts or path.name == "__init__.py":
                continue
            dotted = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            found.setdefault(path.stem, []).append(dotted)
    return found


def resolve(name: str) -> bool:
    """Import the longest importable prefix of `name`, then follow the rest as attributes.
    A Celery task's registered name (`polls.record_votes`) resolves too."""
    from votingsite.celery import app

    app.loader.import_default_modules()  # the tasks of every installed app
    if name in app.tasks:
        return True
    name = name.replace(":", ".")
    parts = name.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            target = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attribute in parts[cut:]:
            if not hasattr(target, attribute):
                return False
            target = getattr(target, attribute)
        return True
    return False


def python_names(words: list[str]) -> list[str]:
    """The dotted words that name project Python, spelled out in full."""
    short = module_short_names()
    names = []
    for word in words:
        if not DOTTED.match(word) or word.endswith(FILE_ENDINGS):
            continue
        head = word.split(".")[0]
        if head in PACKAGES:
            names.append(word)
        elif len(short.get(head, [])) == 1:
            names.append(short[head][0] + word[len(head) :])
    return names


def paths(words: list[str]) -> list[str]:
    return [
        word.rstrip(".")
        for word in words
        if "/" in word and word.split("/")[0] in (*TOP_FOLDERS, *TIERS) and "://" not in word
    ]


def path_exists(cited: str) -> bool:
    pattern = re.sub(r"<[^>]+>", "*", cited)
    return any(any(base.glob(pattern)) for base in (ROOT, ROOT / "tests"))


def test_every_python_name_the_page_cites_resolves() -> None:
    words = cited_words(PAGE.read_text(encoding="utf-8"))
    names = python_names(words)
    assert len(names) > 20, "the collector should find the page's many names"
    missing = sorted({name for name in names if not resolve(name)})
    assert not missing, f"docs/architecture.md cites names the code no longer has: {missing}"


def test_every_path_the_page_cites_exists() -> None:
    cited = paths(cited_words(PAGE.read_text(encoding="utf-8")))
    assert len(cited) > 20, "the collector should find the page's many paths"
    missing = sorted({path for path in cited if not path_exists(path)})
    assert not missing, f"docs/architecture.md cites paths the checkout no longer has: {missing}"


@pytest.mark.parametrize(
    ("text", "resolves"),
    [
        ("`polls.snapshots.results`", True),
        ("`votingsite.asgi:application`", True),
        ("`snapshots.results`", True),  # one project module is named snapshots
        ("`polls.snapshots.no_such_function`", False),
        ("`snapshots.no_such_function`", False),
    ],
)
def test_the_collector_reads_full_and_short_names(text: str, resolves: bool) -> None:
    (name,) = python_names(cited_words(text))
    assert resolve(name) is resolves


def test_file_names_and_outside_words_are_not_taken_for_python() -> None:
    assert python_names(cited_words("`live.js` `config.env` `Poll.Kind` `nginx.conf`")) == []
