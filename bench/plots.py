"""python -m bench.plots REPORT.json [--out DIR]

Draws a benchmark report (the JSON `python -m bench` writes) as PNG pictures in DIR
(default bench-results/plots/). A picture whose data is not in the report is skipped.

- freshness.png: per freshness run, the fraction of votes whose count reached a WebSocket
  viewer within x ms of the vote's 202 (empirical CDF), against the p50 and p99 targets.
- intake.png: left, throughput of the form and API vote views per connection count, each
  bar marked with its ratio to the bare Django view at the same count; right, their
  latency p50/p90/p99 against the p99 target.
- fanout.png: the fraction of viewers that have an update x ms after it was published,
  per audience size, against the fan-out target.
- memory.png: process-tree memory per role over the run, with the bench's phases marked.
- sessions.png: as fanout.png, for a presenter's session actions.
- room.png: per room size (the `room` phase), the join, a presenter's action and a
  reveal's results reaching every phone, and a vote cast until shown on the phones
  while the room watches (freshness at 500 votes/s), p50 and p99, against their targets.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

Report = dict[str, Any]

FRESHNESS_TARGETS_MS = (("p50", 40.0, "tab:orange"), ("p99", 150.0, "tab:red"))
INTAKE_P99_TARGET_MS = 50.0
FANOUT_TARGET_MS = 500.0
SESSIONS_TARGET_MS = 1000.0  # issue 19: p99 within 1 s
ROOM_TARGETS_MS = {  # issue 42
    "join": 2000.0,
    "action": 1000.0,
    "reveal → results": 1000.0,
    "cast → shown": 150.0,
}
RESULTS_MEMORY_TARGET_MB = 200.0
PHASE_LABEL: dict[str, Any] = {"rotation": 90, "va": "top", "ha": "right", "fontsize": 7}
TARGET_STYLE: dict[str, Any] = {"color": "tab:red", "linestyle": "--", "linewidth": 1}


def _figure(ncols: int = 1) -> tuple[Figure, list[Axes]]:
    from matplotlib import pyplot as plt

    fig, axes = plt.subplots(1, ncols, figsize=(8, 4.5), dpi=120, squeeze=False)
    return fig, list(axes[0])


def _ms(run: dict[str, Any], key: str, q: int) -> float:
    """run[key], or the q-th percentile of run["delays_ms"] when the report lacks it."""
    value = run.get(key)
    if value is None:
        value = statistics.quantiles(run["delays_ms"], n=100)[q - 1]
    return float(value)


def _freshness(report: Report) -> Figure | None:
    section = report.get("freshness") or {}
    runs = section.get("runs", [section] if "delays_ms" in section else [])
    runs = [run for run in runs if len(run.get("delays_ms") or []) > 1]
    if not runs:
        return None
    fig, (ax,) = _figure()
    for i, run in enumerate(runs, 1):
        p50, p99 = _ms(run, "p50_ms", 50), _ms(run, "p99_ms", 99)
        ax.ecdf(run["delays_ms"], label=f"run {i}: p50 {p50:.0f} / p99 {p99:.0f} ms")
    for p, target, color in FRESHNESS_TARGETS_MS:
        ax.axvline(target, **{**TARGET_STYLE, "color": color}, label=f"{p} target {target:.0f} ms")
    ax.set_xscale("log")
    ax.set(
        title="Freshness: from a vote's 202 to the WebSocket message that counts it",
        xlabel="delay (ms, log scale)",
        ylabel="fraction of votes",
    )
    ax.legend(fontsize="small", loc="lower right")
    return fig


def _ratio(rate: float, reference: dict[str, Any] | None) -> str:
    return f"{rate / reference['rate']:.2f}\N{MULTIPLICATION SIGN}" if reference else ""


def _intake(report: Report) -> Figure | None:
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    intake, bare = report.get("intake") or {}, report.get("reference_bare_view") or {}
    conns = sorted({int(m[1]) for k in intake if (m := re.fullmatch(r"(?:form|api)_c(\d+)", k))})
    if not conns:
        return None
    series = {"bare view": lambda c: bare.get(f"c{c}")}
    series |= {"form": lambda c: intake.get(f"form_c{c}"), "API": lambda c: intake.get(f"api_c{c}")}
    fig, (left, right) = _figure(2)
    width = 0.8 / len(series)
    for i, (name, figures) in enumerate(series.items()):
        present = [(j, c, f) for j, c in enumerate(conns) if (f := figures(c))]
        if not present:
            continue
        bars = left.bar(
            [j + (i - 1) * width for j, _, _ in present],
            [f["rate"] for _, _, f in present],
            width,
            label=name,
            color=f"C{i}",
        )
        ratios = [_ratio(f["rate"], bare.get(f"c{c}")) for _, c, f in present]
        left.bar_label(bars, labels=ratios, fontsize="x-small", padding=2)
        for (_, c, f), marker in zip(present, "os^D", strict=False):
            if latency := f.get("latency_us"):
                right.plot(
                    range(3),
                    [latency[p] / 1000 for p in ("p50", "p90", "p99")],
                    marker=marker,
                    linestyle="-" if marker == "o" else "--",
                    color=f"C{i}",
                    label=f"{name}, {c} conns",
                )
    left.set_xticks(range(len(conns)), [f"{c} conns" for c in conns])
    left.set_xlim(-0.5, len(conns) - 0.5)
    left.set(title="Throughput (ratio to the bare view)", ylabel="requests/s")
    left.margins(y=0.2)
    left.legend(fontsize="small", loc="upper center", ncols=3)
    right.axhline(
        INTAKE_P99_TARGET_MS, **TARGET_STYLE, label=f"p99 target {INTAKE_P99_TARGET_MS:.0f} ms"
    )
    right.set_xticks(range(3), ["p50", "p90", "p99"])
    right.set_yscale("log")
    right.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
    right.yaxis.set_major_formatter(FuncFormatter(lambda y, _: f"{y:g}"))
    right.yaxis.set_minor_formatter(NullFormatter())
    right.set_ylim(top=right.get_ylim()[1] * 10)  # room for the legend above the lines
    right.set(title="Latency percentiles", ylabel="latency (ms, log scale)")
    right.legend(fontsize="x-small", loc="upper left", ncols=2)
    fig.suptitle("Intake: vote views against the bare Django view")
    return fig


def _viewers(key: str, run: dict[str, Any]) -> int:
    return int(run.get("connected") or re.sub(r"\D", "", key) or 0)


def _delivery(section: dict[str, Any], title: str, target_ms: float) -> Figure | None:
    curves = {k: v for k, v in section.items() if len((v or {}).get("delays_ms") or []) > 1}
    if not curves:
        return None
    fig, (ax,) = _figure()
    for key, run in sorted(curves.items(), key=lambda kv: _viewers(*kv)):
        where = ", 2 processes" if "two_processes" in key else ""
        p99 = _ms(run, "p99_ms", 99)
        ax.ecdf(run["delays_ms"], label=f"{_viewers(key, run):,} viewers{where} (p99 {p99:.0f} ms)")
    ax.axvline(target_ms, **TARGET_STYLE, label=f"p99 target {target_ms:,.0f} ms")
    ax.set(
        title=title,
        xlabel="time since the update was published (ms)",
        ylabel="fraction of viewers that have it",
    )
    ax.legend(fontsize="small", loc="lower right")
    return fig


def _fanout(report: Report) -> Figure | None:
    return _delivery(
        report.get("fanout") or {}, "Fan-out: one update reaching every viewer", FANOUT_TARGET_MS
    )


def _sessions(report: Report) -> Figure | None:
    return _delivery(
        report.get("sessions") or {},
        "Sessions: a presenter's action reaching every phone",
        SESSIONS_TARGET_MS,
    )


def _memory(report: Report) -> Figure | None:
    timeline: dict[str, Sequence[Sequence[Any]]] = report.get("memory_timeline") or {}
    if not any(timeline.values()):
        return None
    fig, (ax,) = _figure()
    for role, samples in timeline.items():
        if samples:
            # A gap in the samples is a role stopped (the worker between phases): a break
            # in its line, not a slope to its next start.
            xs: list[float] = []
            ys: list[float] = []
            for sample in samples:
                if xs and sample[0] - xs[-1] > 2:
                    xs.append(xs[-1])
                    ys.append(float("nan"))
                xs.append(float(sample[0]))
                ys.append(float(sample[1]))
            ax.plot(xs, ys, label=role)
    phase = None
    for t, *_, name in sorted(
        (s for samples in timeline.values() for s in samples), key=lambda s: s[0]
    ):
        if name != phase:
            phase = name
            ax.axvline(t, color="grey", linewidth=0.6, alpha=0.6)
            ax.text(t, 0.98, name, transform=ax.get_xaxis_transform(), **PHASE_LABEL)
    ax.axhline(RESULTS_MEMORY_TARGET_MB, **TARGET_STYLE, label="results target\n(5,000 viewers)")
    ax.set_ylim(0, ax.get_ylim()[1] * 1.25)  # room for the phase names
    ax.set(
        title="Memory per role (process tree)",
        xlabel="time since the start of the run (s)",
        ylabel="resident memory (MB)",
    )
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1))
    return fig


def _room(report: Report) -> Figure | None:
    from matplotlib.ticker import FuncFormatter

    sizes = (report.get("room") or {}).values()
    # A failed phase leaves {"error": ...}: no sizes to draw.
    runs = sorted(
        (r for r in sizes if isinstance(r, dict) and r.get("joined")), key=lambda r: r["phones"]
    )
    if not runs:
        return None
    fig, axes = _figure(ncols=len(ROOM_TARGETS_MS))
    fig.set_size_inches(14, 4.5)
    fresh = [r.get("freshness") or {} for r in runs]  # absent: the part was left out
    measures: dict[str, tuple[list[float] | None, list[float]]] = {
        "join": ([r["join_p50_ms"] for r in runs], [r["join_p99_ms"] for r in runs]),
        "action": ([r["action_p50_ms"] for r in runs], [r["action_p99_ms"] for r in runs]),
        "reveal → results": (None, [r["reveal_results_p99_ms"] for r in runs]),
        "cast → shown": (
            [f.get("p50_ms", 0.0) for f in fresh],
            [f.get("p99_ms", 0.0) for f in fresh],
        ),
    }
    labels = [
        f"{r['phones']:,}"
        + (f"\n({r['results_processes']} results)" if r.get("results_processes", 1) > 1 else "")
        for r in runs
    ]
    xs = list(range(len(runs)))
    for ax, (name, (p50, p99)) in zip(axes, measures.items(), strict=True):
        if p50:
            ax.bar([x - 0.2 for x in xs], [ms / 1000 for ms in p50], 0.4,
                   color="tab:blue", label="p50")  # fmt: skip
        ax.bar([x + 0.2 for x in xs], [ms / 1000 for ms in p99], 0.4,
               color="tab:orange", label="p99")  # fmt: skip
        ax.axhline(ROOM_TARGETS_MS[name] / 1000, **TARGET_STYLE, label="p99 target")
        ax.set_xticks(xs, labels, fontsize="small")
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.set_ylim(0, max(ax.get_ylim()[1], ROOM_TARGETS_MS[name] / 1000 * 1.3))
        ax.set(title=name, xlabel="phones", ylabel="seconds")
        ax.legend(fontsize="small")
    fig.suptitle("A room of phones: until every phone has it")
    return fig


PICTURES: dict[str, Callable[[Report], Figure | None]] = {
    "freshness.png": _freshness,
    "intake.png": _intake,
    "fanout.png": _fanout,
    "memory.png": _memory,
    "sessions.png": _sessions,
    "room.png": _room,
}


def draw(report: Report, out_dir: Path) -> list[Path]:
    """Writes the pictures whose data is in the report; returns their paths."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    written = []
    for name, paint in PICTURES.items():
        fig = paint(report)
        if fig is None:
            continue
        try:
            fig.tight_layout()
            out_dir.mkdir(parents=True, exist_ok=True)
            fig.savefig(out_dir / name)
            written.append(out_dir / name)
        finally:
            plt.close(fig)
    return written


def main() -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.plots",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("report", type=Path, help="a JSON report from python -m bench")
    parser.add_argument("--out", type=Path, default=Path("bench-results/plots"))
    args = parser.parse_args()
    for path in draw(json.loads(args.report.read_text()), args.out):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
