"""Experiments: a model's as-is and its scenarios, each run for a number of replications on an executor, with
KPIs summarised by 95% confidence intervals and compared with the as-is by paired differences.

Every (scenario, replication) is one task. A task simulates and returns only the KPIs plus the small per-case data
the charts need (cycle time per completed case, waiting per activity), never the event table, so that results
stay small across processes and over the network. Tasks run on any `concurrent.futures.Executor`, on a local
process pool by default, or on a Dask distributed cluster given its address (or a `distributed.Client`); the
workers of a remote cluster need twinflow installed.

The seed of a task depends only on (experiment seed, replication), so the numbers do not depend on the executor
or the order tasks finish in, and replication r of every scenario sees the same arriving cases (common random
numbers, see simulation/case_draws.py): that is what makes the paired differences against the as-is sharp.

simulation/store.py keeps scenarios and results in the workspace.
"""

from __future__ import annotations

import math
import os
import time
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import Executor, ProcessPoolExecutor
from concurrent.futures import as_completed as cf_as_completed
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from simulation.model_edits import EDITS_NOTE
from simulation.spec import Model, Scenario, dump_yaml

if TYPE_CHECKING:
    from distributed import Client

AS_IS = "as-is"
CONFIDENCE = 0.95
ExperimentProgress = Callable[[int, int, str], None]

# The KPIs the executive summary speaks about: (key, words, unit, whether lower is better).
HEADLINE = (
    ("cycle_time_median_h", "median cycle time", "h", True),
    ("touchless_rate", "touchless rate", "share", False),
    ("manual_touches_per_case", "manual touches per case", "count", True),
    ("sla_adherence", "SLA adherence", "share", False),
    ("cost_per_case", "cost per case", "money", True),
)


class Experiment(BaseModel):
    """A model's as-is (implicit, named "as-is") and scenarios, each simulated `replications` times."""

    model_config = ConfigDict(extra="forbid")

    model: Model
    scenarios: list[Scenario] = Field(default_factory=list)
    replications: int = Field(10, ge=1)
    seed: int = 0
    warmup_days: float | None = Field(None, ge=0, description="overrides the model's warm-up when given")

    @model_validator(mode="after")
    def _names(self) -> Experiment:
        names = [s.name for s in self.scenarios]
        if AS_IS in names:
            raise ValueError(f"the as-is is implicit: name the scenarios otherwise than {AS_IS!r}")
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"scenarios named twice: {', '.join(dupes)}")
        return self

    def scenario_names(self) -> list[str]:
        """Return the scenario names in order, the as-is first."""
        return [AS_IS, *(s.name for s in self.scenarios)]

    def run_model(self) -> Model:
        """Return the model the tasks simulate: the model with the warm-up override in force."""
        if self.warmup_days is None:
            return self.model
        return Model.model_validate(self.model.model_dump() | {"warmup_days": self.warmup_days})

    def to_yaml(self) -> str:
        """Return the experiment as YAML text."""
        return dump_yaml(self)

    @classmethod
    def from_yaml(cls, text: str) -> Experiment:
        """Return the experiment read from YAML text (validated)."""
        return cls.model_validate(yaml.safe_load(text))


# ----------------------------------------------------------------------------------------------------------
# One task


def replicate(model: Model, scenario: Scenario | None, seed: int, replication: int) -> dict[str, Any]:
    """Return the KPIs, cycle times (hours, completed reported cases) and waiting per activity of one replication.

    Runs in a worker: the return value is all that travels back, so it holds no event table.
    """
    from simulation.engine import simulate
    from simulation.run_kpis import kpis

    run = simulate(model, scenario, seed=seed, replication=replication)
    reported = run.cases.loc[~run.cases["warmup"]]
    ev = run.events[run.events["case_id"].isin(reported["case_id"])]
    ev = ev.sort_values(["case_id", "end_time", "start_time"], kind="stable")
    # Waiting as kpis() measures it: an event's start minus the end of the case's previous event (or arrival).
    arrival = reported.set_index("case_id")["arrival"]
    previous = ev.groupby("case_id", sort=False)["end_time"].shift(1).fillna(ev["case_id"].map(arrival))
    wait = (ev["start_time"] - previous).dt.total_seconds().clip(lower=0) / 3600
    per_activity = wait.groupby(ev["activity"]).agg(["count", "sum"])
    first = ev["start_time"].fillna(ev["end_time"]).groupby(ev["case_id"]).min()
    last = ev.groupby("case_id")["end_time"].max()
    done = reported.loc[reported["completed"], "case_id"]
    cycle = ((last - first).dt.total_seconds() / 3600).reindex(done).dropna()
    return {
        "scenario": run.scenario,
        "replication": replication,
        "kpis": kpis(run, model),
        "cycle_times_h": [float(x) for x in cycle.to_numpy()],
        "waiting": {str(a): [int(r["count"]), float(r["sum"])] for a, r in per_activity.iterrows()},
    }


