"""Mining benchmark: twinflow against pm4py, end to end, on the same generated log, measured side by side in one run.

What it measures
    A seeded purchase-to-pay log of N events (default 1,000,000; `--events 1000000 5000000` for both sizes; see
    bench/generate.py) is written once per size as CSV into bench/out/ (not measured). Three contenders then run
    the same analysis, each in a fresh subprocess of its own so that its peak memory is its own:

    pm4py               pandas.read_csv(csv) -> pm4py.format_dataframe (sorts by time, stable) -> a stable sort by
                        case then time -> pm4py.discover_dfg -> pm4py.discover_performance_dfg ->
                        pm4py.get_variants -> pm4py.get_all_case_durations -> KPIs as a pm4py user computes them
                        (pm4py has no KPI set): cycle time from the case durations, rework from
                        pm4py.get_rework_cases_per_activity plus a pandas groupby for the case-level share,
                        exceptions from pm4py.filter_event_attribute_values, touchless, manual touches, SLA and
                        cost with pandas.
    twinflow-file       ingest.import_file(csv) into a fresh workspace file, then on a new read-only connection
                        mining.variants, mining.dfg (frequencies and waiting-time statistics per edge: the
                        performance DFG), mining.case_durations and mining.kpis.kpi_summary (see kpi_config()).
    twinflow-workspace  the same four queries on the workspace imported before (a persistent store is twinflow's
                        normal state: the file is read once, then every page queries the workspace).

    The first mining view of a process builds its case index (mining.cases.case_index: one sort of all events
    into per-case keys, variants and steps, kept in memory per workspace file); variants runs first, so its time
    includes that build, and the later views reuse the index.

    Each phase is timed (time.perf_counter); the peak RSS of the process is read from /proc/self/status (VmHWM)
    and getrusage. The end-to-end time is the sum of the phases. Each contender also reports a digest of what it
    found (edges, variants, cases, KPI values) and the parent checks that the contenders agree.

    Variants alone: twinflow's mining.variants on the workspace, case index build included, against
    pm4py.get_variants on the sorted frame (the sort not included).

    Filter change (at sizes up to --filter-max-events, default 1M): on the imported workspace, a page recomputes
    dfg + variants + kpi_summary for a handful of typical filter changes (site, time window, activity present,
    duration range, variant, and none); each is timed with no result cached (median of max(3, --runs) calls)
    once the case index is built (the first view, which builds it, is timed on its own), and the maximum is the
    figure.

pm4py pitfalls avoided here (so that the comparison is fair and pm4py's answers are right)
    - get_variants and the variant filters take the events of a case in row order: the frame is sorted by case
      and time (stably, so that file order breaks ties) before them.
    - The variant filters crash on pyarrow-backed string columns: read_csv keeps its default object strings.
    - filter_variants_by_coverage_percentage is quadratic in the number of variants: not used (the variants table
      is compared instead).
    - format_dataframe parses numeric-looking codes such as "1000" as dates when it guesses timestamp columns:
      it is given the timestamp column and the timestamp format explicitly.

How to run
    .venv/bin/python bench/mining_bench.py                          # 1M events (what `make bench` runs)
    .venv/bin/python bench/mining_bench.py --events 1000000 5000000 # the README figures; pm4py needs ~10 GB at 5M
    .venv/bin/python bench/mining_bench.py --events 100000 --runs 3 --keep

Results go to stdout (a table per size, the ratios against the targets, and a Markdown fragment for the README)
and as JSON to bench/out/mining_bench.json. Run it on an otherwise idle machine: the contenders use every core.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from measure import busy_cpu_s, own_cpu_s, peak_rss_mb, quiet, ratio, status_mb, system_info

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUT = HERE / "out"
MARK = "BENCH_RESULT "
PROCESS = "p2p"
QUIET_CPU_S = 1.0
CONTENDERS = {
    "pm4py": "pandas read_csv + pm4py",
    "twinflow-file": "twinflow, from the CSV file",
    "twinflow-workspace": "twinflow, from the workspace",
}
# Targets of the issue: end to end at the largest size, memory, variants, and a filter change at 1M events.
SPEED_TARGET = 5.0
MEMORY_TARGET = 1 / 3
FILTER_TARGET_S = 1.0

# The KPI set, the same for both sides. The generated log has no system users, so every event with a resource is
# a manual touch; exceptions are the correction loop and the rejection; the SLA is 30 days per site, 20 in
# Amsterdam; the cost model gives minutes per activity and an hourly rate per role.
EXCEPTIONS = ["Request Correction", "Reject Invoice"]
SITES_SLA_HOURS = {"Amsterdam": 20 * 24.0, "Rotterdam": 30 * 24.0, "Utrecht": 30 * 24.0,
                   "Eindhoven": 30 * 24.0, "Groningen": 30 * 24.0}
MINUTES = {"Receive Invoice": 2.0, "Scan Invoice": 3.0, "Register Invoice": 6.0, "Three-Way Match": 8.0,
           "Request Correction": 15.0, "Approve Invoice": 5.0, "Second Approval": 5.0, "Reject Invoice": 4.0,
           "Schedule Payment": 3.0}
RATES = {"Mailroom": 35.0, "AP Clerk": 45.0, "Budget Holder": 80.0, "Finance Manager": 95.0, "Treasury": 60.0}
DEFAULT_MINUTES, DEFAULT_RATE = 10.0, 50.0
VARIANTS_PHASE = "variants (+ case index)"
KPI_NAMES = ["cycle time (median)", "cycle time (mean)", "cycle time (p90)", "touchless rate", "exception rate",
             "rework rate", "first-time-right rate", "manual touches per case", "SLA adherence", "cost per case"]


# ----------------------------------------------------------------------------------------------------------------
# Child side.


class Phases:
    """Times named phases and remembers how much CPU other processes used meanwhile."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._busy, self._own = busy_cpu_s(), own_cpu_s()

    @contextlib.contextmanager
    def __call__(self, name: str):
        started = time.perf_counter()
        yield
        self.seconds[name] = round(time.perf_counter() - started, 3)

    def other_cpu_s(self) -> float:
        return round(max(0.0, busy_cpu_s() - self._busy - (own_cpu_s() - self._own)), 2)


