"""The roles' command lines as the Procfile, their reference, writes them.

`scripts/run` runs the Procfile itself (honcho); the tests (tests/support/processes.py) and the
benchmark (bench/roles.py) start each role from the same line, read here, so a flag
changed there reaches all three. The production variant (the Dockerfile's CMD and
deploy/k8s: 0.0.0.0 binds, values from the pod) is run by tests/deploy/test_k8s_fidelity.py.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from pathlib import Path

PROCFILE = Path(__file__).resolve().parent.parent / "Procfile"
_VARIABLE = re.compile(r"\$\{(\w+)(?::-([^}]*))?\}")


def command(role: str, env: Mapping[str, str]) -> list[str]:
    """The role's argv, each ${NAME:-default} filled from `env` (else its default)."""
    for line in PROCFILE.read_text(encoding="utf-8").splitlines():
        name, _, text = line.partition(":")
        if name.strip() == role:
            text = _VARIABLE.sub(lambda m: env.get(m[1], m[2] or ""), text)
            argv = shlex.split(text)
            return argv[1:] if argv[:1] == ["exec"] else argv
    raise KeyError(f"the Procfile has no role {role!r}")
