"""Secure by default for what is served: gunicorn's, daphne's and celery's entry points
never run with debug unless DJANGO_DEBUG=1 is set, and without debug they need a secret
key; manage.py (a developer's tool) still defaults to debug."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]  # the checkout: tests/roles/ is two below
PROBE = "import {module}; from django.conf import settings; print('DEBUG', settings.DEBUG)"


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env["DJANGO_SETTINGS_MODULE"] = "votingsite.settings"
    env.update(extra)
    return env


def run(argv: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv, check=False, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize("module", ["votingsite.wsgi", "votingsite.asgi", "votingsite.celery"])
def test_a_served_process_runs_without_debug_unless_told(module: str) -> None:
    probe = [sys.executable, "-c", PROBE.format(module=module)]
    served = run(probe, clean_env(DJANGO_SECRET_KEY="k" * 50))
    assert "DEBUG False" in served.stdout, served.stdout + served.stderr
    unkeyed = run(probe, clean_env())  # no key, no debug: it refuses to start
    assert unkeyed.returncode != 0
    assert "DJANGO_SECRET_KEY must be set" in unkeyed.stderr
    told = run(probe, clean_env(DJANGO_DEBUG="1"))
    assert "DEBUG True" in told.stdout, told.stdout + told.stderr


def test_manage_py_is_a_developers_tool_and_defaults_to_debug() -> None:
    shell = [sys.executable, "manage.py", "shell", "-c", PROBE.format(module="os")]
    assert "DEBUG True" in run(shell, clean_env()).stdout
    assert (
        "DEBUG False" in run(shell, clean_env(DJANGO_DEBUG="0", DJANGO_SECRET_KEY="k" * 50)).stdout
    )
