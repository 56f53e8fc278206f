"""Every figure, side by side, from one command.

``python -m bench.run`` (``make bench``): each registered scenario runs 3 times (median, min and
max), against one sink process, on this machine, in this run; a table is printed and the numbers
are written to ``bench/results/latest.json`` (and the table to ``latest.md``).

``python -m bench.run --smoke`` (``make bench-smoke``): one short run of the console's
pages (2,000 attempts, SQLite), the ceiling, the Celery prefork baseline and hookwise embedded
(about 25 s); exits 1 if hookwise delivers less than the Celery prefork baseline (or cannot
run, unless ``--allow-unavailable``).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shutil
import signal
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

import uvloop
from rich.console import Console
from rich.table import Table

import bench.console  # noqa: F401 - registers the console pages figure
from bench import (  # noqa: F401 - they register scenarios
    baselines,
    bulk,
    cluster_latency,
    engine,
    hookwise_scenarios,
    store_path,
)
from bench.measure import summarize
from bench.processes import REPO_ROOT, stop_all
from bench.registry import REGISTRY, Metric, RunContext, Scenario, Unavailable
from bench.sink_client import SinkHandle

RESULTS_DIR = REPO_ROOT / "bench" / "results"
CEILING_KEY, CELERY_KEY = "ceiling.rate", "celery-prefork.rate"
SMOKE_HOOKWISE_KEY = "embedded.delivery_rate"

console = Console(stderr=True)


@dataclass
class Outcome:
    """What became of one scenario: its samples per metric, or why it has none."""

    scenario: Scenario
    status: str = "ok"  # ok | unavailable | error | skipped
    reason: str = ""
    runs: int = 0
    seconds: float = 0.0
    samples: dict[str, list[float]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    permanent: bool = False  # the failure would recur on a retry
    load_before: float = 0.0  # 1-minute load average when it started (others' work shows here)


def load_average() -> float:
    """The 1-minute load average."""
    return os.getloadavg()[0]


async def run_scenario(ctx: RunContext, sc: Scenario, runs: int, deadline: float) -> Outcome:
    """Run ``sc`` up to ``runs`` times (fewer if the time budget is spent)."""
    out = Outcome(sc, samples={m.key: [] for m in sc.metrics}, load_before=load_average())
    ctx.notes = out.notes
    started = time.monotonic()
    if started > deadline:
        out.status, out.reason = "skipped", "time budget of the whole run spent"
        return out
    if sc.prepare is not None and not await _attempt(ctx, out, sc.prepare, "prepare"):
        if out.permanent:
            return _finish(ctx, out, started)
        # A template is built once for all runs: one retry rides out a transient failure.
        out.notes.append(f"preparation failed once ({out.status}: {out.reason}); retried")
        out.status, out.reason = "ok", ""
        if not await _attempt(ctx, out, sc.prepare, "prepare (retry)"):
            return _finish(ctx, out, started)
    runs_started = time.monotonic()
    for i in range(runs):
        if i > 0:
            spent = time.monotonic() - runs_started
            per_run = spent / i
            if spent + per_run > sc.allowance * ctx.allowance_scale:
                out.notes.append(f"{i} of {runs} runs: another would pass its time allowance")
                break
            if time.monotonic() + per_run > deadline:
                out.notes.append(f"{i} of {runs} runs: time budget of the whole run")
                break
        ctx.run_index = i
        values = await _attempt(ctx, out, sc.run, f"run {i + 1}")
        if not isinstance(values, dict):
            break
        out.runs += 1
        for key, value in values.items():
            if key in out.samples:
                out.samples[key].append(float(value))
        shown = ", ".join(f"{k}={v:,.1f}" for k, v in values.items())
        console.log(f"{sc.name} run {i + 1}/{runs}: {shown}")
    return _finish(ctx, out, started)


async def _attempt(ctx: RunContext, out: Outcome, fn: Any, what: str) -> Any:
    """Call ``fn(ctx)``; on failure record why in ``out`` and return None."""
    try:
        result = await fn(ctx)
    except Unavailable as exc:
        out.status, out.reason, out.permanent = "unavailable", str(exc), exc.permanent
        return None
    except Exception as exc:  # one broken figure must not stop the others
        out.status, out.reason = "error", f"{type(exc).__name__}: {exc}"
        with open(ctx.log_dir / "harness.log", "a") as log:
            log.write(f"--- {out.scenario.name} {what}\n{traceback.format_exc()}\n")
        return None
    return result if result is not None else True


def _finish(ctx: RunContext, out: Outcome, started: float) -> Outcome:
    out.seconds = time.monotonic() - started
    if out.status != "ok":
        console.log(f"{out.scenario.name}: {out.status}: {out.reason}")
    for m in out.scenario.metrics:
        median = summarize(out.samples[m.key])["median"]
        if math.isfinite(median):
            ctx.medians[f"{out.scenario.name}.{m.key}"] = median
    return out


async def run_all(args: argparse.Namespace, scenarios: list[Scenario]) -> list[Outcome]:
    """Start the sink, run every scenario, clean up whatever happens."""
    log_dir = RESULTS_DIR / "logs"
    shutil.rmtree(log_dir, ignore_errors=True)
    log_dir.mkdir(parents=True)
    work_dir = Path(tempfile.mkdtemp(prefix="hookwise-bench-"))
    sink = SinkHandle.start(log_dir, cpu=args.pin_sink)
    ctx = RunContext(
        sink=sink,
        smoke=args.smoke,
        log_dir=log_dir,
        work_dir=work_dir,
        allowance_scale=args.allowance_scale,
    )
    runs = args.runs or (1 if args.smoke else 3)
    deadline = time.monotonic() + args.budget
    outcomes: list[Outcome] = []
    try:
        for sc in scenarios:
            outcomes.append(await run_scenario(ctx, sc, sc.runs or runs, deadline))
    finally:
        for cleanup in reversed(ctx.cleanups):
            try:
                await cleanup()
            except Exception as exc:
                console.log(f"cleanup failed: {exc}")
        sink.stop()
        shutil.rmtree(work_dir, ignore_errors=True)
    return outcomes


# --- reporting -----------------------------------------------------------------------------


def _fmt(value: float | None, digits: int) -> str:
    if value is None or not math.isfinite(value):
        return "-"
    return f"{value:,.{digits}f}"


def metric_row(out: Outcome, m: Metric, medians: dict[str, float]) -> dict[str, Any]:
    """One metric's summary, ratios and targets, as data."""
    s = summarize(out.samples.get(m.key, []))
    median = s["median"]
    ceiling, celery = medians.get(CEILING_KEY), medians.get(CELERY_KEY)
    targets = [
        {"text": t.text, "threshold": t.threshold(medians), "met": t.met(median, medians)}
        for t in m.targets
    ]
    return {
        "scenario": out.scenario.name,
        "metric": m.key,
        "label": m.label,
        "unit": m.unit,
        "digits": m.digits,
        "samples": out.samples.get(m.key, []),
        **s,
        "vs_ceiling": median / ceiling if m.rate and ceiling else None,
        "vs_celery_prefork": median / celery if m.rate and celery else None,
        "targets": targets,
    }