def kpi_config():
    from mining.kpis import KpiConfig

    return KpiConfig(exception_activities=EXCEPTIONS, sla_attribute="site", sla_targets_hours=SITES_SLA_HOURS,
                     standard_minutes=MINUTES, rate_per_role_hour=RATES, default_minutes=DEFAULT_MINUTES,
                     default_rate=DEFAULT_RATE)


def run_pm4py(path: Path) -> dict:
    with quiet():
        import numpy as np
        import pandas as pd

        sys._pm4py_welcome_shown = True
        import pm4py
    case, ts = "case:concept:name", "time:timestamp"
    baseline = status_mb("VmRSS")
    phases = Phases()
    with quiet():
        with phases("read_csv"):
            df = pd.read_csv(path)
        with phases("format_dataframe"):
            # An explicit format: pm4py otherwise guesses, and on other logs takes numeric codes for dates.
            df = pm4py.format_dataframe(df, case_id="case_id", activity_key="activity", timestamp_key="timestamp",
                                        timest_format="ISO8601")
        with phases("sort by case and time"):
            # get_variants reads the events of a case in row order; mergesort is stable, so file order breaks ties.
            df = df.sort_values([case, ts], kind="mergesort", ignore_index=True)
        with phases("discover_dfg"):
            dfg, starts, ends = pm4py.discover_dfg(df)
        with phases("discover_performance_dfg"):
            perf, _, _ = pm4py.discover_performance_dfg(df)
        with phases("get_variants"):
            variants = pm4py.get_variants(df)
        with phases("get_all_case_durations"):
            durations = pm4py.get_all_case_durations(df)
        with phases("KPIs"):
            kpis = _pm4py_kpis(pm4py, pd, np, df, durations)
    other = phases.other_cpu_s()
    top = max(variants.items(), key=lambda kv: kv[1])
    digest = {
        "events": len(df), "cases": len(durations), "edges": len(dfg), "edge_events": int(sum(dfg.values())),
        "start_cases": int(sum(starts.values())), "end_cases": int(sum(ends.values())),
        "variants": len(variants), "top_variant_cases": int(top[1]),
        "duration_sum_s": float(sum(durations)),
        "wait_mean_first_edge_s": float(perf[max(dfg, key=dfg.get)]["mean"]),
        "kpis": kpis,
    }
    return _finish("pm4py", phases, baseline, other, digest)


