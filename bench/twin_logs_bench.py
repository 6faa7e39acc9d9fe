"""Twin logs bench: the digital twin now against an earlier commit on the five end-time-only logs of data/real.

Why
    helpdesk, receipt_wabo, bpic2020_DomesticDeclarations, bpic2020_RequestForPayment and hospital_billing record
    the end of each step only, no start: the kind of log a system's history gives (Odoo's chatter, for one). The
    twin has to guess the work and the waits from the gaps between the ends. Published simulation-discovery work
    measures on start-and-end logs only; those three are in bench/simulation_bench.py. This bench shows whether a
    change helped or hurt the twin on the end-time-only logs, the current code and an earlier commit side by side
    in one run (on the same machine under the same load).

What it measures
    For each log and each version, in a fresh subprocess of its own (one after the other, now then base):

    import      ingest.import_file into a fresh workspace file in a temporary folder, with the demo options of
                the log (ingest.demo.LOG_OPTIONS of that version); import_s, time.perf_counter.
    validation  simulation.validation.validate of that version: 80/20 split by case start, the training window
                chosen by the version (window "auto" where it has one), the model discovered on the training cases,
                as many cases simulated as the test period has, `--replications` replications (mean and sd), the
                six measures of log-distance-measures (3-gram 0..1; AED, CED, RED, CTD and case arrival are EMDs
                in hours, CED over the hours of each weekday), next to validate's naive reference (the last
                training cases replayed in the test period).

    "now" is the working tree (the packages of this repository as they are on disk); "base" is the whole tree of
    the base commit (default 9d4b04f), exported with `git archive` into a temporary folder. The subprocess puts the
    version's folder first on sys.path and reports the file `simulation`, `ingest` and `mining` were imported from;
    the bench stops if it is not that folder's. Lower is better everywhere; now/base below 1 means now is closer to
    reality. The summary counts the measures where each version beats its naive reference and gives the geometric
    mean of now/base over all measures.

How to run
    .venv/bin/python bench/twin_logs_bench.py                          # all five logs, 3 replications, base 9d4b04f
    .venv/bin/python bench/twin_logs_bench.py --logs receipt_wabo --replications 1
    .venv/bin/python bench/twin_logs_bench.py --no-base                # the current code only

Results go to stdout (a table per log and a summary) and as JSON to bench/out/twin_logs_bench.json. The machine's
load average is recorded before and after each subprocess.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
FILES = {"helpdesk": "helpdesk.xes.gz", "receipt_wabo": "receipt_wabo.csv.gz",
         "bpic2020_DomesticDeclarations": "bpic2020_DomesticDeclarations.xes.gz",
         "bpic2020_RequestForPayment": "bpic2020_RequestForPayment.xes.gz",
         "hospital_billing": "hospital_billing.csv.gz"}
LOGS = tuple(FILES)
MEASURE_KEYS = ("ngram_3", "absolute_event", "circadian_event", "relative_event", "cycle_time", "case_arrival")
MEASURE_NAMES = {"ngram_3": "3-gram", "absolute_event": "AED", "circadian_event": "CED", "relative_event": "RED",
                 "cycle_time": "CTD", "case_arrival": "case arrival"}
PACKAGES = ("simulation", "ingest", "mining")


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def _git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, check=True, capture_output=True, text=True).stdout.strip()


def _finite(v: float | None) -> float | None:
    return v if v is not None and math.isfinite(v) else None


def worker(log: str, package: str, replications: int, seed: int) -> dict:
    """Return the import and validation of one log by the packages found in the folder `package` (in this process)."""
    from measure import import_shipped_log  # this bench's helper, before the version's folder goes first

    sys.path.insert(0, package)
    from ingest import connect
    from simulation.validation import validate

    name = FILES[log]
    with tempfile.TemporaryDirectory(prefix="twinlogs-") as tmp:
        con = connect(Path(tmp) / "bench.duckdb")
        try:
            import_s, n_cases, n_events = import_shipped_log(con, name, log)
            clock = time.perf_counter()
            result = validate(con, log, replications=replications, seed=seed)
            validate_s = time.perf_counter() - clock
        finally:
            con.close()
    files = {p: getattr(sys.modules.get(p), "__file__", None) for p in PACKAGES}
    # An earlier commit may not measure the twin against itself yet.
    measures = {row.measure: {"twin": _finite(float(row.twin_mean)), "twin_sd": _finite(float(row.twin_sd)),
                              "naive": _finite(float(row.naive)),
                              "between_twins": _finite(float(getattr(row, "between_twins", math.nan)))}
                for row in result.measures.itertuples()}
    return {"log": log, "package_file": files["simulation"], "package_files": files, "cases": int(n_cases),
            "events": int(n_events), "import_s": import_s, "validate_s": validate_s,
            "window_days": getattr(result, "window_days", None), "timings": result.timings, "measures": measures,
            "notes": result.notes, "split": {"n_train": result.split.n_train, "n_test": result.split.n_test,
                                             "cut": result.split.cut.isoformat(), "test_days": result.split.test_days}}


def run_worker(log: str, package: Path, replications: int, seed: int) -> dict:
    """Return the results of one log by the version in `package`, run in a fresh subprocess (load average added)."""
    before = _load()
    done = subprocess.run([sys.executable, __file__, "--worker", log, "--package", str(package), "--replications",
                           str(replications), "--seed", str(seed)], capture_output=True, text=True, check=False,
                          cwd=ROOT)
    after = _load()
    if done.returncode != 0:
        print(done.stderr, file=sys.stderr)
        raise SystemExit(f"the bench of {log} with the packages of {package.name} failed")
    res = json.loads(done.stdout.strip().splitlines()[-1])
    for pkg, file in res.pop("package_files").items():  # stored relative to the version's folder: no machine paths
        if file is None:
            continue
        path = Path(file).resolve()
        if not path.is_relative_to(package.resolve()):
            raise SystemExit(f"{log}: `{pkg}` was imported from {path}, not from {package}: the wrong version ran")
        res.setdefault("package_files", {})[pkg] = path.relative_to(package.resolve()).as_posix()
    if res["package_file"] is None:
        raise SystemExit(f"{log}: the subprocess did not report where `simulation` came from")
    res["package_file"] = res["package_files"]["simulation"]
    res["load_before"], res["load_after"] = before, after
    return res


def export(commit: str, folder: Path) -> Path:
    """Return a folder holding the whole tree of `commit` (git archive, extracted)."""
    target = folder / f"tree-{commit}"
    target.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(["git", "archive", commit], cwd=ROOT, check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)
    return target


def _fmt(v: float | None) -> str:
    if v is None:
        return "-"
    return f"{v:.3f}" if abs(v) < 10 else f"{v:,.0f}"


def _window(days: float | None) -> str:
    return "all" if days is None else f"{days:g} days"


def ratio(now: float | None, base: float | None) -> float | None:
    """Return now / base, or None when either is missing or base is 0."""
    if now is None or base is None or base == 0:
        return None
    return now / base


def table(now: dict, base: dict | None) -> list[str]:
    """Return the printed lines of one log: its size, the windows and the six measures now against base and naive."""
    lines = [f"{now['log']}: {now['cases']:,} cases, {now['events']:,} events; split {now['split']['n_train']:,} "
             f"training / {now['split']['n_test']:,} test cases; window now {_window(now['window_days'])}"
             + (f", base {_window(base['window_days'])}" if base else ""),
             f"  {'measure':<13}{'now':>10}{'now sd':>9}{'base':>10}{'now/base':>10}{'naive':>10}"
             f"{'twin vs twin':>14}  now beats naive"]
    for key in MEASURE_KEYS:
        m = now["measures"][key]
        b = base["measures"][key]["twin"] if base else None
        r = ratio(m["twin"], b)
        beats = m["twin"] is not None and m["naive"] is not None and m["twin"] < m["naive"]
        lines.append(f"  {MEASURE_NAMES[key]:<13}{_fmt(m['twin']):>10}{_fmt(m['twin_sd']):>9}{_fmt(b):>10}"
                     f"{'-' if r is None else f'{r:.2f}':>10}{_fmt(m['naive']):>10}"
                     f"{_fmt(m.get('between_twins')):>14}  {'yes' if beats else 'no'}")
    times = f"import {now['import_s']:.1f} s, validate {now['validate_s']:.1f} s"
    if base:
        times += f" (base: import {base['import_s']:.1f} s, validate {base['validate_s']:.1f} s)"
        naive_differs = [MEASURE_NAMES[k] for k in MEASURE_KEYS
                         if now["measures"][k]["naive"] != base["measures"][k]["naive"]]
        if naive_differs:
            lines.append(f"  note: the base's naive reference differs for {', '.join(naive_differs)}")
    lines.append(f"  {times}; load now {now['load_before']} -> {now['load_after']}"
                 + (f", base {base['load_before']} -> {base['load_after']}" if base else ""))
    return lines


def summary(results: list[dict]) -> dict:
    """Return the counts of measures where each version beats its naive reference and the geometric mean of
    now/base."""
    total = 0
    wins = {"now": 0, "base": 0}
    logs = []
    for res in results:
        for key in MEASURE_KEYS:
            total += 1
            for version in wins:
                if res.get(version) is None:
                    continue
                m = res[version]["measures"][key]
                wins[version] += m["twin"] is not None and m["naive"] is not None and m["twin"] < m["naive"]
            r = ratio(res["now"]["measures"][key]["twin"], res["base"]["measures"][key]["twin"]) \
                if res.get("base") else None
            if r is not None and r > 0:
                logs.append(math.log(r))
    has_base = any(res.get("base") for res in results)
    return {"measures": total, "now_beats_naive": wins["now"], "base_beats_naive": wins["base"] if has_base else None,
            "ratios": len(logs), "geomean_now_over_base": math.exp(sum(logs) / len(logs)) if logs else None}


def main() -> None:
    """Run the bench: per log a subprocess for now and one for base, then the tables, the summary and the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--logs", default=",".join(LOGS), help=f"comma-separated subset of {', '.join(LOGS)}")
    parser.add_argument("--base", default="9d4b04f", help="the git commit to compare with")
    parser.add_argument("--no-base", action="store_true", help="run the current code only")
    parser.add_argument("--replications", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--worker", choices=LOGS, help=argparse.SUPPRESS)
    parser.add_argument("--package", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.package, args.replications, args.seed), default=str))
        return
    logs = [name.strip() for name in args.logs.split(",") if name.strip()]
    unknown = [name for name in logs if name not in LOGS]
    if unknown or not logs:
        parser.error(f"unknown logs {unknown}; choose from {', '.join(LOGS)}")
    head = _git("rev-parse", "HEAD")
    # uncommitted changes to the packages under test (the bench's own files and the Makefile do not count)
    versions = {"now": {"commit": head, "dirty": bool(_git("status", "--porcelain", "--", *PACKAGES))}}
    if not args.no_base:
        versions["base"] = {"commit": _git("rev-parse", "--verify", f"{args.base}^{{commit}}"), "ref": args.base}
    print(f"now: working tree at {head[:7]}{' (with uncommitted changes)' if versions['now']['dirty'] else ''}"
          + ("" if args.no_base else f"; base: {args.base}") + f"; {args.replications} replication(s), seed "
          f"{args.seed}", flush=True)
    results = []
    with tempfile.TemporaryDirectory(prefix="twinlogs-base-") as tmp:
        base_tree = None if args.no_base else export(args.base, Path(tmp))
        for log in logs:
            now = run_worker(log, ROOT, args.replications, args.seed)
            base = None if base_tree is None else run_worker(log, base_tree, args.replications, args.seed)
            results.append({"log": log, "now": now, "base": base})
            print("\n".join(table(now, base)), flush=True)
            print(flush=True)
    total = summary(results)
    line = f"summary: now beats naive on {total['now_beats_naive']} of {total['measures']} measures"
    if total["base_beats_naive"] is not None:
        geo = total["geomean_now_over_base"]
        line += (f", base on {total['base_beats_naive']} of {total['measures']}; geometric mean of now/base "
                 f"{'-' if geo is None else f'{geo:.3f}'} over {total['ratios']} measures (below 1: now is better)")
    print(line)
    OUT.mkdir(parents=True, exist_ok=True)
    machine = {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()}
    (OUT / "twin_logs_bench.json").write_text(json.dumps({"machine": machine, "versions": versions,
                                                          "replications": args.replications, "seed": args.seed,
                                                          "logs": logs, "summary": total, "results": results},
                                                         indent=1, default=str), encoding="utf-8")


if __name__ == "__main__":
    main()
