"""A kind of question lives in its module (polls/kinds/), its counting (polls/counting/),
its templates (polls/templates/polls/kinds/<kind>/) and its script
(polls/static/polls/kinds/): nothing else branches on the kind. This counts the branches
left elsewhere (`Kind.X`, `kind == "..."` in Python and templates, `kind === "..."` in
JavaScript): each file's count must be the one listed here, with its reason."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).parents[2]
PRODUCT = ("polls", "results", "votingsite", "templates")
KIND_HOMES = (
    "polls/kinds/",
    "polls/counting/",
    "polls/templates/polls/kinds/",
    "polls/static/polls/kinds/",
)
KIND = r"(?:single|multiple|ranked|scale|wordcloud|openanswer)"
BRANCHES = {
    ".py": re.compile(
        rf"\bKind\.(?:SINGLE|MULTIPLE|RANKED|SCALE|WORDCLOUD|OPENANSWER)\b"
        rf"|kind\s*(?:[!=]=|\bin\b)\s*[(\[]?[\"']{KIND}"
    ),
    ".html": re.compile(rf"kind\s*[!=]=\s*[\"']{KIND}[\"']"),
    ".js": re.compile(rf"kind\s*!?==?=\s*[\"']{KIND}[\"']"),
}

# Branches that stay outside the kinds' homes, each with its reason.
ALLOWED = {
    "polls/models.py": (1, "Poll.kind's default; the kinds read it as DEFAULT_KIND"),
    "polls/organising.py": (
        7,
        (
            "the demo's data: which kind each demo poll is (no branch; the quiz and the word "
            "cloud add one each)"
        ),
    ),
}


def branches() -> dict[str, int]:
    found: dict[str, int] = {}
    for top in PRODUCT:
        for path in sorted((ROOT / top).rglob("*")):
            name = path.relative_to(ROOT).as_posix()
            pattern = BRANCHES.get(path.suffix)
            if pattern is None or name.startswith(KIND_HOMES) or "/migrations/" in name:
                continue
            count = len(pattern.findall(path.read_text(encoding="utf-8")))
            if count:
                found[name] = count
    return found


def test_no_code_outside_the_kinds_homes_branches_on_a_kind_except_as_listed() -> None:
    listed = {name: count for name, (count, _why) in ALLOWED.items()}
    assert branches() == listed


def test_the_counter_sees_each_kind_of_branch() -> None:
    """The patterns catch what they are meant to (else the test above proves nothing)."""
    assert BRANCHES[".py"].search("if poll.kind == Poll.Kind.SCALE:")
    assert BRANCHES[".py"].search('if poll.kind == "ranked":')
    assert BRANCHES[".py"].search("if kind in ('multiple', 'ranked'):")
    assert BRANCHES[".html"].search("{% if poll.kind == 'single' %}")
    assert BRANCHES[".js"].search('if (poll.kind === "scale") {')
    assert BRANCHES[".js"].search("kind !== 'single'")
    assert not BRANCHES[".py"].search("kind = kind_for(poll)")