def _pm4py_kpis(pm4py, pd, np, df, durations: list[float]) -> dict:
    """The KPI set of twinflow's kpi_summary, computed as a pm4py user would, from pm4py calls and pandas."""
    case, act, ts = "case:concept:name", "concept:name", "time:timestamp"
    hours = np.asarray(durations, dtype=float) / 3600
    n = len(hours)
    # Rework: an activity occurring more than once in a case. On this log the repeats are never back to back, so
    # it equals twinflow's definition (repeated with something else in between).
    rework_per_activity = pm4py.get_rework_cases_per_activity(df)
    per_pair = df.groupby([case, act], sort=False).size()
    rework_cases = set(per_pair[per_pair > 1].index.get_level_values(0))
    exception_cases = set(pm4py.filter_event_attribute_values(df, act, EXCEPTIONS, level="case")[case].unique())
    manual = df["resource"].notna()
    touches = manual.groupby(df[case], sort=False).sum()
    minutes = df[act].map(MINUTES).fillna(DEFAULT_MINUTES)
    rate = df["role"].map(RATES).fillna(DEFAULT_RATE)
    cost = (minutes * rate / 60).where(manual, 0.0).groupby(df[case], sort=False).sum()
    span = df.groupby(case, sort=False)[ts].agg(["min", "max"])
    cycle_h = (span["max"] - span["min"]).dt.total_seconds() / 3600
    target = df.groupby(case, sort=False)["site"].first().map(SITES_SLA_HOURS)
    sla = (cycle_h <= target)[target.notna()]
    cases = touches.index
    rework = cases.isin(list(rework_cases))
    exception = cases.isin(list(exception_cases))
    return {
        "cycle time (median)": float(np.median(hours)),
        "cycle time (mean)": float(hours.mean()),
        "cycle time (p90)": float(np.quantile(hours, 0.9)),
        "touchless rate": float((touches == 0).mean()),
        "exception rate": float(exception.mean()),
        "rework rate": float(rework.mean()),
        "first-time-right rate": float((~(rework | exception)).mean()),
        "manual touches per case": float(touches.mean()),
        "SLA adherence": float(sla.mean()),
        "cost per case": float(cost.mean()),
        "_cases": n,
        "_rework_cases_per_activity": {k: int(v) for k, v in sorted(rework_per_activity.items())},
    }


def run_twinflow(path: Path | None, workspace: Path) -> dict:
    import duckdb

    from ingest import ImportOptions, connect, import_file
    from mining import Filters, case_durations, dfg, variants
    from mining.kpis import kpi_summary

    config = kpi_config()
    filters = Filters(process=PROCESS)
    baseline = status_mb("VmRSS")
    phases = Phases()
    if path is not None:
        with phases("import_file"):
            import_file(path, ImportOptions(process=PROCESS), workspace=workspace)
    with phases("open workspace"):
        con = connect(workspace, read_only=True)
    # The first view of a process builds its case index (mining.cases.case_index): variants comes first so
    # that its time, set against pm4py.get_variants, includes that sort of all events.
    with phases(VARIANTS_PHASE):
        var = variants(con, filters)
    with phases("dfg (with waiting times)"):
        graph = dfg(con, filters)
    with phases("case_durations"):
        durations = case_durations(con, filters)
    with phases("kpi_summary"):
        kpis = kpi_summary(con, filters, config)
    other = phases.other_cpu_s()
    events = con.execute("SELECT count(*) FROM events WHERE process = ?", [PROCESS]).fetchall()[0][0]
    con.close()
    edges = graph.edges
    top_edge = edges.iloc[0]
    digest = {
        "events": int(events), "cases": len(durations), "edges": len(edges),
        "edge_events": int(edges.frequency.sum()),
        "start_cases": int(graph.start_activities.cases.sum()), "end_cases": int(graph.end_activities.cases.sum()),
        "variants": len(var), "top_variant_cases": int(var.cases.iloc[0]),
        "duration_sum_s": float(durations.duration_s.sum()),
        "wait_mean_first_edge_s": float(top_edge.wait_mean_s),
        "kpis": {**{k: (None if v is None else float(v)) for k, v in zip(kpis.kpi, kpis.value, strict=True)},
                 "_cases": int(kpis.cases.iloc[0])},
        "duckdb": duckdb.__version__,
    }
    name = "twinflow-file" if path is not None else "twinflow-workspace"
    return _finish(name, phases, baseline, other, digest)


