"""polls owns the live front end: nothing under polls/ names a template or a static file
of results/ (the import contracts cannot see templates and scripts), results/ keeps
only its role (the page view, the consumers, the fan-out, the guard), and no script
outside polls/static/polls/kinds/ branches on a question's kind. Files read as text: no
database needed."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
POLLS = ROOT / "polls"

# Each kind's results partial is still results'/ until the kinds' step moves it to
# polls/templates/polls/kinds/<kind>/results.html (issue 29, step 2): drop this entry
# when it has (polls/displays.py results_context names it).
TEMPLATE_REFERENCES = re.compile(
    r"""{%\s*(?:include|extends|static)\s+["']([^"']+)["']"""
    r"""|{%\s*with\s+\w+=["']([^"']+)["']"""
)
# A template or static name in Python: a string (or f-string) that starts with a folder.
PYTHON_NAMES = re.compile(r"""(?:\bf)?["']([\w{}.\-]+/[\w{}./\-]+\.(?:html|js|css|txt))["']""")
# What a script loads or calls by name: a path in a string, a global of results'.
SCRIPT_NAMES = re.compile(r"""["'](/?static/results/[^"']*|results/[^"']+\.js)["']""")


def references() -> list[tuple[str, str]]:
    """(file, name) for every template, static file or script named under polls/."""
    found = []
    for path in sorted(POLLS.rglob("*")):
        if not path.is_file() or path.suffix not in {".html", ".py", ".js", ".txt"}:
            continue
        text = path.read_text(encoding="utf-8")
        where = str(path.relative_to(ROOT))
        if path.suffix in {".html", ".txt"}:
            for match in TEMPLATE_REFERENCES.finditer(text):
                found.append((where, match.group(1) or match.group(2)))
        elif path.suffix == ".py":
            found += [(where, m.group(1)) for m in PYTHON_NAMES.finditer(text)]
        else:
            found += [(where, m.group(1)) for m in SCRIPT_NAMES.finditer(text)]
    return found


def test_the_reference_reader_finds_each_way_of_naming_a_file() -> None:
    html = """{% include "results/a.html" %}{% extends 'results/b.html' %}
    <script src="{% static 'results/c.js' %}"></script>{% with s="results/d.js" %}"""
    assert [m.group(1) or m.group(2) for m in TEMPLATE_REFERENCES.finditer(html)] == [
        "results/a.html", "results/b.html", "results/c.js", "results/d.js",
    ]  # fmt: skip
    python = """render(request, "results/page.html")\nx = f"results/_results_{poll.kind}.html\""""
    assert [m.group(1) for m in PYTHON_NAMES.finditer(python)] == [
        "results/page.html", "results/_results_{poll.kind}.html",
    ]  # fmt: skip


def test_polls_names_nothing_under_results() -> None:
    named = references()
    assert ("polls/templates/polls/_session_base.html", "polls/_live_scripts.html") in named
    wrong = [
        (where, name) for where, name in named if name.startswith(("results/", "/static/results/"))
    ]
    assert wrong == [], "polls names results' files (move them into polls):\n" + "\n".join(
        f"{where}: {name}" for where, name in wrong
    )


def test_no_script_of_polls_reaches_for_a_global_of_results() -> None:
    scripts = {p: p.read_text(encoding="utf-8") for p in POLLS.rglob("*.js")}
    # LiveResults and LiveSocket are polls' own (results.js, socket.js).
    owners = {"LiveResults": "results.js", "LiveSocket": "socket.js", "PollKinds": "kinds"}
    for name, owner in owners.items():
        assert any(owner in str(p) and f"window.{name}" in t for p, t in scripts.items()), name


def test_results_keeps_only_its_role() -> None:
    results = ROOT / "results"
    assert not (results / "static").exists(), "results' scripts belong to polls"
    templates = sorted(p.name for p in (results / "templates").rglob("*.html"))
    assert templates == [], "results' templates belong to polls"


KIND_BRANCH = re.compile(r"""\bkind\s*[!=]==?\s*["']\w+["']|["']\w+["']\s*[!=]==?\s*\w*\.?kind\b""")


def test_no_script_outside_the_kinds_folder_branches_on_a_kind() -> None:
    kinds = POLLS / "static" / "polls" / "kinds"
    branches = [
        f"{path.relative_to(ROOT)}: {line.strip()}"
        for path in sorted((POLLS / "static").rglob("*.js"))
        if kinds not in path.parents
        for line in path.read_text(encoding="utf-8").splitlines()
        if KIND_BRANCH.search(line)
    ]
    assert branches == []
    assert KIND_BRANCH.search('if (poll.kind === "ranked")')
    assert sorted(p.stem for p in kinds.glob("*.js")) == [
        "multiple", "openanswer", "ranked", "scale", "single", "wordcloud",
    ]  # fmt: skip