# ----------------------------------------------------------------------------------------------------------
# Statistics


def t_interval(values: Iterable[float], confidence: float = CONFIDENCE) -> tuple[float, float, int]:
    """Return (mean, half-width of the Student t confidence interval, n) of the values; NaN where undefined."""
    from scipy import stats

    x = np.asarray([v for v in values if v is not None and not pd.isna(v)], dtype=float)
    n = len(x)
    if n == 0:
        return math.nan, math.nan, 0
    mean = float(x.mean())
    if n < 2:
        return mean, math.nan, 1
    sd = float(x.std(ddof=1))
    return mean, float(stats.t.ppf((1 + confidence) / 2, n - 1) * sd / math.sqrt(n)), n


@dataclass
class ExperimentResult:
    """What an experiment produced: KPIs per (scenario, replication), pooled cycle times and waiting."""

    experiment: Experiment
    kpis: pd.DataFrame  # scenario, replication, kpi, value (tidy)
    cycle_times: pd.DataFrame  # scenario, replication, cycle_time_h (one row per completed reported case)
    waiting: pd.DataFrame  # scenario, replication, activity, events, waiting_h
    wall_time_s: float = 0.0

    def scenarios(self) -> list[str]:
        """Return the scenario names, the as-is first."""
        return self.experiment.scenario_names()

    def wide(self) -> pd.DataFrame:
        """Return the KPIs with one row per (scenario, replication) and one column per KPI."""
        table = self.kpis.pivot(index=["scenario", "replication"], columns="kpi", values="value")
        order = pd.MultiIndex.from_product([self.scenarios(), range(self.experiment.replications)],
                                           names=["scenario", "replication"])
        return table.reindex(order)[list(dict.fromkeys(self.kpis["kpi"]))].reset_index()

    def _grouped(self) -> list[tuple[tuple[str, str], pd.DataFrame]]:
        """Return the KPI rows grouped by (scenario, KPI), scenarios in experiment order, KPIs in engine order."""
        groups = dict(iter(self.kpis.groupby(["scenario", "kpi"], sort=False)))
        return [((s, k), groups[(s, k)]) for s in self.scenarios() for k in dict.fromkeys(self.kpis["kpi"])
                if (s, k) in groups]

    def summary(self) -> pd.DataFrame:
        """Return per scenario and KPI: mean, 95% CI half-width and bounds (Student t over replications), n."""
        rows = []
        for (scenario, kpi), group in self._grouped():
            mean, half, n = t_interval(group["value"])
            rows.append({"scenario": scenario, "kpi": kpi, "mean": mean, "half_width": half,
                         "ci_low": mean - half, "ci_high": mean + half, "n": n})
        return pd.DataFrame(rows, columns=["scenario", "kpi", "mean", "half_width", "ci_low", "ci_high", "n"])

    def differences(self) -> pd.DataFrame:
        """Return per scenario other than the as-is and KPI: the mean paired difference (scenario − as-is,
        replication by replication), its 95% CI, the relative change and whether the CI excludes 0."""
        wide = self.kpis.pivot(index=["kpi", "replication"], columns="scenario", values="value")
        rows = []
        for kpi in dict.fromkeys(self.kpis["kpi"]):
            table = wide.loc[kpi]
            for scenario in self.scenarios()[1:]:
                if scenario not in table or AS_IS not in table:
                    continue
                pair = table[[AS_IS, scenario]].astype(float).dropna()
                d = pair[scenario] - pair[AS_IS]
                # The same work summed in another order differs in the last bits: that is no difference.
                d = d.where(~np.isclose(pair[scenario], pair[AS_IS], rtol=1e-9, atol=0.0), 0.0)
                mean, half, n = t_interval(d)
                base = float(pair[AS_IS].mean()) if n else math.nan
                low, high = mean - half, mean + half
                rows.append({
                    "scenario": scenario, "kpi": kpi, "as_is_mean": base, "scenario_mean":
                    float(pair[scenario].mean()) if n else math.nan, "difference": mean, "half_width": half,
                    "ci_low": low, "ci_high": high,
                    "relative_change": mean / base if n and base != 0 else math.nan,
                    "significant": bool(n >= 2 and (low > 0 or high < 0)), "n": n,
                })
        return pd.DataFrame(rows, columns=["scenario", "kpi", "as_is_mean", "scenario_mean", "difference",
                                           "half_width", "ci_low", "ci_high", "relative_change", "significant",
                                           "n"])

    def cycle_time_quantiles(self, quantiles: Iterable[float] = (0.1, 0.25, 0.5, 0.75, 0.9)) -> pd.DataFrame:
        """Return per scenario the pooled cycle-time distribution: cases and the given quantiles (hours)."""
        qs = list(quantiles)
        rows = []
        for scenario in self.scenarios():
            x = self.cycle_times.loc[self.cycle_times["scenario"] == scenario, "cycle_time_h"].to_numpy(float)
            rows.append({"scenario": scenario, "cases": len(x), "mean_h": float(x.mean()) if len(x) else math.nan,
                         **{f"p{round(q * 100):02d}_h": float(np.quantile(x, q)) if len(x) else math.nan
                            for q in qs}})
        return pd.DataFrame(rows)

    def waiting_per_activity(self) -> pd.DataFrame:
        """Return per scenario and activity: events, mean waiting hours per event and per replication (pooled)."""
        w = self.waiting.groupby(["scenario", "activity"], sort=False)[["events", "waiting_h"]].sum().reset_index()
        w["mean_waiting_h"] = w["waiting_h"] / w["events"].where(w["events"] > 0)
        w["waiting_h_per_replication"] = w["waiting_h"] / self.experiment.replications
        order = {s: i for i, s in enumerate(self.scenarios())}
        return (w.sort_values(["scenario", "waiting_h"], key=lambda c: c.map(order) if c.name == "scenario"
                              else -c).reset_index(drop=True))

    def best_scenario(self) -> str | None:
        """Return the scenario with the most headline KPIs significantly better than the as-is, less those
        significantly worse (ties: the lower mean median cycle time), or None without scenarios."""
        names = self.scenarios()[1:]
        if not names:
            return None
        diff = self.differences()
        summary = self.summary().set_index(["scenario", "kpi"])["mean"]

        def score(name: str) -> tuple[int, float]:
            total = 0
            for key, _, _, lower in HEADLINE:
                row = diff[(diff["scenario"] == name) & (diff["kpi"] == key)]
                if len(row) and row["significant"].iloc[0]:
                    better = row["difference"].iloc[0] < 0 if lower else row["difference"].iloc[0] > 0
                    total += 1 if better else -1
            cycle = summary.get((name, "cycle_time_median_h"), math.nan)
            return total, -(cycle if not pd.isna(cycle) else math.inf)

        return max(names, key=score)

    def executive_summary(self) -> str:
        """Return one plain-language paragraph comparing the best scenario with the as-is on the headline KPIs,
        naming only differences whose 95% CI excludes 0."""
        e = self.experiment
        runs = f"{e.replications} replication{'s' if e.replications != 1 else ''}"
        best = self.best_scenario()
        edited = e.model.notes.get(EDITS_NOTE)
        # Executives read this paragraph alone: an as-is changed by hand after discovery must say so.
        basis = (f" The as-is is the model discovered from the log with {len(edited.split('; '))} change"
                 f"{'s' if len(edited.split('; ')) != 1 else ''} made by hand (listed in its notes), not the log "
                 "alone." if edited else "")
        if best is None:
            return (f"Only the as-is was simulated ({runs}); add a scenario to compare a design with it." + basis)
        diff = self.differences()
        mine = diff[diff["scenario"] == best].set_index("kpi")
        said, quiet, unmeasured = [], [], []
        for key, words, unit, lower in HEADLINE:
            if key not in mine.index or mine.loc[key, "n"] == 0:
                unmeasured.append(words)
                continue
            if not mine.loc[key, "significant"]:
                quiet.append(words)
                continue
            r = mine.loc[key]
            good = (r["difference"] < 0) == lower
            said.append(f"{words} {'rises' if r['difference'] > 0 else 'falls'} from {_fmt(r['as_is_mean'], unit)} "
                        f"to {_fmt(r['scenario_mean'], unit)} ({_change(r, unit)}; 95% CI "
                        f"{_signed(r['ci_low'], unit)} to {_signed(r['ci_high'], unit)}), "
                        f"{'an improvement' if good else 'a deterioration'}")
        others = len(self.scenarios()) - 2
        who = f"the best of {others + 1} scenarios, {best!r}," if others else f"scenario {best!r}"
        listed = _join(unmeasured)
        missing = (f" {listed[:1].upper() + listed[1:]} {'is' if len(unmeasured) == 1 else 'are'} not measured "
                   f"in this model." if unmeasured else "")
        if not said:
            return (f"Over {runs}, {who} does not differ from the as-is on {_join(quiet, 'or')} by more than "
                    f"chance: every 95% confidence interval of the paired differences includes zero, so no change "
                    f"can be claimed; more replications or a larger change would be needed to show one." + missing
                    + basis)
        text = f"Over {runs} with common random numbers, {who} compared with the as-is: "
        text += "; ".join(said) + "."
        if quiet:
            text += f" No difference in {_join(quiet, 'or')} is distinguishable from chance (95% CI includes zero)."
        return text + missing + basis


