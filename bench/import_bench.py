"""Import benchmark: twinflow's loader against pm4py's own readers, on the same generated files, in one run.

What it measures
    A seeded purchase-to-pay log of N events (default 1,000,000; see bench/generate.py) is written once as
    CSV and as XES 1.0 into bench/out/ (generation is not measured). Then each contender imports it in a
    fresh subprocess of its own, so that its peak memory is its own:

    twinflow-csv      ingest.import_file(csv, ImportOptions(process="p2p"), workspace=<fresh .duckdb file>)
    pandas-pm4py-csv  pandas.read_csv(csv) then pm4py.format_dataframe(df, case_id=..., activity_key=...,
                      timestamp_key=...)
    twinflow-xes      ingest.import_file(xes, ...) into a fresh workspace
    pm4py-xes         pm4py.read_xes(xes, show_progress_bar=False): the default variant, which is "iterparse"
                      (lxml) when neither r4pm nor rustxes is installed

    The child imports its modules first, then times only the import call (time.perf_counter), and reads
    its peak RSS (getrusage ru_maxrss) before and after it: "peak" is the absolute peak of the process,
    "delta" the growth over the baseline after the module imports. (On Linux a child's ru_maxrss starts
    at the peak of the process that spawned it, so the parent stays small: it generates the files in a
    subprocess and imports neither pandas nor pm4py; /proc/self/status VmHWM is recorded as a
    cross-check.) twinflow's time includes creating the workspace and the commit and checkpoint to
    disk. Afterwards the child checks the event count: the workspace must hold N events, pm4py's frame
    N rows. Each run also records how much CPU time other processes used while it ran (from /proc/stat);
    the "quiet" column counts the runs where that stayed under a second.

    Ratios: twinflow CSV speed / pandas+pm4py CSV speed (aim: >= 2), pm4py XES time / twinflow XES time
    (aim: >= 1), and twinflow memory / reference memory (aim for XES: < 1), on the median times.

How to run
    make bench                                   # = .venv/bin/python bench/import_bench.py
    .venv/bin/python bench/import_bench.py --events 100000 --repeat 3
    .venv/bin/python bench/import_bench.py --only xes --keep
    .venv/bin/python bench/import_bench.py --profile   # phase and per-statement timings of twinflow only

Results go to stdout (a table, the ratios and a Markdown fragment for the README) and as JSON to
bench/out/import_bench.json (and import_bench-<N>.json). Run it on an otherwise idle machine: the contenders
use every core (DuckDB runs one thread per core).
"""

from __future__ import annotations

import argparse
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
# A run during which other processes used less CPU time than this counts as undisturbed.
QUIET_CPU_S = 1.0

# contender -> (file kind, label in the tables)
CONTENDERS = {
    "twinflow-csv": ("csv", "twinflow import_file, CSV"),
    "pandas-pm4py-csv": ("csv", "pandas read_csv + pm4py.format_dataframe"),
    "twinflow-xes": ("xes", "twinflow import_file, XES"),
    "pm4py-xes": ("xes", "pm4py.read_xes (iterparse)"),
}
PAIRS = {"csv": ("twinflow-csv", "pandas-pm4py-csv"), "xes": ("twinflow-xes", "pm4py-xes")}


# ----------------------------------------------------------------------------------------------------------
# Child side: one contender, one import, one JSON line.


def _cpu_seconds() -> tuple[float, float]:
    """(CPU seconds all processes have used since boot, CPU seconds this process has used)."""
    return busy_cpu_s(), own_cpu_s()


