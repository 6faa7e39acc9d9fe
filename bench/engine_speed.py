"""Engine speed: simulated events per second of simulation/engine.py now against the engine of a base commit.

What it measures
    For each log (PurchasingExample_simod, academic_credentials, bpic2012_W_start_end) the model is discovered once
    (cached as YAML in the work folder) and simulated with seed 0 by both engines in this one process, in turns:
    the current `simulation.engine` and the `simulation/engine.py` of the base commit (default 7e31104), loaded from
    `git show` into a temporary module. Rate = simulated events / SimulationRun.wall_time_s (arrivals, the
    discrete-event run and the result frames); the best of `--repeats` runs of each engine counts, because the
    machine is shared and the noise only ever slows a run down. "identical" compares the events DataFrames of the
    two engines (all columns, exactly).

How to run
    .venv/bin/python bench/engine_speed.py                          # all three logs, 5 repeats
    .venv/bin/python bench/engine_speed.py --logs academic_credentials --repeats 3 --base 7e31104
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import tempfile
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.measure import quiet, ratio  # noqa: E402
from simulation import engine  # noqa: E402
from simulation.spec import Model  # noqa: E402

LOGS = ("PurchasingExample_simod", "academic_credentials", "bpic2012_W_start_end")


def old_engine(commit: str, folder: Path) -> ModuleType:
    """Return simulation/engine.py as of `commit`, imported as the module `engine_<commit>`."""
    source = subprocess.run(["git", "show", f"{commit}:simulation/engine.py"], cwd=ROOT, check=True,
                            capture_output=True, text=True).stdout
    path = folder / f"engine_{commit}.py"
    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


def model_of(log: str, folder: Path) -> Model:
    """Return the model discovered on the shipped log (cached as <folder>/<log>.yaml)."""
    path = folder / f"{log}.yaml"
    if path.exists():
        return Model.from_yaml(path.read_text(encoding="utf-8"))
    from ingest import ImportOptions, connect, import_file
    from ingest.demo import LOG_OPTIONS, SHIPPED_LOGS
    from simulation.discover import discover

    con = connect(str(folder / f"{log}.duckdb"))
    try:
        with quiet():
            import_file(SHIPPED_LOGS / f"{log}.csv.gz",
                        ImportOptions(process=log, **LOG_OPTIONS.get(f"{log}.csv.gz", {})), con=con)
            model = discover(con, log)
    finally:
        con.close()
    path.write_text(model.to_yaml(), encoding="utf-8")
    return model


def timed(module: ModuleType, model: Model) -> tuple[float, object]:
    """Return the simulated events per second of one run (seed 0) of `module`'s engine, and the run."""
    run = module.simulate(model, seed=0)
    return len(run.events) / run.wall_time_s, run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--logs", nargs="+", default=list(LOGS), choices=LOGS)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--base", default="7e31104", help="the git commit of the engine to compare with")
    parser.add_argument("--folder", type=Path, default=Path(tempfile.gettempdir()) / "engine-speed",
                        help="where discovered models are cached")
    args = parser.parse_args()
    args.folder.mkdir(parents=True, exist_ok=True)
    old = old_engine(args.base, args.folder)
    print(f"{'log':<26}{'events':>8}{'new ev/s':>11}{args.base + ' ev/s':>15}{'new/old':>9}  identical")
    for log in args.logs:
        model = model_of(log, args.folder)
        new_rate, new_run, old_rate, old_run = 0.0, None, 0.0, None
        for _ in range(args.repeats):  # in turns, so that both engines see the same load
            rate, new_run = timed(engine, model)
            new_rate = max(new_rate, rate)
            rate, old_run = timed(old, model)
            old_rate = max(old_rate, rate)
        same = new_run.events.equals(old_run.events) and new_run.cases.equals(old_run.cases)
        print(f"{log:<26}{len(new_run.events):>8}{new_rate:>11,.0f}{old_rate:>15,.0f}"
              f"{ratio(new_rate, old_rate):>9}  {'yes' if same else 'NO'}", flush=True)


if __name__ == "__main__":
    main()