def _fmt(value: float, unit: str) -> str:
    if unit == "share":
        return f"{value:.1%}"
    if unit == "h":
        return f"{value:,.1f} h"
    if unit == "money":
        return f"{value:,.2f}"
    return f"{value:,.2f}"


def _signed(value: float, unit: str) -> str:
    if unit == "share":
        return f"{value * 100:+.1f} pp"
    if unit == "h":
        return f"{value:+,.1f} h"
    return f"{value:+,.2f}"


def _change(row: pd.Series, unit: str) -> str:
    if unit == "share":
        return f"{row['difference'] * 100:+.1f} percentage points"
    rel = row["relative_change"]
    return f"{_signed(row['difference'], unit)}, {rel:+.0%}" if not pd.isna(rel) else _signed(row["difference"], unit)


def _join(words: list[str], last: str = "and") -> str:
    if not words:
        return "the headline KPIs"
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + f" {last} " + words[-1]


# ----------------------------------------------------------------------------------------------------------
# Running


def run_experiment(experiment: Experiment, executor: Executor | None = None, address: str | Client | None = None,
                   workers: int | None = None, progress: ExperimentProgress | None = None) -> ExperimentResult:
    """Return the result of running every (scenario, replication) of the experiment as one task.

    On `executor` when given (left running); else on the Dask cluster at `address` ("tcp://host:port", or an
    existing `distributed.Client`); else on a local process pool of `workers` processes (default: min(CPUs,
    tasks)). `progress(done, total, message)` is called in the caller's thread after each task.
    """
    if executor is not None and address is not None:
        raise ValueError("give an executor or a Dask address, not both")
    started = time.perf_counter()
    model = experiment.run_model()
    scenarios: list[Scenario | None] = [None, *experiment.scenarios]
    # Refuse a scenario naming an unknown activity or role here, not as a failure in a remote worker.
    from simulation.designs import apply

    for scenario in experiment.scenarios:
        apply(model, scenario)
    tasks = [(scenario, r) for scenario in scenarios for r in range(experiment.replications)]
    if address is not None:
        results = _on_dask(address, model, tasks, experiment.seed, progress)
    elif executor is not None:
        results = _on_executor(executor, model, tasks, experiment.seed, progress)
    else:
        n = max(1, min(workers or _cpus(), len(tasks)))
        with ProcessPoolExecutor(max_workers=n, mp_context=_context()) as pool:
            results = _on_executor(pool, model, tasks, experiment.seed, progress)
    return _collect(experiment, results, time.perf_counter() - started)