def run_child(contender: str, path: Path, workspace: Path | None, phases: bool) -> dict:
    """Import `path` with `contender` and return timing, memory and the count check."""
    kind, _ = CONTENDERS[contender]
    info: dict = {"contender": contender, "file": path.name}
    if contender.startswith("twinflow"):
        import duckdb

        import ingest
        from ingest import ImportOptions, import_file

        if workspace is None:
            raise SystemExit("--workspace is required for twinflow contenders")
        options = ImportOptions(process=PROCESS)
        marks: list[tuple[float, str]] = []

        def progress(fraction: float, message: str) -> None:
            marks.append((time.perf_counter(), message.replace(f" {path.name}", "")))

        info["versions"] = {"twinflow": ingest.__version__, "duckdb": duckdb.__version__}
        baseline_peak, baseline_rss = peak_rss_mb(), status_mb("VmRSS")
        cpu_before = _cpu_seconds()
        started = time.perf_counter()
        result = import_file(path, options, workspace=workspace, progress=progress if phases else None)
        seconds = time.perf_counter() - started
        cpu_after = _cpu_seconds()
        peak = peak_rss_mb()
        con = duckdb.connect(str(workspace), read_only=True)
        events = con.execute("SELECT count(*) FROM events WHERE process = ?", [PROCESS]).fetchall()[0][0]
        cases = con.execute("SELECT count(*) FROM cases WHERE process = ?", [PROCESS]).fetchall()[0][0]
        rejects = con.execute("SELECT count(*) FROM rejects").fetchall()[0][0]
        con.close()
        info.update(rows=events, cases=cases, rejects=rejects, rows_read=result.rows_read,
                    workspace_mb=round(workspace.stat().st_size / 2**20, 1))
        if phases:
            info["phases"] = _phase_table(started, marks, started + seconds)
    else:
        with quiet():
            import pandas as pd
            import pm4py
        info["versions"] = {"pm4py": pm4py.__version__, "pandas": pd.__version__}
        baseline_peak, baseline_rss = peak_rss_mb(), status_mb("VmRSS")
        with quiet():
            cpu_before = _cpu_seconds()
            started = time.perf_counter()
            if contender == "pm4py-xes":
                frame = pm4py.read_xes(str(path), show_progress_bar=False)
            else:
                frame = pd.read_csv(path)
                frame = pm4py.format_dataframe(frame, case_id="case_id", activity_key="activity",
                                               timestamp_key="timestamp")
            seconds = time.perf_counter() - started
            cpu_after = _cpu_seconds()
        peak = peak_rss_mb()
        info.update(rows=len(frame), cases=int(frame["case:concept:name"].nunique()),
                    timestamp_dtype=str(frame["time:timestamp"].dtype))
        if kind == "xes":
            from pm4py.util import constants

            info["xes_variant"] = _pm4py_xes_variant(constants)
    info.update(seconds=seconds, baseline_rss_mb=round(baseline_rss, 1),
                baseline_peak_mb=round(baseline_peak, 1), peak_rss_mb=round(peak, 1),
                delta_rss_mb=round(peak - baseline_peak, 1),
                vm_hwm_mb=round(status_mb("VmHWM"), 1), cpu_s=round(cpu_after[1] - cpu_before[1], 2),
                # CPU time other processes used meanwhile: a sign that the run was disturbed.
                other_cpu_s=round(max(0.0, cpu_after[0] - cpu_before[0] - (cpu_after[1] - cpu_before[1])), 2))
    return info


def _pm4py_xes_variant(constants) -> str:
    """Name the importer pm4py.read_xes picks with variant=None (mirrors pm4py/read.py)."""
    from pm4py.util.rustxes_utils import get_rustxes_backend_name

    return get_rustxes_backend_name() or constants.DEFAULT_XES_PARSER


def _phase_table(started: float, marks: list[tuple[float, str]], finished: float) -> list[dict]:
    """Turn the loader's progress marks into phases: each lasts from its mark to the next one.

    Before the first mark the workspace is opened (and migrated); after the last one (the summary, at 1.0)
    import_file drops its staging tables and closes the connection, which checkpoints the file.
    """
    names = ["open workspace"] + [m for _, m in marks[:-1]] + ["drop staging tables, close and checkpoint"]
    times = [started] + [t for t, _ in marks] + [finished]
    return [{"phase": name, "seconds": round(t1 - t0, 3)}
            for name, t0, t1 in zip(names, times[:-1], times[1:], strict=True)]


# ----------------------------------------------------------------------------------------------------------
# Parent side: generate, run every contender in its own process, summarise.


