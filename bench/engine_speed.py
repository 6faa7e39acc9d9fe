"""Engine speed: simulated events per second of the engine now against the engine of a base commit, and whether the
two simulate the same process (statistically).

What it measures
    For each log (PurchasingExample_simod, academic_credentials, bpic2012_W_start_end) the model is discovered once
    by the current code (cached as YAML in the work folder). Each engine then simulates it in a subprocess of its
    own, in turns so that both see the same load: the current `simulation` package, and the whole `simulation`
    package of the base commit (default fd3033f), exported with `git archive` into the work folder. A subprocess
    runs replications 0..R-1 (seed 0) and reports, per replication, the rate = simulated events /
    SimulationRun.wall_time_s (arrivals, the discrete-event run and the result frames) and the run's KPIs by its
    own `kpis`. The best rate of each engine counts (the machine is shared and noise only slows a run down).

    Engines that draw the same random numbers the same way give identical runs ("identical: yes"). Otherwise the
    KPIs are compared over the replications: the mean of each engine and Welch's t-test p-value; a p-value well
    above 0.01 for every KPI means the bench found no difference between the two processes.

How to run
    .venv/bin/python bench/engine_speed.py                          # all three logs, 10 replications
    .venv/bin/python bench/engine_speed.py --logs academic_credentials --replications 5 --base fd3033f
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOGS = ("PurchasingExample_simod", "academic_credentials", "bpic2012_W_start_end")
COMPARED = ("cases", "cycle_time_median_h", "cycle_time_mean_h", "waiting_h_per_case", "manual_touches_per_case",
            "rework_rate")


def export(commit: str, folder: Path) -> Path:
    """Return a folder holding the `simulation` package as of `commit` (exported with git archive)."""
    target = folder / f"engine-{commit}"
    if not (target / "simulation" / "engine.py").exists():
        target.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(["git", "archive", commit, "simulation"], cwd=ROOT, check=True,
                                 capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)
    return target


def model_path(log: str, folder: Path) -> Path:
    """Return the YAML of the model discovered on the shipped log by the current code (cached in `folder`)."""
    path = folder / f"{log}.yaml"
    if path.exists():
        return path
    sys.path.insert(0, str(ROOT))
    from bench.measure import quiet
    from ingest import ImportOptions, connect, import_file
    from ingest.demo import LOG_OPTIONS, SHIPPED_LOGS
    from simulation.discovery import discover

    con = connect(str(folder / f"{log}.duckdb"))
    try:
        with quiet():
            import_file(SHIPPED_LOGS / f"{log}.csv.gz",
                        ImportOptions(process=log, **LOG_OPTIONS.get(f"{log}.csv.gz", {})), con=con)
            model = discover(con, log)
    finally:
        con.close()
    path.write_text(model.to_yaml(), encoding="utf-8")
    return path


def worker(package: str, model_yaml: str, replications: int) -> None:
    """Print, as JSON, the rate and KPIs of each replication of the model by the engine found first on sys.path."""
    sys.path.insert(0, package)
    import pandas as pd

    # The `simulation` package of either engine re-exports them (before and after the engine was split up).
    from simulation import kpis, simulate
    from simulation.spec import Model

    model = Model.from_yaml(Path(model_yaml).read_text(encoding="utf-8"))
    simulate(model, seed=0, replication=replications)  # warms up the caches and imports of both engines alike
    out = []
    for r in range(replications):
        run = simulate(model, seed=0, replication=r)
        out.append({"rate": len(run.events) / run.wall_time_s, "events": len(run.events),
                    "kpis": {k: kpis(run).get(k) for k in COMPARED},
                    "digest": int(pd.util.hash_pandas_object(run.events.astype(str), index=False).sum())})
    print(json.dumps(out))


def run_engine(package: Path, model: Path, replications: int) -> list[dict]:
    """Return the replications of one engine, run in a fresh subprocess."""
    done = subprocess.run([sys.executable, __file__, "--worker", str(package), str(model), str(replications)],
                          check=True, capture_output=True, text=True, cwd=ROOT)
    return json.loads(done.stdout.strip().splitlines()[-1])


def welch_p(a: list[float], b: list[float]) -> float:
    """Return the two-sided p-value of Welch's t-test of equal means (1.0 when both samples are constant and
    equal)."""
    from scipy import stats

    if len(set(a)) <= 1 and len(set(b)) <= 1:
        return 1.0 if a[:1] == b[:1] else 0.0
    return float(stats.ttest_ind(a, b, equal_var=False).pvalue)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--logs", nargs="+", default=list(LOGS), choices=LOGS)
    parser.add_argument("--replications", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=2, help="runs of each engine's subprocess, in turns")
    parser.add_argument("--base", default="fd3033f", help="the git commit of the engine to compare with")
    parser.add_argument("--folder", type=Path, default=Path(tempfile.gettempdir()) / "engine-speed",
                        help="where discovered models and the base engine are kept")
    parser.add_argument("--worker", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker[0], args.worker[1], int(args.worker[2]))
        return
    args.folder.mkdir(parents=True, exist_ok=True)
    base = export(args.base, args.folder)
    print(f"{'log':<26}{'events':>8}{'new ev/s':>11}{args.base + ' ev/s':>15}{'new/old':>9}  same process?")
    for log in args.logs:
        model = model_path(log, args.folder)
        new: list[dict] = []
        old: list[dict] = []
        started = time.perf_counter()
        for _ in range(args.rounds):
            new = new + run_engine(ROOT, model, args.replications)
            old = old + run_engine(base, model, args.replications)
        new_rate, old_rate = max(r["rate"] for r in new), max(r["rate"] for r in old)
        identical = [r["digest"] for r in new] == [r["digest"] for r in old]
        n = args.replications
        verdict = "identical" if identical else "statistically: " + ", ".join(
            f"{k} {mean(new[:n], k):.3g} vs {mean(old[:n], k):.3g} "
            f"(p={welch_p(values(new[:n], k), values(old[:n], k)):.2f})" for k in COMPARED)
        print(f"{log:<26}{new[0]['events']:>8}{new_rate:>11,.0f}{old_rate:>15,.0f}"
              f"{round(new_rate / old_rate, 2):>9}  {verdict}  [{time.perf_counter() - started:.0f} s]", flush=True)


def values(runs: list[dict], key: str) -> list[float]:
    """Return the KPI `key` of every replication in `runs`."""
    return [float(r["kpis"][key]) for r in runs if r["kpis"][key] is not None]


def mean(runs: list[dict], key: str) -> float:
    """Return the mean of the KPI `key` over the replications."""
    found = values(runs, key)
    return sum(found) / len(found) if found else float("nan")


if __name__ == "__main__":
    main()
