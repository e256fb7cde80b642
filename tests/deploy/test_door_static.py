"""The front door serves /static/ from disk (deploy/k8s/base/front-door/static.conf), as the
image and `scripts/run` run it: collectstatic's files (hashed names, each beside its .gz),
the .gz sent as it is to a browser that takes gzip, a hashed name immutable for a year,
the site's security headers on them; a name not on disk still reaches the voting role."""

from __future__ import annotations

import gzip
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.support import processes
from tests.support.clients import SECURITY_HEADERS, same_value

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.processes]


@pytest.fixture(scope="module")
def collected() -> Iterator[Path]:
    """collectstatic as the Dockerfile runs it (debug off: hashed and compressed), in a
    folder nginx's workers may read (they drop to another user when the door runs as
    root; pytest's own temporary folders are the owner's only)."""
    processes.ARTIFACTS.mkdir(exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="door-static-", dir=processes.ARTIFACTS))
    root.chmod(0o755)
    env = processes.role_env(
        DJANGO_DEBUG="0", DJANGO_SECRET_KEY="test-only-not-secret", DJANGO_STATIC_ROOT=str(root)
    )
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"],
        cwd=processes.ROOT, env=env, check=True, timeout=300,
    )  # fmt: skip
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def door(site: Any, collected: Path) -> Iterator[processes.FrontDoor]:
    made = processes.FrontDoor(voting=site.voting.url, results=site.results.url, static=collected)
    made.start()
    made.wait_ready()
    yield made
    made.stop()


def hashed(collected: Path, name: str) -> str:
    """The hashed name collectstatic gave polls/<name> (its manifest)."""
    stem, suffix = name.rsplit(".", 1)
    (found,) = [
        p
        for p in (collected / "polls").iterdir()
        if re.fullmatch(rf"{stem}\.[0-9a-f]{{12}}\.{suffix}", p.name)
    ]
    return f"polls/{found.name}"


def test_a_hashed_script_comes_from_disk_precompressed_and_immutable(
    door: processes.FrontDoor, collected: Path, site: Any
) -> None:
    name = hashed(collected, "session.js")
    gzipped = requests.get(
        f"{door.url}/static/{name}", headers={"Accept-Encoding": "gzip"}, stream=True, timeout=10
    )
    assert gzipped.status_code == 200
    assert gzipped.headers["Content-Encoding"] == "gzip"
    body = gzipped.raw.read()  # as sent: the .gz collectstatic wrote, not made per request
    assert body == (collected / f"{name}.gz").read_bytes()
    assert gzip.decompress(body) == (collected / name).read_bytes()
    assert gzipped.headers["Content-Type"] == "text/javascript; charset=utf-8"
    assert gzipped.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert gzipped.headers["Vary"] == "Accept-Encoding"
    page = requests.get(f"{site.url}/", timeout=10)
    for header in SECURITY_HEADERS:
        assert same_value(header, gzipped.headers[header], page.headers[header]), header

    plain = requests.get(
        f"{door.url}/static/{name}", headers={"Accept-Encoding": "identity"}, timeout=10
    )
    assert "Content-Encoding" not in plain.headers
    assert plain.content == (collected / name).read_bytes()


def test_a_style_and_an_unhashed_name_have_their_types_and_a_short_life(
    door: processes.FrontDoor, collected: Path
) -> None:
    css = requests.get(f"{door.url}/static/{hashed(collected, 'site.css')}", timeout=10)
    assert css.headers["Content-Type"] == "text/css; charset=utf-8"
    assert css.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    plain = requests.get(f"{door.url}/static/polls/site.css", timeout=10)
    assert plain.status_code == 200
    assert plain.headers["Cache-Control"] == "public, max-age=3600"


def test_a_name_not_on_disk_is_the_voting_roles_to_answer(door: processes.FrontDoor) -> None:
    missing = requests.get(f"{door.url}/static/polls/no-such-file.0123456789ab.js", timeout=10)
    assert missing.status_code == 404
    assert "immutable" not in missing.headers.get("Cache-Control", "")
    # The voting role answered (its own 404 page), not the door.
    assert "X-Door" not in missing.headers
    assert missing.headers["Content-Type"].startswith("text/html")