def run_contender(contender: str, path: Path, phases: bool = False) -> dict:
    """Run one contender in a fresh interpreter and return its parsed JSON result."""
    scratch = Path(tempfile.mkdtemp(prefix="ws-", dir=OUT))
    cmd = [sys.executable, str(Path(__file__).resolve()), "--run", contender, str(path)]
    if contender.startswith("twinflow"):
        cmd += ["--workspace", str(scratch / "workspace.duckdb")]
    if phases:
        cmd.append("--phases")
    try:
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    lines = [line for line in proc.stdout.splitlines() if line.startswith(MARK)]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"{contender} failed (exit {proc.returncode}):\n{proc.stdout[-2000:]}\n"
                           f"{proc.stderr[-4000:]}")
    return json.loads(lines[-1][len(MARK):])


def summarise(contender: str, runs: list[dict], events: int) -> dict:
    times = [r["seconds"] for r in runs]
    median = statistics.median(times)
    return {
        "contender": contender,
        "label": CONTENDERS[contender][1],
        "events": events,
        "runs": len(runs),
        "seconds_median": round(median, 3),
        "seconds_best": round(min(times), 3),
        "events_per_s": round(events / median),
        "peak_rss_mb": max(r["peak_rss_mb"] for r in runs),
        "delta_rss_mb": max(r["delta_rss_mb"] for r in runs),
        "baseline_rss_mb": runs[0]["baseline_rss_mb"],
        "rows": runs[-1]["rows"],
        "rows_ok": all(r["rows"] == events for r in runs),
        "vm_hwm_mb": max(r["vm_hwm_mb"] for r in runs),
        "cpu_s_median": round(statistics.median(r["cpu_s"] for r in runs), 2),
        "other_cpu_s_max": max(r["other_cpu_s"] for r in runs),
        "quiet_runs": sum(r["other_cpu_s"] < QUIET_CPU_S for r in runs),
    }


def ratios(summary: dict[str, dict]) -> dict:
    """Per format: reference time / twinflow time (speed-up) and twinflow memory / reference memory."""
    out = {}
    for kind, (tw_name, ref_name) in PAIRS.items():
        if tw_name not in summary or ref_name not in summary:
            continue
        tw, ref = summary[tw_name], summary[ref_name]
        r = {
            "speed_ratio": ratio(ref["seconds_median"], tw["seconds_median"]),
            "speed_ratio_best": ratio(ref["seconds_best"], tw["seconds_best"]),
            "peak_memory_ratio": ratio(tw["peak_rss_mb"], ref["peak_rss_mb"]),
            "delta_memory_ratio": ratio(tw["delta_rss_mb"], ref["delta_rss_mb"]),
        }
        r["meets_aim"] = (r["speed_ratio"] >= 2 if kind == "csv"
                          else r["speed_ratio"] >= 1 and r["delta_memory_ratio"] < 1)
        out[kind] = r
    return out


def print_table(summary: dict[str, dict], rat: dict, checks: list[str]) -> None:
    head = f"{'contender':<18} {'events':>10} {'median s':>9} {'best s':>8} {'events/s':>10} " \
           f"{'peak MB':>8} {'delta MB':>9} {'quiet':>6}  rows"
    print(head)
    print("-" * len(head))
    for s in summary.values():
        print(f"{s['contender']:<18} {s['events']:>10,} {s['seconds_median']:>9.2f} "
              f"{s['seconds_best']:>8.2f} {s['events_per_s']:>10,} {s['peak_rss_mb']:>8.0f} "
              f"{s['delta_rss_mb']:>9.0f} {s['quiet_runs']:>3}/{s['runs']:<2}  "
              f"{'ok' if s['rows_ok'] else 'WRONG: ' + str(s['rows'])}")
    print()
    for kind, r in rat.items():
        what = "twinflow CSV speed / pandas+pm4py" if kind == "csv" else "pm4py XES time / twinflow XES"
        aim = ">= 2x" if kind == "csv" else ">= 1x and less memory"
        print(f"{kind.upper()}: {what} = {r['speed_ratio']:.2f}x (best-of: {r['speed_ratio_best']:.2f}x); "
              f"twinflow memory / reference: peak {r['peak_memory_ratio']:.2f}, "
              f"delta {r['delta_memory_ratio']:.2f}"
              f"  [aim {aim}: {'met' if r['meets_aim'] else 'NOT met'}]")
    print()
    for line in checks:
        print(line)


