"""The mutation run's score per module, from mutmut's results in mutants/ (scripts/mutation).

python scripts/mutation_score.py              killed / survived / timeout / ... per module
python scripts/mutation_score.py --survivors  and each survivor's diff (mutmut show)
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MUTANTS = ROOT / "mutants"
COLUMNS = ["killed", "survived", "timeout", "no tests", "skipped", "suspicious", "not checked"]
# mutmut's exit codes (mutmut.stats.status_by_exit_code), grouped as the score reports them.
STATUS: dict[int | None, str] = {None: "not checked", 1: "killed", 3: "killed", 0: "survived"}
STATUS |= {5: "no tests", 33: "no tests", 34: "skipped"}
STATUS |= dict.fromkeys([36, 24, -24, 152, 255], "timeout")


def _exit_codes(meta: Path) -> dict[str, int | None]:
    for _ in range(50):  # a running mutmut rewrites the file after each mutant
        try:
            codes: dict[str, int | None] = json.loads(meta.read_text())["exit_code_by_key"]
        except json.JSONDecodeError:
            time.sleep(0.1)
        else:
            return codes
    raise SystemExit(f"{meta} is not readable JSON")


def results() -> dict[str, dict[str, str]]:
    found = {}
    for meta in sorted(MUTANTS.rglob("*.py.meta")):
        module = str(meta.relative_to(MUTANTS)).removesuffix(".meta")
        codes = _exit_codes(meta)
        found[module] = {name: STATUS.get(code, "suspicious") for name, code in codes.items()}
    return found


def main() -> int:
    if not MUTANTS.is_dir():
        print("no mutants/ yet: run scripts/mutation first")
        return 1
    by_module = results()
    width = max(len(m) for m in by_module) if by_module else 10
    print(f"{'module':<{width}} " + " ".join(f"{c:>11}" for c in COLUMNS))
    total: Counter[str] = Counter()
    for module, statuses in by_module.items():
        counts = Counter(statuses.values())
        total += counts
        print(f"{module:<{width}} " + " ".join(f"{counts[c]:>11}" for c in COLUMNS))
    print(f"{'all':<{width}} " + " ".join(f"{total[c]:>11}" for c in COLUMNS))
    if "--survivors" in sys.argv:
        for statuses in by_module.values():
            for name, status in statuses.items():
                if status in ("survived", "timeout", "suspicious"):
                    shown = subprocess.run(
                        [str(Path(sys.executable).parent / "mutmut"), "show", name],
                        check=False,
                        cwd=ROOT,
                        capture_output=True,
                        text=True,
                    )
                    print(shown.stdout or shown.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
