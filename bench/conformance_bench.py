"""Conformance benchmark: per-case fitness against one model, twinflow against pm4py, on the same log.

What it measures
    A seeded purchase-to-pay log of N events (bench/generate.py, default 1,000,000) in which a share of the
    cases (default 3%) deviates: one event dropped, one event repeated later in the case, or two neighbouring
    events swapped. It is imported once into a workspace in bench/out/ and one model is discovered from it
    (inductive miner, noise 0.2) and pickled; neither is timed. Then each contender runs in a fresh process:

    twinflow-alignments  mining.conformance.conformance(con, Filters(process="p2p"), model, "alignments")
                         from the open workspace to per-case fitness (an exact replay of every variant,
                         alignments for the variants that do not replay)
    pm4py-alignments     pm4py.conformance_diagnostics_alignments(df, net, im, fm) on the events as a
                         DataFrame sorted by case and the workspace's event order (reading it is not timed)
    twinflow-token       conformance(..., "token_replay")
    pm4py-token          pm4py.conformance_diagnostics_token_based_replay(df, net, im, fm)

    pm4py runs with its defaults (no multi_processing): its process pool asks for cpu_count() - 2 workers, which
    is zero on a 2-core machine, and fails.

    Each child reports seconds (perf_counter around the call only), its peak RSS (ru_maxrss) and writes the
    per-case fitness to bench/out/; the parent checks that both sides give every case exactly the same
    fitness. pm4py's alignments can take very long at 1M events: --timeout bounds that child.

    .venv/bin/python bench/conformance_bench.py --events 100000
    .venv/bin/python bench/conformance_bench.py --events 1000000 --timeout 1800

Results go to stdout and to bench/out/conformance_bench-<N>-d<share>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import statistics
import subprocess
import sys
import time
from pathlib import Path

from measure import peak_rss_mb, quiet

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUT = HERE / "out"
MARK = "BENCH_RESULT "
PROCESS = "p2p"
CONTENDERS = ["twinflow-token", "pm4py-token", "twinflow-alignments", "pm4py-alignments"]
PAIRS = {"alignments": ("twinflow-alignments", "pm4py-alignments"), "token": ("twinflow-token", "pm4py-token")}


def _paths(events: int, seed: int, share: float) -> dict[str, Path]:
    stem = f"conformance-{events}-s{seed}-d{share}"
    return {"csv": OUT / f"{stem}.csv", "workspace": OUT / f"{stem}.duckdb", "model": OUT / f"{stem}.model.pkl"}


# ----------------------------------------------------------------------------------------------------------
# Preparation (not timed)


def prepare(events: int, seed: int, share: float) -> dict:
    """Generate the log with deviations, import it and discover the model, unless already done."""
    import numpy as np

    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(HERE))
    import generate as gen

    from ingest import ImportOptions, connect, import_file
    from mining import Filters
    from mining.conformance import reference_model

    paths = _paths(events, seed, share)
    if not paths["workspace"].exists():
        log = gen.generate(events, seed)
        rng = np.random.default_rng(seed + 1)
        n_cases = int(log.case.max()) + 1
        starts = np.searchsorted(log.case, np.arange(n_cases))
        lengths = np.diff(np.r_[starts, log.events])
        chosen = rng.choice(n_cases, size=int(n_cases * share), replace=False)
        keep = np.ones(log.events, dtype=bool)
        extra: list[int] = []
        for c, kind in zip(chosen, rng.integers(0, 3, size=len(chosen)), strict=True):
            lo, n = int(starts[c]), int(lengths[c])
            if n < 3:
                continue
            i = lo + int(rng.integers(1, n - 1))  # never the first event: the case keeps its start
            if kind == 0:  # a skipped step
                keep[i] = False
            elif kind == 1:  # a step done again at the end
                extra.append(i)
            else:  # two steps in the wrong order
                log.utc[i], log.utc[i + 1] = log.utc[i + 1], log.utc[i]
        if extra:
            idx = np.array(extra)
            last = starts[log.case[idx]] + lengths[log.case[idx]] - 1
            log.utc = np.r_[log.utc, log.utc[last] + np.timedelta64(3600, "s")]
            for name in ("case", "activity", "resource"):
                setattr(log, name, np.r_[getattr(log, name), getattr(log, name)[idx]])
        for name in ("case", "activity", "resource", "utc"):
            setattr(log, name, getattr(log, name)[np.r_[keep, np.ones(len(extra), dtype=bool)]])
        gen.write_csv(log, paths["csv"])
        import_file(paths["csv"], ImportOptions(process=PROCESS), workspace=paths["workspace"])
        paths["csv"].unlink()
        paths["model"].unlink(missing_ok=True)
    con = connect(paths["workspace"], read_only=True)
    try:
        n_events, n_cases = con.execute("SELECT count(*), count(DISTINCT case_id) FROM events WHERE process = ?",
                                        [PROCESS]).fetchall()[0]
        if not paths["model"].exists():
            with quiet():
                model = reference_model(con, Filters(process=PROCESS), noise=0.2)
            paths["model"].write_bytes(pickle.dumps((model.net, model.im, model.fm)))
    finally:
        con.close()
    return {"events": n_events, "cases": n_cases, "workspace": str(paths["workspace"]),
            "model": str(paths["model"])}


# ----------------------------------------------------------------------------------------------------------
# Child: one contender


def run_child(contender: str, workspace: Path, model_file: Path, out: Path) -> dict:
    """Time one contender and write its per-case fitness (case_id, fitness) to `out` as CSV."""
    sys.path.insert(0, str(ROOT))
    with quiet():
        import pandas as pd
        import pm4py  # noqa: F401 - imported before timing, like the twinflow side imports mining

        from ingest import connect
        from mining import Filters
        from mining.conformance import conformance
    net, im, fm = pickle.loads(model_file.read_bytes())
    con = connect(workspace, read_only=True)
    info: dict = {"contender": contender}
    if contender.startswith("twinflow"):
        baseline = peak_rss_mb()
        method = "alignments" if contender.endswith("alignments") else "token_replay"
        started = time.perf_counter()
        with quiet():
            result = conformance(con, Filters(process=PROCESS), (net, im, fm), method)
        seconds = time.perf_counter() - started
        peak = peak_rss_mb()
        per_case = result.cases[["case_id", "fitness"]]
        info.update(variants=len(result.variants), fitness=result.fitness, fit_share=result.fit_share,
                    aligned_variants=int(result.variants.aligned.sum()))
    else:
        df = con.execute("""
            SELECT case_id AS "case:concept:name", activity AS "concept:name", end_time AS "time:timestamp"
            FROM events WHERE process = ? ORDER BY case_id, end_time, start_time, event_id
        """, [PROCESS]).df()
        baseline = peak_rss_mb()
        started = time.perf_counter()
        with quiet():
            if contender == "pm4py-alignments":
                out_list = pm4py.conformance_diagnostics_alignments(df, net, im, fm, show_progress_bar=False)
                key = "fitness"
            else:
                out_list = pm4py.conformance_diagnostics_token_based_replay(
                    df, net, im, fm, opt_parameters={"show_progress_bar": False})
                key = "trace_fitness"
        seconds = time.perf_counter() - started
        peak = peak_rss_mb()
        # pm4py returns one result per case in the order of a pandas groupby on the case id.
        ids = df.groupby("case:concept:name", sort=True).size().index
        per_case = pd.DataFrame({"case_id": ids, "fitness": [r[key] for r in out_list]})
    con.close()
    per_case.to_csv(out, index=False, float_format="%.17g")
    info.update(seconds=round(seconds, 3), peak_rss_mb=round(peak, 1), delta_rss_mb=round(peak - baseline, 1),
                cases=len(per_case))
    return info


# ----------------------------------------------------------------------------------------------------------
# Parent


def run_contender(contender: str, prep: dict, tag: str, timeout: float | None) -> dict:
    out = OUT / f"{tag}-{contender}.fitness.csv"
    cmd = [sys.executable, str(Path(__file__).resolve()), "--run", contender, prep["workspace"], prep["model"],
           str(out)]
    try:
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"contender": contender, "timed_out": True, "seconds": None, "timeout_s": timeout}
    lines = [line for line in proc.stdout.splitlines() if line.startswith(MARK)]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"{contender} failed (exit {proc.returncode}):\n{proc.stderr[-4000:]}")
    result = json.loads(lines[-1][len(MARK):])
    result["fitness_file"] = str(out)
    return result


def identical(a: dict, b: dict) -> tuple[bool | None, int]:
    """Whether two contenders gave every case exactly the same fitness, and how many cases differ."""
    if a.get("timed_out") or b.get("timed_out"):
        return None, -1
    import csv

    def read(path: str) -> dict[str, str]:
        with open(path, newline="") as f:
            return {row["case_id"]: float(row["fitness"]) for row in csv.DictReader(f)}

    x, y = read(a["fitness_file"]), read(b["fitness_file"])
    differ = sum(1 for k in x.keys() | y.keys() if x.get(k) != y.get(k))
    return differ == 0, differ


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Conformance benchmark: twinflow vs pm4py.")
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--deviating", type=float, default=0.03, help="share of cases given a deviation")
    parser.add_argument("--timeout", type=float, default=None, help="seconds allowed to each contender")
    parser.add_argument("--only", choices=["alignments", "token"], help="benchmark one method only")
    parser.add_argument("--repeat", type=int, default=None,
                        help="runs per contender, median reported (default: 3 below 500,000 events, else 1)")
    parser.add_argument("--run", nargs=4, metavar=("CONTENDER", "WORKSPACE", "MODEL", "OUT"),
                        help=argparse.SUPPRESS)
    parser.add_argument("--prepare", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.run:
        contender, workspace, model, out = args.run
        print(MARK + json.dumps(run_child(contender, Path(workspace), Path(model), Path(out))), flush=True)
        return 0
    if args.prepare:
        print(MARK + json.dumps(prepare(args.events, args.seed, args.deviating)), flush=True)
        return 0

    OUT.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--prepare", "--events", str(args.events),
                           "--seed", str(args.seed), "--deviating", str(args.deviating)],
                          cwd=ROOT, capture_output=True, text=True, check=False)
    lines = [line for line in proc.stdout.splitlines() if line.startswith(MARK)]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"preparing failed:\n{proc.stderr[-4000:]}")
    prep = json.loads(lines[-1][len(MARK):])
    print(f"log: {prep['events']:,} events, {prep['cases']:,} cases ({args.deviating:.0%} given a deviation); "
          f"prepared in {time.perf_counter() - t0:.1f} s", flush=True)
    tag = f"conformance-{args.events}-d{args.deviating}"
    pairs = {args.only: PAIRS[args.only]} if args.only else PAIRS
    repeat = args.repeat or (3 if args.events < 500_000 else 1)
    results: dict[str, dict] = {}
    for ours, theirs in pairs.values():
        for contender in (ours, theirs):
            runs = []
            for _ in range(repeat):
                r = run_contender(contender, prep, tag, args.timeout)
                runs.append(r)
                if r.get("timed_out"):
                    break
            r = dict(runs[-1])
            if not r.get("timed_out"):
                r["seconds_runs"] = [x["seconds"] for x in runs]
                r["seconds"] = statistics.median(r["seconds_runs"])
                r["peak_rss_mb"] = max(x["peak_rss_mb"] for x in runs)
            results[contender] = r
            if r.get("timed_out"):
                print(f"  {contender:<20} timed out after {args.timeout:.0f} s", flush=True)
            else:
                more = (f"  {r['variants']:,} variants, {r['aligned_variants']:,} aligned"
                        if "variants" in r else "")
                print(f"  {contender:<20} {r['seconds']:9.2f} s (median of {len(runs)})  peak "
                      f"{r['peak_rss_mb']:6.0f} MB (+{r['delta_rss_mb']:.0f}){more}", flush=True)
    summary = {}
    print()
    for method, (ours, theirs) in pairs.items():
        a, b = results[ours], results[theirs]
        same, differ = identical(a, b)
        ratio = round(b["seconds"] / a["seconds"], 1) if a["seconds"] and b["seconds"] else None
        summary[method] = {"twinflow_s": a["seconds"], "pm4py_s": b["seconds"], "speed_ratio": ratio,
                           "twinflow_peak_mb": a.get("peak_rss_mb"), "pm4py_peak_mb": b.get("peak_rss_mb"),
                           "identical_per_case_fitness": same, "cases_differing": differ}
        if ratio is None:
            print(f"{method}: pm4py did not finish within {args.timeout} s (twinflow {a['seconds']:.2f} s, "
                  f"so the ratio is above {args.timeout / a['seconds']:.0f}x)")
        else:
            print(f"{method}: pm4py {b['seconds']:.2f} s / twinflow {a['seconds']:.2f} s = {ratio}x; "
                  f"peak RSS twinflow {a['peak_rss_mb']:.0f} MB, pm4py {b['peak_rss_mb']:.0f} MB")
        print(f"check {method}: per-case fitness identical for all {a.get('cases', 0):,} cases: "
              f"{'yes' if same else 'NOT CHECKED' if same is None else f'NO ({differ} differ)'}")
    report = {"events": prep["events"], "cases": prep["cases"], "deviating_share": args.deviating, "repeat": repeat,
              "seed": args.seed, "cpus": os.cpu_count(), "results": results, "summary": summary}
    (OUT / f"conformance_bench-{args.events}-d{args.deviating}.json").write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nresults: {(OUT / f'conformance_bench-{args.events}-d{args.deviating}.json').relative_to(ROOT)}")
    return 0 if all(s["identical_per_case_fitness"] is not False for s in summary.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