def markdown(summary: dict[str, dict], rat: dict, events: int, system: dict) -> str:
    lines = [
        f"Import of a generated purchase-to-pay log of {events:,} events "
        f"({system['cpus']} cores, Python {system['python']}, DuckDB {system['duckdb']}, "
        f"pm4py {system['pm4py']}, pandas {system['pandas']}); `make bench` to re-run.",
        "",
        "| Import | seconds | events/s | peak RSS (MB) | RSS growth (MB) | vs pm4py |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for kind, (tw, ref) in PAIRS.items():
        if tw not in summary:
            continue
        r = rat.get(kind, {})
        for name in (tw, ref):
            s = summary[name]
            versus = ""
            if name == tw and r:
                versus = (f"{r['speed_ratio']:.2f}x as fast, "
                          f"{r['delta_memory_ratio']:.2f}x the memory growth")
            lines.append(f"| {s['label']} | {s['seconds_median']:.2f} | {s['events_per_s']:,} "
                         f"| {s['peak_rss_mb']:.0f} | {s['delta_rss_mb']:.0f} | {versus} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Import benchmark: twinflow vs pm4py's readers.")
    parser.add_argument("--events", type=int, default=1_000_000, help="events in the generated log")
    parser.add_argument("--repeat", type=int, default=None,
                        help="runs per contender (default: 1 from 500,000 events, else 3)")
    parser.add_argument("--only", choices=["csv", "xes"], help="benchmark one format only")
    parser.add_argument("--keep", action="store_true", help="keep the generated files in bench/out/")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--profile", action="store_true",
                        help="time the phases and SQL statements of the twinflow import instead")
    parser.add_argument("--run", nargs=2, metavar=("CONTENDER", "FILE"), help=argparse.SUPPRESS)
    parser.add_argument("--workspace", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--phases", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.run:
        contender, file = args.run
        if contender not in CONTENDERS:
            parser.error(f"unknown contender {contender!r}")
        result = run_child(contender, Path(file), args.workspace, args.phases)
        print(MARK + json.dumps(result), flush=True)
        return 0

    kinds = (args.only,) if args.only else ("csv", "xes")
    repeat = args.repeat or (1 if args.events >= 500_000 else 3)
    OUT.mkdir(parents=True, exist_ok=True)
    print(f"generating {args.events:,} events (seed {args.seed}) into {OUT.relative_to(ROOT)}/ ...",
          flush=True)
    files = generate_files(args.events, args.seed, kinds)
    try:
        if args.profile:
            for kind in kinds:
                result = run_contender(f"twinflow-{kind}", files[kind], phases=True)
                print(f"\ntwinflow-{kind}: {result['seconds']:.2f} s, peak {result['peak_rss_mb']:.0f} MB")
                for phase in result["phases"]:
                    print(f"  {phase['phase']:<42} {phase['seconds']:7.2f} s")
            subprocess.run([sys.executable, str(HERE / "profile_import.py"), "--cprofile",
                            *(str(files[k]) for k in kinds)], cwd=ROOT, check=True)
            return 0
        return _bench(args, files, kinds, repeat)
    finally:
        if not args.keep:
            for path in files.values():
                path.unlink(missing_ok=True)


def generate_files(events: int, seed: int, kinds: tuple[str, ...]) -> dict[str, Path]:
    """Generate (or reuse) the log files in a subprocess, so that this process stays small."""
    cmd = [sys.executable, str(HERE / "generate.py"), "--events", str(events), "--seed", str(seed),
           "--out", str(OUT), "--kinds", ",".join(kinds), "--json"]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"generating the log failed:\n{proc.stderr[-4000:]}")
    lines = proc.stdout.strip().splitlines()
    for line in lines[:-1]:
        if line.startswith("generated"):
            print(line, flush=True)
    return {kind: Path(path) for kind, path in json.loads(lines[-1]).items()}


