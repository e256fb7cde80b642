"""manage.py commands run in process, as an organiser runs them: what they print; and a
voters CSV for import_voters."""

from __future__ import annotations

import io
from io import StringIO
from pathlib import Path

from django.core.management import call_command


def run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


PASSWORD = "correct-horse-battery-9"


def voters_file(tmp_path: Path, text: str, *, encoding: str = "utf-8") -> str:
    path = tmp_path / "voters.csv"
    path.write_bytes(text.encode(encoding))
    return str(path)


def import_voters(*args: str) -> str:

    out = StringIO()
    call_command("import_voters", *args, stdout=out)
    return out.getvalue()
