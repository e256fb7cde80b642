"""Optional py-spy sampling of a role's processes during a phase (`--profile`).

Writes collapsed stacks to bench-results/profiles/<name>.txt (open them in speedscope or
flamegraph.pl) and returns the hottest frames, by own time and including callees.
"""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import roles

PROFILES = roles.OUT / "profiles"


@dataclass
class Spy:
    name: str
    path: Path
    proc: subprocess.Popen[bytes]


def start(role: roles.Role, name: str, seconds: float) -> Spy:
    PROFILES.mkdir(parents=True, exist_ok=True)
    path = PROFILES / f"{name}.txt"
    argv = [
        str(roles.BIN / "py-spy"), "record", "--pid", str(role.pid), "--subprocesses",
        "--duration", str(max(1, round(seconds))), "--rate", "100", "--format", "raw",
        "--nonblocking", "--gil", "--output", str(path),
    ]  # fmt: skip
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return Spy(name, path, proc)


def finish(spy: Spy, top: int = 15) -> dict[str, Any]:
    try:
        spy.proc.wait(60)
    except subprocess.TimeoutExpired:
        spy.proc.kill()
        spy.proc.wait(5)
    return summarise(spy.path, top)


def summarise(path: Path, top: int = 15) -> dict[str, Any]:
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    if not path.exists():
        return {"file": str(path), "samples": 0}
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not count_text.isdigit():
            continue
        count = int(count_text)
        # The first frames name the process and thread; the rest are Python frames.
        frames = [
            f for f in stack.split(";") if "(" in f and not f.startswith(("process ", "thread "))
        ]
        if not frames:
            continue
        total += count
        own[frames[-1]] += count
        for frame in set(frames):
            inclusive[frame] += count

    def share(counter: Counter[str]) -> list[tuple[str, float]]:
        return [(frame, round(100 * n / total, 1)) for frame, n in counter.most_common(top)]

    return {
        "file": str(path.resolve().relative_to(roles.ROOT)),
        "samples": total,
        "own_percent": share(own),
        "inclusive_percent": share(inclusive),
    }


def main() -> None:
    """python -m bench.profile FILE: print the summary of a collapsed-stack file."""
    summary = summarise(Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 25)
    print(f"{summary['samples']} samples")
    for title in ("own_percent", "inclusive_percent"):
        print(title)
        for frame, percent in summary.get(title, []):
            print(f"  {percent:5.1f}%  {frame}")


if __name__ == "__main__":
    main()