def _finish(name: str, phases: Phases, baseline: float, other: float, digest: dict) -> dict:
    return {
        "contender": name, "phases": phases.seconds, "seconds": round(sum(phases.seconds.values()), 3),
        "baseline_rss_mb": round(baseline, 1), "peak_rss_mb": round(status_mb("VmHWM"), 1),
        "ru_maxrss_mb": round(peak_rss_mb(), 1), "other_cpu_s": other, "digest": digest,
    }


def filter_changes(con) -> list[tuple[str, dict]]:
    """Typical filter changes on this log, as Filters keyword arguments (the variant is the second largest)."""
    from mining import Filters, variants

    second = variants(con, Filters(process=PROCESS), top=2).variant_id.iloc[-1]
    return [
        ("no filter", {}),
        ("site = Rotterdam", {"attributes": {"site": "Rotterdam"}}),
        ("time window (one quarter, active)", {"time_from": "2023-04-01T00:00:00+00:00",
                                               "time_to": "2023-07-01T00:00:00+00:00"}),
        ("activity present: Request Correction", {"activities_present": ["Request Correction"]}),
        ("duration 30-60 days", {"duration_min_s": 30 * 86400.0, "duration_max_s": 60 * 86400.0}),
        ("variant: the second most frequent", {"variants": [second]}),
        ("site + activity absent", {"attributes": {"site": "Utrecht"}, "activities_absent": ["Second Approval"]}),
    ]


def run_filters(workspace: Path, runs: int) -> dict:
    from ingest import connect
    from mining import Filters, dfg, variants
    from mining.kpis import kpi_summary

    config = kpi_config()
    con = connect(workspace, read_only=True)
    # The first view in this process builds the case index that every later filter change reuses: timed apart.
    started = time.perf_counter()
    changes = filter_changes(con)
    index_s = time.perf_counter() - started
    phases = Phases()
    results = []
    for label, kwargs in changes:
        filters = Filters(process=PROCESS, **kwargs)
        times, parts = [], []
        for _ in range(runs):
            t0 = time.perf_counter()
            graph = dfg(con, filters)
            t1 = time.perf_counter()
            var = variants(con, filters)
            t2 = time.perf_counter()
            kpis = kpi_summary(con, filters, config)
            t3 = time.perf_counter()
            times.append(t3 - t0)
            parts.append((t1 - t0, t2 - t1, t3 - t2))
        best = parts[times.index(statistics.median(times))] if runs % 2 else parts[-1]
        results.append({"filter": label, "seconds_median": round(statistics.median(times), 3),
                        "seconds_max": round(max(times), 3), "dfg_s": round(best[0], 3),
                        "variants_s": round(best[1], 3), "kpi_summary_s": round(best[2], 3),
                        "cases": int(kpis.cases.iloc[0]), "variants": len(var), "edges": len(graph.edges)})
    con.close()
    return {"contender": "filters", "filters": results, "first_view_s": round(index_s, 3),
            "other_cpu_s": phases.other_cpu_s(),
            "peak_rss_mb": round(status_mb("VmHWM"), 1)}


# ----------------------------------------------------------------------------------------------------------------
# Parent side.


def run_child(args: list[str]) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", *args]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
    lines = [line for line in proc.stdout.splitlines() if line.startswith(MARK)]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"{args[0]} failed (exit {proc.returncode}):\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}")
    return json.loads(lines[-1][len(MARK):])


