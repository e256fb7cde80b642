"""python -m bench [--quick] [--only intake,persistence,...] [--json-out FILE] [--profile]

Starts the three roles on loopback against its own database (votingsite_bench, made
afresh; BENCH_DATABASE_NAME) and Redis database 9 (flushed; BENCH_REDIS_URL), measures,
prints a table, writes JSON, and stops everything it started, also on Ctrl-C or an error.
See docs/performance.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import signal
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

from . import db, loadgen, moderation_phase, phases, plots, qna_phase, roles, room, text_phase

PHASES = (
    "references", "intake", "persistence", "freshness", "fanout", "sessions", "history", "kinds",
    "reads", "quiz", "room", "words", "moderation", "qna",
)  # fmt: skip
# Phases in modules of their own, called with the run and whether sizes are quick.
MODULE_PHASES = {"words": text_phase.run, "moderation": moderation_phase.run, "qna": qna_phase.run}
# Left out of a plain --quick (named with --only they run): their smallest size adds > 30 s.
NOT_QUICK = ("qna",)


def _on_sigterm(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (~3 minutes)")
    parser.add_argument("--only", default="", help=f"comma-separated subset of {','.join(PHASES)}")
    parser.add_argument("--json-out", default="bench-results/latest.json", type=Path)
    parser.add_argument("--profile", action="store_true", help="py-spy the roles under load")
    parser.add_argument(
        "--freshness-rate", type=float, help="votes/s of the freshness phase (default 500)"
    )
    args = parser.parse_args()
    only = [p.strip() for p in args.only.split(",") if p.strip()] or [
        p for p in PHASES if not (args.quick and p in NOT_QUICK)
    ]
    unknown = set(only) - set(PHASES)
    if unknown:
        parser.error(f"unknown phases {sorted(unknown)}; choose from {', '.join(PHASES)}")
    sizes = phases.QUICK if args.quick else phases.Sizes()
    if args.freshness_rate:
        sizes = dataclasses.replace(sizes, freshness_rate=args.freshness_rate)

    signal.signal(signal.SIGTERM, _on_sigterm)
    os.chdir(roles.ROOT)
    nofile = roles.raise_nofile_limit()
    began = time.monotonic()
    print(f"bench: {'quick' if args.quick else 'full'} sizes, phases {','.join(only)}")
    print(f"setting up the bench database {roles.BENCH_DB} and Redis {roles.REDIS_URL} ...")
    db.recreate_database()
    client = db.flush_redis()
    db.setup_django()
    cookie_file = loadgen.write_voter_cookies(
        roles.OUT / "voter-cookies.txt", sizes.voter_cookies, prefix=f"b{os.getpid()}x"
    )
    run = phases.Run(sizes=sizes, profile=args.profile, redis=client, cookie_file=cookie_file)
    report: dict[str, Any] = {}
    try:
        run.voting = roles.voting()
        run.results_role = roles.results()
        run.voting.start()
        run.results_role.start()
        run.voting.wait_ready()
        run.results_role.wait_ready()
        run.start_worker()
        time.sleep(2)  # let start-up settle before the idle figures
        run.memory.sample("idle")
        run.memory.start()
        for name in PHASES:
            if name in only:
                print(f"[{name}]")
                try:
                    if name in MODULE_PHASES:
                        MODULE_PHASES[name](run, quick=args.quick)
                    elif name == "room":
                        room.room(run)
                    else:
                        getattr(phases, name)(run)
                except Exception as exc:
                    # One failed phase must not lose the others' figures.
                    print(f"  {name} failed: {exc!r} (see bench-results/logs/)", file=sys.stderr)
                    run.figures.setdefault(name, {})["error"] = repr(exc)
        run.memory.stop()
        report = {
            "meta": {
                "when": datetime.now(UTC).isoformat(timespec="seconds"),
                "sizes": "quick" if args.quick else "full",
                "phases": only,
                "cpus": psutil.cpu_count(),
                "load_average_at_end": os.getloadavg(),
                "python": platform.python_version(),
                "nofile_limit": nofile,
                "seconds": round(time.monotonic() - began, 1),
            },
            **run.figures,
            "memory_mb": run.memory.peaks,
            "memory_timeline": run.memory.timeline,
        }
    except KeyboardInterrupt:
        print("interrupted: stopping the roles", file=sys.stderr)
        return 130
    finally:
        run.memory.stop()
        roles.stop_all()
    args.json_out.parent.mkdir(parents=True, exist_ok=True)
    args.json_out.write_text(json.dumps(report, indent=2, default=str) + "\n")
    print()
    print(table(report))
    pictures = plots.draw(report, args.json_out.parent / f"{args.json_out.stem}-plots")
    print(f"\nJSON: {args.json_out}   logs: {roles.LOGS.relative_to(roles.ROOT)}/")
    if pictures:
        print(f"pictures: {pictures[0].parent}/ ({', '.join(p.name for p in pictures)})")
    return 0


def _ratio(ours: float | None, ref: float | None) -> str:
    return f"{ours / ref:.2f}" if ours and ref else ""


def _cost_rows(r: dict[str, Any]) -> list[tuple[str, str, str, str, str]]:
    """The capacity model's inputs (docs/scaling.md): what one vote costs each part."""
    rows = []
    intake = r.get("intake", {}).get("api_c16", {}).get("cost_per_vote")
    stored = r.get("persistence", {}).get("cost_per_vote")
    for label, cost, role in (("accepted (API c16)", intake, "voting"),
                              ("stored (worker)", stored, "worker")):  # fmt: skip
        if not cost or not cost.get("units"):
            continue
        cpu = cost["cpu_ms"]
        rows.append(
            (f"Cost per vote {label}: CPU ms {role} / Redis / Postgres",
             f"{cpu.get(role, 0):.3f} / {cpu['redis']:.3f} / {cpu['postgres'] or 0:.3f}",
             "", "", "")
        )  # fmt: skip
        rows.append(
            (f"  Redis commands, bytes in/out; Postgres WAL bytes, rows ({label})",
             (f"{cost['redis_commands']:.2f}, {cost['redis_bytes_in']:.0f}/"
              f"{cost['redis_bytes_out']:.0f}; {cost['postgres_wal_bytes']:.0f},"
              f" {cost['postgres_rows_written']:.2f}"), "", "", "")
        )  # fmt: skip
    ref = r.get("reference_redis", {})
    for pipeline in ("pipeline_1", "pipeline_16"):
        rates = ref.get(pipeline)
        if rates:
            rows.append(
                (f"redis-benchmark, 50 clients, {pipeline.replace('_', ' ')} (ops/s)",
                 ", ".join(f"{k} {v:,.0f}" for k, v in rates.items() if k in ("lpush", "set")),
                 "", "one Redis instance", "")
            )  # fmt: skip
    return rows