def _cpus() -> int:
    """Return the number of CPUs this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _context() -> Any:
    """Return the multiprocessing context of the default pool: forkserver where there is one, else spawn."""
    import multiprocessing as mp

    # fork would copy the caller's threads' locks (DuckDB, Dask, Streamlit) into the children.
    if "forkserver" in mp.get_all_start_methods():
        ctx = mp.get_context("forkserver")
        ctx.set_forkserver_preload(["simulation.engine", "simulation.run_kpis"])
        return ctx
    return mp.get_context("spawn")


def _label(task: tuple[Scenario | None, int], done: int, total: int) -> str:
    scenario, r = task
    return f"{scenario.name if scenario else AS_IS}, replication {r + 1} done ({done}/{total})"


def _on_executor(executor: Executor, model: Model, tasks: list[tuple[Scenario | None, int]], seed: int,
                 progress: ExperimentProgress | None) -> list[dict[str, Any]]:
    futures = {executor.submit(replicate, model, scenario, seed, r): i for i, (scenario, r) in enumerate(tasks)}
    results: list[dict[str, Any] | None] = [None] * len(tasks)
    try:
        for done, future in enumerate(cf_as_completed(futures), 1):
            i = futures[future]
            results[i] = future.result()
            if progress is not None:
                progress(done, len(tasks), _label(tasks[i], done, len(tasks)))
    finally:
        for future in futures:
            future.cancel()
    return results  # type: ignore[return-value]


def _on_dask(address: str | Client, model: Model, tasks: list[tuple[Scenario | None, int]], seed: int,
             progress: ExperimentProgress | None) -> list[dict[str, Any]]:
    from distributed import Client, as_completed

    own = not isinstance(address, Client)
    client = Client(address, timeout="15s", set_as_default=False) if own else address
    try:
        # One copy of the model on the cluster instead of one per task.
        [remote_model] = client.scatter([model], broadcast=False, hash=False)
        token = uuid.uuid4().hex[:8]
        futures = {client.submit(replicate, remote_model, scenario, seed, r, pure=False,
                                 key=f"twinflow-replicate-{token}-{i}"): i
                   for i, (scenario, r) in enumerate(tasks)}
        results: list[dict[str, Any] | None] = [None] * len(tasks)
        try:
            for done, future in enumerate(as_completed(list(futures), loop=client.loop), 1):
                i = futures[future]
                results[i] = future.result()
                if progress is not None:
                    progress(done, len(tasks), _label(tasks[i], done, len(tasks)))
        finally:
            client.cancel(list(futures))
            client.cancel([remote_model])
        return results  # type: ignore[return-value]
    finally:
        if own:
            client.close()


def _collect(experiment: Experiment, results: list[dict[str, Any]], wall_time_s: float) -> ExperimentResult:
    kpi_rows, cycle_parts, wait_rows = [], [], []
    for res in results:
        s, r = res["scenario"], res["replication"]
        kpi_rows += [(s, r, k, math.nan if v is None else float(v)) for k, v in res["kpis"].items()]
        cycle_parts.append(pd.DataFrame({"scenario": s, "replication": r,
                                         "cycle_time_h": np.asarray(res["cycle_times_h"], dtype=float)}))
        wait_rows += [(s, r, a, int(c), float(h)) for a, (c, h) in res["waiting"].items()]
    return ExperimentResult(
        experiment=experiment,
        kpis=pd.DataFrame(kpi_rows, columns=["scenario", "replication", "kpi", "value"]),
        cycle_times=(pd.concat(cycle_parts, ignore_index=True) if cycle_parts else
                     pd.DataFrame(columns=["scenario", "replication", "cycle_time_h"])),
        waiting=pd.DataFrame(wait_rows, columns=["scenario", "replication", "activity", "events", "waiting_h"]),
        wall_time_s=wall_time_s,
    )