def build_report(
    outcomes: list[Outcome], args: argparse.Namespace, seconds: float
) -> dict[str, Any]:
    """The JSON document written to ``latest.json``."""
    medians = {
        f"{o.scenario.name}.{m.key}": summarize(o.samples[m.key])["median"]
        for o in outcomes
        for m in o.scenario.metrics
    }
    medians = {k: v for k, v in medians.items() if math.isfinite(v)}
    return {
        "meta": {
            "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "seconds": round(seconds, 1),
            "smoke": args.smoke,
            "runs": args.runs or (1 if args.smoke else 3),
            "cpus": os.cpu_count(),
            "machine": platform.machine(),
            "python": platform.python_version(),
            "sink_pinned_cpu": args.pin_sink,
            "load_start": round(args.load_start, 2),
            "load_end": round(load_average(), 2),
        },
        "scenarios": [
            {
                "name": o.scenario.name,
                "title": o.scenario.title,
                "status": o.status,
                "reason": o.reason,
                "runs": o.runs,
                "seconds": round(o.seconds, 1),
                "load_before": round(o.load_before, 2),
                "notes": o.notes,
                "metrics": [metric_row(o, m, medians) for m in o.scenario.metrics],
            }
            for o in outcomes
        ],
    }


def _cells(row: dict[str, Any]) -> list[str]:
    d = row["digits"]
    vs_c = f"{row['vs_ceiling']:.0%}" if row["vs_ceiling"] is not None else ""
    vs_k = f"{row['vs_celery_prefork']:.1f}x" if row["vs_celery_prefork"] is not None else ""
    verdicts = []
    for t in row["targets"]:
        mark = {True: "✓", False: "✗", None: "?"}[t["met"]]
        verdicts.append(f"{mark} {t['text']}")
    return [
        row["label"], _fmt(row["median"], d), _fmt(row["min"], d), _fmt(row["max"], d),
        row["unit"], vs_c, vs_k, "; ".join(verdicts),
    ]  # fmt: skip


HEADERS = ["figure", "metric", "median", "min", "max", "unit", "x ceiling", "x Celery", "target"]


def table_rows(report: dict[str, Any]) -> list[list[str]]:
    """The table as rows of text cells (shared by the terminal and Markdown renderings)."""
    rows: list[list[str]] = []
    for sc in report["scenarios"]:
        title = f"{sc['title']} (n={sc['runs']})"
        if sc["status"] != "ok" and sc["runs"] == 0:
            rows.append([title, f"{sc['status']}: {sc['reason']}", *[""] * 7])
            continue
        for i, row in enumerate(sc["metrics"]):
            rows.append([title if i == 0 else "", *_cells(row)])
        if sc["status"] != "ok":
            rows.append(["", f"{sc['status']} after {sc['runs']} runs: {sc['reason']}", *[""] * 7])
    return rows