def table(r: dict[str, Any]) -> str:
    """Figure | ours | target | same-run reference | ours/reference."""
    rows: list[tuple[str, str, str, str, str]] = []
    for name, value in list(r.items()):
        if isinstance(value, dict) and "error" in value:
            rows.append((f"{name}: FAILED", value["error"][:60], "", "", ""))
            r = {k: v for k, v in r.items() if k != name}
    bare = r.get("reference_bare_view", {})
    intake = r.get("intake", {})
    for label in ("form", "api"):
        for key in sorted(k for k in intake if k.startswith(f"{label}_c")):
            x = intake[key]
            conns = key.split("_c")[1]
            ref = bare.get(f"c{conns}", {}).get("rate")
            target = "≥ 0.5 of bare, p99 ≤ 50 ms" if conns == "16" else ""
            rows.append(
                (
                    f"Intake {label.upper()} c={conns} (votes/s, p50/p99 ms)",
                    f"{x['rate']:.0f}  {x['p50_ms']:.1f}/{x['p99_ms']:.1f}",
                    target,
                    f"bare view {ref:.0f}" if ref else "",
                    _ratio(x["rate"], ref),
                )
            )
            if x["rejected_status"] or x["socket_errors"] or x.get("missing"):
                rows.append(
                    (
                        "  errors: non-2xx/3xx, socket, missing",
                        f"{x['rejected_status']}, {x['socket_errors']}, {x.get('missing', '?')}",
                        "0, 0, 0",
                        "",
                        "",
                    )
                )
    if intake:
        stored = all(v.get("all_stored") for k, v in intake.items() if k != "drain")
        rows.append(("Intake: every accepted vote stored", str(stored), "True", "", ""))
    p = r.get("persistence")
    if p:
        ref = r.get("reference_insert", {}).get("rate")
        rows.append(
            (
                f"Persistence {p['votes_cast']:,} votes (votes/s)",
                f"{p['rate']:.0f} ({p['rate_from_first_store']:.0f} from 1st row)",
                "≥ 10,000/s",
                f"raw upsert {ref:.0f}" if ref else "",
                _ratio(p["rate"], ref),
            )
        )
        rows.append(("Persistence: totals exact", str(p["exact"]), "True", "", ""))
        rows += _cost_rows(r)
    f = r.get("freshness")
    for n, x in enumerate(f.get("runs", []) if f else [], start=1):
        rows.append(
            (
                f"Freshness run {n} at {x['achieved_rate']:.0f}/s (p50/p99/max ms)",
                f"{x['p50_ms']:.0f}/{x['p99_ms']:.0f}/{x['max_ms']:.0f}",
                "≤ 40 / ≤ 150 in every run",
                f"target rate {x['target_rate']:.0f}/s",
                "",
            )
        )
    for x in r.get("fanout", {}).values():
        procs = x.get("results_processes", 1)
        rows.append(
            (
                f"Fan-out {x['connected']:,} viewers, {procs} results proc (p50/p99/all ms)",
                f"{x['p50_ms']:.0f}/{x['p99_ms']:.0f}/{x['max_ms']:.0f}",
                "p99 ≤ 500" if x["viewers"] >= 5_000 else "",
                f"delivered {x['delivered_fraction']:.1%}",
                "",
            )
        )
        each = "+".join(f"{m:.0f}" for m in x.get("results_rss_mb_each", []))
        rows.append(
            (f"  results RSS with {x['connected']:,} viewers (MB; kB a viewer)",
             f"{each or x['results_rss_mb_after_updates']} ({x.get('kb_per_viewer', '?')} kB)",
             "≤ 200 per proc at 5,000" if x["viewers"] >= 5_000 else "", "", "")
        )  # fmt: skip
        if "client_cpu_cores_busy" in x:
            busy = x["cost_per_message"]["cpu_cores_busy"]
            server = sum(v for k, v in busy.items() if k.startswith("results"))
            rows.append(
                ("  client CPU / results CPU while updates went out (cores)",
                 f"{x['client_cpu_cores_busy']:.2f} / {server:.2f}", "client ≪ server", "", "")
            )  # fmt: skip
    for key, x in r.get("sessions", {}).items():
        if not key.startswith("v"):
            continue
        rows.append(
            (
                f"Presenter action to {x['connected']:,} phones (p50/p99/all ms)",
                f"{x['p50_ms']:.0f}/{x['p99_ms']:.0f}/{x['max_ms']:.0f}",
                "p99 ≤ 1,000" if key in ("v1000", "v5000") else "",
                f"delivered {x['delivered_fraction']:.1%}",
                "",
            )
        )
        rows.append(
            (f"  audience count: Redis round trips/s ({x['connected']:,} phones)",
             f"{x['audience_round_trips_per_second']:.2f}", "≤ 1 per process",
             f"count in Redis {x['audience_count_in_redis']}", "")
        )  # fmt: skip
    for phase, per_role in r.get("memory_mb", {}).items():
        if phase not in ("idle", "intake", "persistence", "freshness") and not phase.startswith(
            "fanout"
        ):
            continue
        for role, m in sorted(per_role.items()):
            rows.append(
                (
                    f"Memory {role} [{phase}] (largest / all, MB)",
                    f"{m['largest_process_mb']:.0f} / {m['tree_mb']:.0f} ({m['processes']} proc)",
                    "≤ 120 each",
                    "",
                    "",
                )
            )
    hist = r.get("history", {})
    if hist:
        keys = list(hist)
        small, big = hist[keys[0]], hist[keys[-1]]
        for what in ("api", "ws_snapshot"):
            rows.append(
                (
                    (
                        f"{'Results API' if what == 'api' else 'WS snapshot'} p50 ms, "
                        f"{small['stored_votes']:,} vs {big['stored_votes']:,} votes"
                    ),
                    f"{small[f'{what}_p50_ms']:.1f} vs {big[f'{what}_p50_ms']:.1f}",
                    "same",
                    "",
                    _ratio(big[f"{what}_p50_ms"], small[f"{what}_p50_ms"]),
                )
            )
    rd = r.get("reads", {})
    if rd:
        rows.append(
            (
                "Results API p50 ms, 100 vs 20,000 rankings (ranked)",
                f"{rd['api_p50_ms_100_rankings']:.1f} vs {rd['api_p50_ms_20000_rankings']:.1f}",
                "within 2x",
                "",
                _ratio(rd["api_p50_ms_20000_rankings"], rd["api_p50_ms_100_rankings"]),
            )
        )
        rows.append(
            (
                "Vote p50 ms, idle vs 8 readers of the big poll",
                f"{rd['vote_p50_ms_idle']:.1f} vs {rd['vote_p50_ms_8_readers']:.1f}",
                "within 2x",
                "",
                _ratio(rd["vote_p50_ms_8_readers"], rd["vote_p50_ms_idle"]),
            )
        )
        rows.append(
            (
                "New viewer's snapshot p99 ms, 30 sockets syncing",
                str(rd.get("new_viewer_snapshot_p99_ms_30_syncing", "failed")),
                "<= 500",
                "",
                "",
            )
        )
    k = r.get("kinds", {})
    ref = r.get("reference_insert", {}).get("rate")
    for kind in ("multiple", "ranked", "wordcloud"):
        x = k.get(f"persistence_{kind}")
        if x:
            what = "3 words a voter" if kind == "wordcloud" else "8 choices"
            target = "10,000 voters in 30 s" if kind == "wordcloud" else "≥ 5,000/s (issue 14)"
            rows.append(
                (
                    f"Persistence {kind}, {what}, {x['ballots_cast']:,} ballots (ballots/s)",
                    f"{x['rate']:.0f}",
                    target,
                    f"raw upsert {ref:.0f}" if ref else "",
                    _ratio(x["rate"], ref),
                )
            )
            rows.append((f"  {kind}: every rule intact, exact", str(x["exact"]), "True", "", ""))
    for kind in ("multiple", "scale", "ranked"):
        kh = k.get(f"{kind}_history", {})
        if not kh:
            continue
        keys = list(kh)
        small, big = kh[keys[0]], kh[keys[-1]]
        for what in ("api", "ws_snapshot"):
            rows.append(
                (
                    (
                        f"{kind.capitalize()} {'results API' if what == 'api' else 'WS snapshot'}"
                        f" p50 ms, {small['ballots']:,} vs {big['ballots']:,} ballots"
                        f" ({big['distinct_ballots']:,} distinct)"
                    ),
                    f"{small[f'{what}_p50_ms']:.1f} vs {big[f'{what}_p50_ms']:.1f}",
                    "same",
                    "",
                    _ratio(big[f"{what}_p50_ms"], small[f"{what}_p50_ms"]),
                )
            )
    for kind in ("wordcloud", "openanswer"):
        kh = k.get(f"{kind}_history", {})
        if not kh:
            continue
        keys = list(kh)
        small, big = kh[keys[0]], kh[keys[-1]]
        measured = (
            ("compute", "snapshot computed"),
            ("api", "results API"),
            ("ws_snapshot", "WS snapshot"),
            ("terms_page", "terms page 2"),
        )
        for what, name in measured:
            rows.append(
                (
                    (
                        f"{kind.capitalize()} {name} p50 ms, {small['entries']:,} vs"
                        f" {big['entries']:,} entries ({big['distinct']:,} terms)"
                    ),
                    f"{small[f'{what}_p50_ms']:.1f} vs {big[f'{what}_p50_ms']:.1f}",
                    "within 2x (issue 33)",
                    "",
                    _ratio(big[f"{what}_p50_ms"], small[f"{what}_p50_ms"]),
                )
            )
        rows.append(
            (
                f"  {kind}: snapshot bytes at {big['entries']:,} entries",
                str(big["snapshot_bytes"]),
                "<= 16,384",
                "",
                "",
            )
        )
    header = ("Figure", "Ours", "Target", "Reference (same run)", "Ratio")
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(5)]
    lines = [" | ".join(c.ljust(w) for c, w in zip(header, widths, strict=True))]
    lines.append("-+-".join("-" * w for w in widths))
    lines += [" | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in rows]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