def generate_csv(events: int, seed: int) -> Path:
    cmd = [sys.executable, str(HERE / "generate.py"), "--events", str(events), "--seed", str(seed),
           "--out", str(OUT), "--kinds", "csv", "--json"]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"generating the log failed:\n{proc.stderr[-4000:]}")
    return Path(json.loads(proc.stdout.strip().splitlines()[-1])["csv"])


def summarise(runs: list[dict]) -> dict:
    times = [r["seconds"] for r in runs]
    phases = {p: round(statistics.median(r["phases"][p] for r in runs), 3) for p in runs[0]["phases"]}
    return {"runs": len(runs), "seconds_median": round(statistics.median(times), 3),
            "seconds_best": round(min(times), 3), "phases_median": phases,
            "peak_rss_mb": max(r["peak_rss_mb"] for r in runs),
            "baseline_rss_mb": runs[0]["baseline_rss_mb"],
            "other_cpu_s_max": max(r["other_cpu_s"] for r in runs),
            "quiet_runs": sum(r["other_cpu_s"] < QUIET_CPU_S for r in runs), "digest": runs[-1]["digest"]}


def agreement(summary: dict[str, dict]) -> list[str]:
    """Compare what the contenders found; KPI values to a relative 1e-6."""
    ref = summary["pm4py"]["digest"]
    problems = []
    for name in ("twinflow-file", "twinflow-workspace"):
        got = summary[name]["digest"]
        for key in ("events", "cases", "edges", "edge_events", "start_cases", "end_cases", "variants",
                    "top_variant_cases"):
            if got[key] != ref[key]:
                problems.append(f"{name} {key}: {got[key]} vs pm4py {ref[key]}")
        for key in ("duration_sum_s", "wait_mean_first_edge_s"):
            if abs(got[key] - ref[key]) > 1e-6 * max(1.0, abs(ref[key])):
                problems.append(f"{name} {key}: {got[key]} vs pm4py {ref[key]}")
        for kpi in KPI_NAMES:
            a, b = got["kpis"].get(kpi), ref["kpis"].get(kpi)
            if a is None or b is None or abs(a - b) > 1e-6 * max(1.0, abs(b)):
                problems.append(f"{name} KPI {kpi}: {a} vs pm4py {b}")
    return problems


def bench_size(events: int, args: argparse.Namespace) -> dict:
    print(f"\n=== {events:,} events", flush=True)
    csv = generate_csv(events, args.seed)
    print(f"file: {csv.name} ({csv.stat().st_size / 2**20:.1f} MB)", flush=True)
    scratch = Path(tempfile.mkdtemp(prefix="mining-", dir=OUT))
    kept = scratch / "workspace.duckdb"
    runs: dict[str, list[dict]] = {c: [] for c in CONTENDERS}
    filters = None
    try:
        for i in range(args.runs):
            # Interleaved, so that drift (page cache, other load) hits every contender alike.
            for name in CONTENDERS:
                if name == "pm4py":
                    result = run_child(["pm4py", str(csv)])
                elif name == "twinflow-file":
                    ws = scratch / f"run-{i}.duckdb"
                    result = run_child(["twinflow-file", str(csv), "--workspace", str(ws)])
                    if kept.exists():
                        ws.unlink()
                    else:
                        ws.replace(kept)
                else:
                    result = run_child(["twinflow-workspace", "-", "--workspace", str(kept)])
                runs[name].append(result)
                phases = ", ".join(f"{p} {s:.2f}" for p, s in result["phases"].items())
                print(f"  run {i + 1}/{args.runs} {name:<19} {result['seconds']:7.2f} s  peak "
                      f"{result['peak_rss_mb']:6.0f} MB  other CPU {result['other_cpu_s']:.1f} s  ({phases})",
                      flush=True)
        if events <= args.filter_max_events:
            filters = run_child(["filters", "-", "--workspace", str(kept), "--runs", str(max(3, args.runs))])
            print(f"  first view in a fresh process (builds the case index): {filters['first_view_s']:.3f} s",
                  flush=True)
            for f in filters["filters"]:
                print(f"  filter {f['filter']:<38} {f['seconds_median']:6.3f} s (dfg {f['dfg_s']:.3f}, variants "
                      f"{f['variants_s']:.3f}, kpi_summary {f['kpi_summary_s']:.3f}; {f['cases']:,} cases)",
                      flush=True)
        workspace_mb = round(kept.stat().st_size / 2**20, 1)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        if not args.keep:
            csv.unlink(missing_ok=True)
    summary = {c: summarise(runs[c]) for c in CONTENDERS}
    pm, tf, tw = summary["pm4py"], summary["twinflow-file"], summary["twinflow-workspace"]
    ratios = {
        "speed_file": ratio(pm["seconds_median"], tf["seconds_median"]),
        "speed_workspace": ratio(pm["seconds_median"], tw["seconds_median"]),
        "memory_file": ratio(tf["peak_rss_mb"], pm["peak_rss_mb"]),
        "memory_workspace": ratio(tw["peak_rss_mb"], pm["peak_rss_mb"]),
        "variants": ratio(pm["phases_median"]["get_variants"], tw["phases_median"][VARIANTS_PHASE]),
    }
    result = {"events": events, "file_mb": round(csv.stat().st_size / 2**20, 1) if csv.exists() else None,
              "workspace_mb": workspace_mb, "summary": summary, "ratios": ratios, "runs": runs,
              "agreement_problems": agreement(summary)}
    if filters is not None:
        result["filters"] = filters
        result["filter_max_s"] = max(f["seconds_median"] for f in filters["filters"])
    return result