def print_table(report: dict[str, Any]) -> None:
    """The table on the terminal, notes underneath."""
    table = Table(title="hookwise benchmark", show_lines=False)
    for h in HEADERS:
        table.add_column(h, justify="right" if h in ("median", "min", "max") else "left")
    for cells in table_rows(report):
        table.add_row(*cells)
    out = Console(width=None if sys.stdout.isatty() else 200)
    out.print(table)
    for sc in report["scenarios"]:
        for note in sc["notes"]:
            out.print(f"[dim]{sc['name']}: {note}[/dim]")
    meta = report["meta"]
    out.print(
        f"[dim]{meta['cpus']} CPUs, Python {meta['python']}, {meta['seconds']:.0f} s, "
        f"load average {meta['load_start']} at start, {meta['load_end']} at end[/dim]"
    )
    if meta["load_start"] > 0.5:
        out.print("[yellow]the machine was busy when the run started: figures are contended[/]")


def markdown_table(report: dict[str, Any]) -> str:
    """The table as Markdown (for README.md)."""
    lines = ["| " + " | ".join(HEADERS) + " |", "|" + "---|" * len(HEADERS)]
    for cells in table_rows(report):
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines) + "\n"


def _json_safe(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return value


def smoke_verdict(report: dict[str, Any], allow_unavailable: bool) -> tuple[bool, str]:
    """Whether hookwise delivered at least as fast as the Celery prefork baseline."""
    rows = {f"{r['scenario']}.{r['metric']}": r for s in report["scenarios"] for r in s["metrics"]}
    statuses = {s["name"]: s for s in report["scenarios"]}
    hw, celery = rows.get(SMOKE_HOOKWISE_KEY), rows.get(CELERY_KEY)
    hw_value = hw["median"] if hw else None
    celery_value = celery["median"] if celery else None
    if celery_value is None or not math.isfinite(celery_value):
        return False, "no Celery prefork baseline was measured"
    if hw_value is None or not math.isfinite(hw_value):
        sc = statuses.get("embedded", {})
        why = f"hookwise embedded {sc.get('status', 'missing')}: {sc.get('reason', '')}"
        return allow_unavailable and sc.get("status") == "unavailable", why
    verdict = hw_value >= celery_value
    return verdict, f"hookwise {hw_value:,.0f} vs Celery prefork {celery_value:,.0f} deliveries/s"


# --- command line --------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The harness's command line."""
    p = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n")[0])
    p.add_argument("--smoke", action="store_true", help="~20 s check: hookwise ≥ Celery prefork")
    p.add_argument("--runs", type=int, default=None, help="runs per figure (default 3; smoke 1)")
    p.add_argument("--only", default="", help="comma-separated scenario names to run")
    p.add_argument("--skip", default="", help="comma-separated scenario names to leave out")
    p.add_argument("--list", action="store_true", help="list the scenarios and exit")
    p.add_argument("--json", type=Path, default=None, help="where to write the results JSON")
    p.add_argument("--pin-sink", type=int, default=None, metavar="CPU", help="pin the sink")
    p.add_argument("--budget", type=float, default=800.0, help="start no run after N s")
    p.add_argument(
        "--allowance-scale", type=float, default=1.0, help="scale every figure's time allowance"
    )
    p.add_argument(
        "--allow-unavailable", action="store_true", help="smoke passes if hookwise cannot run"
    )
    return p.parse_args(argv)


def select(args: argparse.Namespace) -> list[Scenario]:
    """The scenarios this invocation runs, in registry order."""
    only = {n for n in args.only.split(",") if n}
    skip = {n for n in args.skip.split(",") if n}
    unknown = (only | skip) - {n for s in REGISTRY for n in (s.name, s.group) if n}
    if unknown:
        raise SystemExit(f"unknown scenario(s): {', '.join(sorted(unknown))}")

    def named(s: Scenario, names: set[str]) -> bool:
        return s.name in names or (s.group is not None and s.group in names)

    chosen = [
        s
        for s in REGISTRY
        if (named(s, only) if only or s.on_demand else True) and not named(s, skip)
    ]
    return [s for s in chosen if s.smoke] if args.smoke and not only else chosen


def _terminate(signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m bench.run``."""
    args = parse_args(argv)
    scenarios = select(args)
    if args.list:
        for s in REGISTRY:
            mark = "smoke " if s.smoke else "asked " if s.on_demand else "      "
            console.print(f"{s.name:20} {mark}{s.title}")
        return 0
    signal.signal(signal.SIGTERM, _terminate)
    args.load_start = load_average()
    started = time.monotonic()
    try:
        outcomes = uvloop.run(run_all(args, scenarios))
    finally:
        stop_all()
    report = _json_safe(build_report(outcomes, args, time.monotonic() - started))
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    json_path = args.json or RESULTS_DIR / ("smoke.json" if args.smoke else "latest.json")
    json_path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    json_path.with_suffix(".md").write_text(markdown_table(report))
    print_table(report)
    console.print(f"results: {json_path}")
    if args.smoke:
        ok, why = smoke_verdict(report, args.allow_unavailable)
        console.print(f"smoke {'passed' if ok else 'FAILED'}: {why}")
        return 0 if ok else 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
