"""Load generators: wrk with bench/vote.lua for throughput, signed voter cookies for it."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from . import roles

LUA = Path(__file__).resolve().parent / "vote.lua"


def write_voter_cookies(path: Path, count: int, prefix: str) -> Path:
    """Signed `voter` cookie values exactly as polls.middleware.VoterMiddleware sets them."""
    from polls.voters import signed_voter_cookie

    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as out:
        for i in range(count):
            out.write(signed_voter_cookie(f"{prefix}{i:07d}") + "\n")
    return path


def run_wrk(
    url: str,
    *,
    mode: str,
    cookie_file: Path,
    choice_id: int,
    connections: int,
    seconds: float,
    ok_status: int,
    threads: int = 2,
) -> dict[str, Any]:
    """One bounded wrk run (-d seconds); returns its summary with rates and status counts."""
    threads = min(threads, connections)
    argv = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "5s",
        "-s",
        str(LUA),
        url,
        "--",
        mode,
        str(cookie_file),
        str(choice_id),
        roles.CSRF_TOKEN,
        str(threads),
        str(ok_status),
    ]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60, check=False)
    line = next((x for x in done.stdout.splitlines() if x.startswith("BENCH_JSON ")), None)
    if done.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    result: dict[str, Any] = json.loads(line.removeprefix("BENCH_JSON "))
    secs = result["duration_us"] / 1e6
    errors = result["errors"]
    socket_errors = errors["connect"] + errors["read"] + errors["write"] + errors["timeout"]
    accepted = result["ok"]
    if result["cookies_exhausted"]:
        print(f"  wrk: {result['cookies_exhausted']} thread(s) ran out of voters: ran {secs:.1f}s")
    result.update(
        connections=connections,
        seconds=round(secs, 2),
        accepted=accepted,
        rejected_status=result["other"],
        socket_errors=socket_errors,
        rate=round(accepted / secs, 1) if secs else 0.0,
        p50_ms=result["latency_us"]["p50"] / 1000,
        p99_ms=result["latency_us"]["p99"] / 1000,
    )
    return result