def print_size(r: dict) -> None:
    s, q = r["summary"], r["ratios"]
    print(f"\n{r['events']:,} events")
    head = f"{'contender':<20} {'median s':>9} {'best s':>8} {'peak MB':>8} {'quiet':>6}  phases (median s)"
    print(head)
    print("-" * len(head))
    for name in CONTENDERS:
        x = s[name]
        phases = ", ".join(f"{p} {v:.2f}" for p, v in x["phases_median"].items())
        print(f"{name:<20} {x['seconds_median']:>9.2f} {x['seconds_best']:>8.2f} {x['peak_rss_mb']:>8.0f} "
              f"{x['quiet_runs']:>3}/{x['runs']:<2}  {phases}")
    print(f"speed vs pm4py: from file {q['speed_file']:.2f}x, from workspace {q['speed_workspace']:.2f}x; "
          f"peak memory / pm4py's: from file {q['memory_file']:.2f}, from workspace {q['memory_workspace']:.2f}; "
          f"variants: pm4py.get_variants time / twinflow's = {q['variants']:.2f}x")
    if "filters" in r:
        print(f"filter change (dfg + variants + kpi_summary, results uncached): max {r['filter_max_s']:.3f} s; "
              f"first view in a fresh process (builds the case index): {r['filters']['first_view_s']:.3f} s")
    problems = r["agreement_problems"]
    print("results agree with pm4py's (events, cases, edges, variants, durations, KPIs)" if not problems
          else "DISAGREEMENT:\n  " + "\n  ".join(problems))


def targets(results: list[dict]) -> list[dict]:
    largest = max(results, key=lambda r: r["events"])
    q = largest["ratios"]
    out = [
        {"target": f"end to end >= {SPEED_TARGET:.0f}x pm4py at {largest['events']:,} events (from file)",
         "value": q["speed_file"], "met": q["speed_file"] >= SPEED_TARGET},
        {"target": f"end to end >= {SPEED_TARGET:.0f}x pm4py at {largest['events']:,} events (from workspace)",
         "value": q["speed_workspace"], "met": q["speed_workspace"] >= SPEED_TARGET},
        {"target": f"peak memory <= 1/3 of pm4py's at {largest['events']:,} events (from file)",
         "value": q["memory_file"], "met": q["memory_file"] <= MEMORY_TARGET},
    ]
    for r in results:
        out.append({"target": f"variants no slower than pm4py.get_variants at {r['events']:,} events",
                    "value": r["ratios"]["variants"], "met": r["ratios"]["variants"] >= 1})
        if "filters" in r:
            out.append({"target": f"every filter change < {FILTER_TARGET_S:.0f} s at {r['events']:,} events",
                        "value": r["filter_max_s"], "met": r["filter_max_s"] < FILTER_TARGET_S})
    return out


