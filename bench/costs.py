"""What a unit of work costs each part: the inputs of docs/scaling.md's capacity model.

A `Meter` reads, before and after a stretch of load, each role's CPU (its process tree),
Redis's own CPU, commands by name and network bytes (INFO), and Postgres's WAL position,
row counts (pg_stat_database) and its server processes' CPU; `per(n)` divides the
differences by the units of work done (votes stored, votes accepted, messages sent).
Plus one Redis instance's ceiling with redis-benchmark, Redis's own tool.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from typing import Any

import psutil
import psycopg2
import redis

from . import roles


def _redis_reading(client: redis.Redis) -> dict[str, float]:
    info = client.info("all")
    out = {
        "cpu_s": float(info["used_cpu_user"]) + float(info["used_cpu_sys"]),
        "net_in_bytes": float(info["total_net_input_bytes"]),
        "net_out_bytes": float(info["total_net_output_bytes"]),
        "commands": float(info["total_commands_processed"]),
    }
    for key, value in info.items():
        if key.startswith("cmdstat_") and isinstance(value, dict):
            out[f"cmd:{key.removeprefix('cmdstat_')}"] = float(value["calls"])
    return out


def _postgres_cpu() -> float:
    total = 0.0
    for proc in psutil.process_iter(["name", "cmdline"]):
        try:
            cmdline = " ".join(proc.info["cmdline"] or [])
            if proc.info["name"] == "postgres" or "postgres:" in cmdline:
                t = proc.cpu_times()
                total += t.user + t.system
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return total


def _postgres_reading() -> dict[str, float]:
    conn = psycopg2.connect(roles.DATABASE_URL)
    try:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT pg_current_wal_lsn() - '0/0'::pg_lsn, tup_inserted, tup_updated,"
                " tup_deleted, xact_commit FROM pg_stat_database WHERE datname = current_database()"
            )
            row = cur.fetchone()
    finally:
        conn.close()
    wal, ins, upd, dele, commits = row if row else (0, 0, 0, 0, 0)
    return {
        "wal_bytes": float(wal),
        "rows_inserted": float(ins),
        "rows_updated": float(upd),
        "rows_deleted": float(dele),
        "commits": float(commits),
        "cpu_s": _postgres_cpu(),
    }


@dataclass
class Meter:
    """Readings at start and stop; `per(n)` gives the costs per unit of work."""

    client: redis.Redis
    role_list: list[roles.Role]
    before: dict[str, Any] = field(default_factory=dict)
    after: dict[str, Any] = field(default_factory=dict)

    def _read(self) -> dict[str, Any]:
        return {
            "t": time.monotonic(),
            "roles": {r.name: r.cpu_seconds() for r in self.role_list},
            "redis": _redis_reading(self.client),
            # pg_stat_database lags by up to the stats flush interval: read it last.
            "postgres": _postgres_reading(),
        }

    def start(self) -> Meter:
        self.before = self._read()
        return self

    def stop(self) -> Meter:
        self.after = self._read()
        return self

    def per(self, units: int, unit: str) -> dict[str, Any]:
        """Differences per unit (CPU in ms), and the totals they come from."""
        if not units:
            return {"unit": unit, "units": 0}
        b, a = self.before, self.after
        seconds = a["t"] - b["t"]
        role_cpu = {n: a["roles"][n] - b["roles"].get(n, 0.0) for n in a["roles"]}
        rd = {k: a["redis"][k] - b["redis"].get(k, 0.0) for k in a["redis"]}
        pg = {k: a["postgres"][k] - b["postgres"].get(k, 0.0) for k in a["postgres"]}
        commands = {
            k.removeprefix("cmd:"): round(v / units, 3)
            for k, v in sorted(rd.items(), key=lambda kv: -kv[1])
            if k.startswith("cmd:") and v / units >= 0.001
        }
        return {
            "unit": unit,
            "units": units,
            "seconds": round(seconds, 2),
            "cpu_ms": {
                **{n: round(v * 1000 / units, 4) for n, v in role_cpu.items()},
                "redis": round(rd["cpu_s"] * 1000 / units, 4),
                # Postgres backends that exit take their CPU with them: None when the sum fell.
                "postgres": round(pg["cpu_s"] * 1000 / units, 4) if pg["cpu_s"] >= 0 else None,
            },
            "cpu_cores_busy": {
                **{n: round(v / seconds, 2) for n, v in role_cpu.items()},
                "redis": round(rd["cpu_s"] / seconds, 2),
                "postgres": round(pg["cpu_s"] / seconds, 2) if pg["cpu_s"] >= 0 else None,
            },
            "redis_commands": round(rd["commands"] / units, 3),
            "redis_commands_by_name": commands,
            "redis_bytes_in": round(rd["net_in_bytes"] / units, 1),
            "redis_bytes_out": round(rd["net_out_bytes"] / units, 1),
            "postgres_wal_bytes": round(pg["wal_bytes"] / units, 1),
            "postgres_rows_written": round(
                (pg["rows_inserted"] + pg["rows_updated"] + pg["rows_deleted"]) / units, 3
            ),
            "postgres_commits": round(pg["commits"] / units, 4),
        }


def redis_benchmark(url: str, requests: int = 200_000) -> dict[str, Any]:
    """One Redis instance's ops/s for the commands the vote path uses, from redis-benchmark
    (50 clients; without pipelining, and 16 commands per round trip)."""
    if shutil.which("redis-benchmark") is None:
        return {"error": "redis-benchmark is not installed (Debian's redis-tools)"}
    match = re.match(r"redis://([^:/]+):(\d+)/(\d+)", url)
    host, port, dbnum = match.groups() if match else ("127.0.0.1", "6379", "0")
    out: dict[str, Any] = {"requests": requests, "clients": 50}
    for pipeline in (1, 16):
        argv = ["redis-benchmark", "-h", host, "-p", port, "--dbnum", dbnum, "-q",
                "-n", str(requests), "-c", "50", "-P", str(pipeline),
                "-t", "set,get,lpush,rpop,hset,zadd,incr", "--csv"]  # fmt: skip
        done = subprocess.run(argv, capture_output=True, text=True, timeout=300, check=False)
        rates = {}
        for line in done.stdout.splitlines():
            cells = [c.strip('"') for c in line.split(",")]
            if len(cells) >= 2 and cells[0] != "test":
                try:
                    rates[cells[0].split()[0].lower()] = float(cells[1])
                except ValueError:
                    continue
        out[f"pipeline_{pipeline}"] = rates
    return out