def _bench(args: argparse.Namespace, files: dict[str, Path], kinds: tuple[str, ...], repeat: int) -> int:
    system = system_info("duckdb", "pandas", "pm4py", "pyarrow", "lxml")
    sizes = {k: round(p.stat().st_size / 2**20, 1) for k, p in files.items()}
    print("files: " + ", ".join(f"{p.name} ({sizes[k]} MB)" for k, p in files.items()))
    contenders = [c for k in kinds for c in PAIRS[k]]
    runs: dict[str, list[dict]] = {c: [] for c in contenders}
    for i in range(repeat):
        # Interleave the contenders so that drift (page cache, other load) hits them alike.
        for contender in contenders:
            result = run_contender(contender, files[CONTENDERS[contender][0]])
            runs[contender].append(result)
            print(f"  run {i + 1}/{repeat} {contender:<18} {result['seconds']:7.2f} s  "
                  f"peak {result['peak_rss_mb']:6.0f} MB (+{result['delta_rss_mb']:.0f})  "
                  f"rows {result['rows']:,}  cpu {result['cpu_s']:.1f} s, "
                  f"other processes {result['other_cpu_s']:.1f} CPU-s",
                  flush=True)
    system["loadavg_after"] = os.getloadavg()
    summary = {c: summarise(c, runs[c], args.events) for c in contenders}
    rat = ratios(summary)
    checks = []
    for c in contenders:
        last = runs[c][-1]
        extra = (f", {last['cases']:,} cases, {last['rejects']} rejects" if c.startswith("twinflow")
                 else f", {last['cases']:,} cases, time:timestamp {last['timestamp_dtype']}")
        checks.append(f"check {c}: {'ok' if summary[c]['rows_ok'] else 'FAILED'} - {last['rows']:,} "
                      f"{'events in the workspace' if c.startswith('twinflow') else 'rows in the frame'} "
                      f"(expected {args.events:,}){extra}")
    hwm = ", ".join(f"{c} {summary[c]['peak_rss_mb']:.0f}/{summary[c]['vm_hwm_mb']:.0f}" for c in contenders)
    agree = all(abs(summary[c]["peak_rss_mb"] - summary[c]["vm_hwm_mb"]) <= 0.05 * summary[c]["vm_hwm_mb"]
                for c in contenders)
    checks.append(f"peak memory cross-check, ru_maxrss/VmHWM MB: {hwm} ({'agree' if agree else 'DISAGREE'})")
    if "pm4py-xes" in runs:
        checks.append(f"pm4py.read_xes variant: {runs['pm4py-xes'][0]['xes_variant']} (variant=None, "
                      "show_progress_bar=False; with the progress bar on it parses the file twice)")
    other = {c: summary[c]["other_cpu_s_max"] for c in contenders}
    checks.append("CPU time used by other processes during the timed import (max per contender): "
                  + ", ".join(f"{c} {v:.1f} s" for c, v in other.items())
                  + (" (quiet)" if max(other.values()) < QUIET_CPU_S
                     else " (the machine was NOT idle: rerun for clean numbers)"))
    load = system["loadavg_before"][0], system["loadavg_after"][0]
    checks.append(f"load average (1 min) before/after: {load[0]:.2f} / {load[1]:.2f}"
                  f" on {system['cpus']} cores")
    print()
    print_table(summary, rat, checks)
    fragment = markdown(summary, rat, args.events, system)
    print("\nMarkdown for the README:\n")
    print(fragment)
    report = {"events": args.events, "seed": args.seed, "repeat": repeat, "files_mb": sizes, "system": system,
              "summary": summary, "ratios": rat, "checks": checks, "runs": runs, "markdown": fragment}
    for name in ("import_bench.json", f"import_bench-{args.events}.json"):
        (OUT / name).write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nresults: {(OUT / 'import_bench.json').relative_to(ROOT)}")
    return 0 if all(s["rows_ok"] for s in summary.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