def markdown(results: list[dict], system: dict) -> str:
    lines = [
        "| Mining | events | seconds | peak RSS (MB) | vs pm4py |",
        "|---|---:|---:|---:|---|",
    ]
    for r in results:
        s, q = r["summary"], r["ratios"]
        for name in CONTENDERS:
            x = s[name]
            versus = "reference"
            if name != "pm4py":
                key = "file" if name == "twinflow-file" else "workspace"
                versus = f"**{q['speed_' + key]:.1f}x as fast**, {q['memory_' + key]:.2f}x the peak memory"
            lines.append(f"| {CONTENDERS[name]} | {r['events']:,} | {x['seconds_median']:.2f} "
                         f"| {x['peak_rss_mb']:,.0f} | {versus} |")
    for r in results:
        s = r["summary"]
        lines.append(f"| variants alone: twinflow / pm4py.get_variants | {r['events']:,} "
                     f"| {s['twinflow-workspace']['phases_median'][VARIANTS_PHASE]:.2f} / "
                     f"{s['pm4py']['phases_median']['get_variants']:.2f} | | "
                     f"{r['ratios']['variants']:.1f}x as fast |")
    for r in results:
        if "filters" in r:
            lines.append(f"| filter change, slowest of {len(r['filters']['filters'])} (dfg + variants + KPIs) "
                         f"| {r['events']:,} | {r['filter_max_s']:.2f} | | target < 1 s |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Mining benchmark: twinflow vs pm4py, end to end.")
    parser.add_argument("--events", type=int, nargs="+", default=[1_000_000], help="sizes of the generated logs")
    parser.add_argument("--runs", type=int, default=1, help="runs per contender and size (median reported)")
    parser.add_argument("--out", type=Path, default=OUT, help="where the JSON results go")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--keep", action="store_true", help="keep the generated CSV files in bench/out/")
    parser.add_argument("--filter-max-events", type=int, default=1_000_000,
                        help="time filter changes at sizes up to this many events")
    parser.add_argument("--child", nargs=2, metavar=("WHAT", "FILE"), help=argparse.SUPPRESS)
    parser.add_argument("--workspace", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        what, file = args.child
        if what == "pm4py":
            result = run_pm4py(Path(file))
        elif what == "filters":
            result = run_filters(args.workspace, args.runs)
        else:
            result = run_twinflow(Path(file) if what == "twinflow-file" else None, args.workspace)
        print(MARK + json.dumps(result), flush=True)
        return 0

    OUT.mkdir(parents=True, exist_ok=True)
    system = system_info("duckdb", "pandas", "pm4py")
    results = [bench_size(n, args) for n in sorted(args.events)]
    system["loadavg_after"] = os.getloadavg()
    for r in results:
        print_size(r)
    met = targets(results)
    print()
    for t in met:
        print(f"{'met    ' if t['met'] else 'NOT met'}  {t['target']}: {t['value']}")
    other = max(r["summary"][c]["other_cpu_s_max"] for r in results for c in CONTENDERS)
    print(f"\nCPU time used by other processes during a run: up to {other:.1f} s "
          f"({'quiet' if other < QUIET_CPU_S else 'the machine was NOT idle: rerun for clean numbers'}); "
          f"load average before/after {system['loadavg_before'][0]:.2f} / {system['loadavg_after'][0]:.2f} "
          f"on {system['cpus']} cores")
    fragment = markdown(results, system)
    print("\nMarkdown for the README:\n")
    print(fragment)
    report = {"system": system, "seed": args.seed, "runs": args.runs, "results": results, "targets": met,
              "markdown": fragment}
    args.out.mkdir(parents=True, exist_ok=True)
    names = ["mining_bench.json", "mining_bench-" + "-".join(str(r["events"]) for r in results) + ".json"]
    for name in names:
        (args.out / name).write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nresults: {args.out / names[0]}")
    return 0 if not any(r["agreement_problems"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
