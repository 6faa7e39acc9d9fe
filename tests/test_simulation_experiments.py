"""Experiments: confidence intervals on known numbers, paired differences, a design that clearly helps, the same
numbers on threads, the process pool and a real Dask cluster, progress, storage in the workspace, the executive
summary and the `simulate` command."""

from __future__ import annotations

import json
import math
import multiprocessing
from concurrent.futures import ThreadPoolExecutor

import duckdb
import numpy as np
import pandas as pd
import pytest
import typer
from scipy import stats
from typer.testing import CliRunner

from app import cli_simulation
from simulation.experiments import (
    Experiment,
    ExperimentResult,
    run_experiment,
    t_interval,
)
from simulation.spec import (
    END,
    START,
    Activity,
    Arrivals,
    Branch,
    Decision,
    Distribution,
    Model,
    Role,
    Scenario,
    SlaTarget,
    Staffing,
    fixed,
)
from simulation.store import (
    list_models,
    list_results,
    list_scenarios,
    load_model,
    load_result,
    load_scenario,
    save_model,
    save_result,
    save_scenario,
)


def small_model(days: float = 21) -> Model:
    """Return a model whose approver is the bottleneck (about 2/3 busy), a few hundred cases."""
    steps = [START, "Register", "Approve", "Pay", END]
    return Model(
        name="exp", process="invoices", start="2025-01-06T00:00:00Z", horizon_days=days, warmup_days=1,
        arrivals=Arrivals(cases_per_week=100),
        activities=[Activity(name="Register", role="clerk", duration=Distribution(kind="exponential", mean=600)),
                    Activity(name="Approve", role="boss", duration=Distribution(kind="exponential", mean=4000)),
                    Activity(name="Pay", automated=True, duration=fixed(5))],
        decisions=[Decision(after=a, branches=[Branch(to=b, probability=1)]) for a, b in zip(steps, steps[1:],
                                                                                               strict=False)],
        roles=[Role(name="clerk", headcount=1, hourly_cost=40), Role(name="boss", headcount=1, hourly_cost=90)],
        sla=SlaTarget(default_h=2),
    )


HELP = Scenario(name="+2 approvers", changes=[Staffing(role="boss", headcount=3)])
SAME = Scenario(name="same as today", description="no change")


def hand_made(asis: list[float], other: list[float], kpi: str = "cycle_time_median_h") -> ExperimentResult:
    """Return a result with the given per-replication values of one KPI (no simulation)."""
    n = len(asis)
    experiment = Experiment(model=small_model(), scenarios=[Scenario(name="B")], replications=n)
    rows = [("as-is", r, kpi, v) for r, v in enumerate(asis)] + [("B", r, kpi, v) for r, v in enumerate(other)]
    return ExperimentResult(experiment, pd.DataFrame(rows, columns=["scenario", "replication", "kpi", "value"]),
                            pd.DataFrame(columns=["scenario", "replication", "cycle_time_h"]),
                            pd.DataFrame(columns=["scenario", "replication", "activity", "events", "waiting_h"]))


# ----------------------------------------------------------------------------------------------------------
# Statistics on known numbers


def test_t_interval_matches_scipy_and_is_undefined_below_two_values():
    x = [10.0, 12.0, 9.5, 14.0, 11.0]
    mean, half, n = t_interval(x)
    low, high = stats.t.interval(0.95, len(x) - 1, loc=np.mean(x), scale=stats.sem(x))
    assert n == 5 and mean == pytest.approx(11.3)
    assert (mean - half, mean + half) == pytest.approx((low, high), rel=1e-12)
    assert half == pytest.approx(stats.t.ppf(0.975, 4) * np.std(x, ddof=1) / math.sqrt(5), rel=1e-12)
    assert t_interval([None, 3.0, float("nan")])[:1] == (3.0,) and math.isnan(t_interval([3.0])[1])
    assert t_interval([]) [2] == 0


def test_summary_and_paired_differences_on_known_numbers():
    asis, other = [10.0, 20.0, 30.0, 40.0], [9.0, 18.5, 29.0, 38.0]
    result = hand_made(asis, other)
    summary = result.summary().set_index("scenario")
    low, high = stats.t.interval(0.95, 3, loc=np.mean(asis), scale=stats.sem(asis))
    assert summary.loc["as-is", ["ci_low", "ci_high"]].tolist() == pytest.approx([low, high])
    assert summary.loc["B", "n"] == 4
    diff = result.differences().iloc[0]
    d = np.subtract(other, asis)
    low, high = stats.t.interval(0.95, 3, loc=d.mean(), scale=stats.sem(d))
    assert diff["difference"] == pytest.approx(-1.375) and (diff["ci_low"], diff["ci_high"]) == pytest.approx(
        (low, high))
    assert diff["relative_change"] == pytest.approx(-1.375 / 25) and diff["significant"]
    # Unpaired, the spread between replications would swamp a difference of 1.4: the pairing is what finds it.
    unpaired = stats.ttest_ind(other, asis, equal_var=False)
    assert unpaired.pvalue > 0.5
    noisy = hand_made(asis, [11.0, 19.0, 31.0, 39.0]).differences().iloc[0]
    assert not noisy["significant"] and noisy["ci_low"] < 0 < noisy["ci_high"]


# ----------------------------------------------------------------------------------------------------------
# Simulated experiments


@pytest.fixture(scope="module")
def threaded() -> tuple[ExperimentResult, list[tuple[int, int, str]]]:
    """Return the as-is, a copy of it and +2 approvers, 5 replications on two threads, and the progress calls."""
    calls: list[tuple[int, int, str]] = []
    experiment = Experiment(model=small_model(), scenarios=[SAME, HELP], replications=5, seed=11)
    with ThreadPoolExecutor(max_workers=2) as pool:
        result = run_experiment(experiment, executor=pool, progress=lambda *a: calls.append(a))
    return result, calls


def test_a_scenario_equal_to_the_as_is_differs_by_exactly_zero(threaded):
    result, calls = threaded
    same = result.differences().query("scenario == 'same as today'")
    assert len(same) == len(result.kpis["kpi"].unique())
    numbers = same.dropna(subset=["difference"])
    assert (numbers["difference"] == 0).all() and (numbers["half_width"] == 0).all()
    assert not same["significant"].any()
    assert [c[:2] for c in calls] == [(i, 15) for i in range(1, 16)], "one progress call per task, in order"
    assert all("replication" in c[2] for c in calls)
    wide = result.wide()
    assert wide.shape == (15, 2 + len(result.kpis["kpi"].unique())) and wide["scenario"].iloc[0] == "as-is"


def test_two_more_approvers_on_the_bottleneck_cut_cycle_time_significantly(threaded):
    result, _ = threaded
    diff = result.differences().set_index(["scenario", "kpi"])
    cycle = diff.loc[("+2 approvers", "cycle_time_median_h")]
    assert cycle["significant"] and cycle["ci_high"] < 0 and cycle["relative_change"] < -0.2
    assert diff.loc[("+2 approvers", "cases"), "difference"] == 0, "common random numbers: the same cases arrive"
    summary = result.summary().set_index(["scenario", "kpi"])
    assert summary.loc[("as-is", "cycle_time_median_h"), "n"] == 5
    quantiles = result.cycle_time_quantiles().set_index("scenario")
    assert quantiles.loc["+2 approvers", "p50_h"] < quantiles.loc["as-is", "p50_h"]
    assert quantiles.loc["as-is", "cases"] == len(result.cycle_times.query("scenario == 'as-is'"))
    waiting = result.waiting_per_activity().set_index(["scenario", "activity"])
    assert waiting.loc[("as-is", "Approve"), "mean_waiting_h"] > 3 * waiting.loc[("+2 approvers", "Approve"),
                                                                                 "mean_waiting_h"]
    assert waiting.loc[("as-is", "Register"), "events"] == waiting.loc[("+2 approvers", "Register"), "events"]
    text = result.executive_summary()
    assert "'+2 approvers'" in text and "median cycle time falls" in text and "an improvement" in text
    assert "manual touches per case" in text.split("No difference in")[1], "no change there: said so"


def test_the_executive_summary_says_when_nothing_is_significant():
    text = hand_made([10.0, 20.0, 30.0], [11.0, 19.0, 30.5]).executive_summary()
    assert "scenario 'B' does not differ from the as-is on median cycle time" in text and "includes zero" in text
    assert "SLA adherence and cost per case are not measured" in text, "only the cycle time was given"
    only = Experiment(model=small_model(), replications=2)
    assert "Only the as-is" in ExperimentResult(only, pd.DataFrame(columns=["scenario", "replication", "kpi",
                                                                            "value"]),
                                                pd.DataFrame(), pd.DataFrame()).executive_summary()


def test_the_executive_summary_says_when_the_as_is_was_edited_by_hand():
    from simulation.model_edits import edit_model, roles_table

    plain = hand_made([10.0, 20.0, 30.0], [11.0, 19.0, 30.5])
    assert "by hand" not in plain.executive_summary()
    roles = roles_table(small_model())
    roles.loc[:, "headcount"] = [2, 3]
    edited, changes = edit_model(small_model(), roles=roles)
    result = ExperimentResult(plain.experiment.model_copy(update={"model": edited}), plain.kpis, plain.cycle_times,
                              plain.waiting)
    assert len(changes) == 2 and result.executive_summary().endswith(
        "The as-is is the model discovered from the log with 2 changes made by hand (listed in its notes), not the "
        "log alone.")


def test_experiments_refuse_a_scenario_called_as_is_or_naming_an_unknown_role():
    with pytest.raises(ValueError, match="implicit"):
        Experiment(model=small_model(), scenarios=[Scenario(name="as-is")])
    bad = Experiment(model=small_model(), scenarios=[Scenario(name="x", changes=[Staffing(role="nobody",
                                                                                          headcount=2)])])
    with pytest.raises(ValueError, match="unknown role 'nobody'"), ThreadPoolExecutor(1) as pool:
        run_experiment(bad, executor=pool)


def test_the_same_numbers_on_threads_the_process_pool_and_a_dask_cluster():
    from distributed import Client, LocalCluster

    experiment = Experiment(model=small_model(days=10), scenarios=[HELP], replications=3, seed=5, warmup_days=2)
    with ThreadPoolExecutor(max_workers=2) as pool:
        reference = run_experiment(experiment, executor=pool)
    results = {"process pool": run_experiment(experiment)}  # the default: a local process pool
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster:
        calls: list[tuple[int, int, str]] = []
        results["dask address"] = run_experiment(experiment, address=cluster.scheduler_address,
                                                 progress=lambda *a: calls.append(a))
        with Client(cluster, set_as_default=False) as client:
            results["dask client"] = run_experiment(experiment, address=client)
            assert client.status == "running", "a client we were given stays open"
    assert [c[:2] for c in calls] == [(i, 6) for i in range(1, 7)]
    assert experiment.run_model().warmup_days == 2 and experiment.model.warmup_days == 1, "the override holds"
    for name, result in results.items():
        for table in ("kpis", "cycle_times", "waiting"):
            pd.testing.assert_frame_equal(getattr(result, table), getattr(reference, table), obj=f"{name} {table}")
    assert not multiprocessing.active_children(), "the pool and the cluster leave no worker processes"


# ----------------------------------------------------------------------------------------------------------
# Storage


def test_scenarios_and_results_round_trip_through_the_workspace(tmp_path, threaded):
    path = tmp_path / "ws.duckdb"
    assert list_scenarios(path).empty and list_results(path).empty
    save_scenario(path, HELP, process="invoices")
    save_scenario(path, SAME, process="invoices")
    save_scenario(path, HELP.model_copy(update={"description": "three approvers"}), process="invoices")
    save_scenario(path, HELP, process="purchasing")
    stored = list_scenarios(path, process="invoices")
    assert stored["name"].tolist() == ["+2 approvers", "same as today"], "saving again replaces"
    assert stored.set_index("name").loc["+2 approvers", "description"] == "three approvers"
    assert load_scenario(path, "same as today") == SAME
    assert load_scenario(path, "+2 approvers", process="purchasing") == HELP
    with pytest.raises(ValueError, match="several processes"):
        load_scenario(path, "+2 approvers")
    with pytest.raises(KeyError):
        load_scenario(path, "missing")

    result, _ = threaded
    run_id = save_result(path, result)
    runs = list_results(path)
    assert runs["id"].tolist() == [run_id] and runs["scenarios"].iloc[0] == "same as today, +2 approvers"
    again = load_result(path, run_id)
    assert again.experiment == result.experiment
    for table in ("kpis", "cycle_times", "waiting"):
        pd.testing.assert_frame_equal(getattr(again, table), getattr(result, table))
    pd.testing.assert_frame_equal(again.differences(), result.differences())
    assert again.executive_summary() == result.executive_summary()
    with pytest.raises(KeyError):
        load_result(path, "nope")
    con = duckdb.connect(str(path), read_only=True)
    try:
        tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
        assert {"scenarios", "experiment_runs", "events"} <= tables
    finally:
        con.close()


def test_models_round_trip_through_the_workspace_with_their_edits(tmp_path):
    from simulation.model_edits import edit_model, roles_table

    path = tmp_path / "ws.duckdb"
    assert list_models(path).empty
    discovered = small_model()
    roles = roles_table(discovered)
    roles.loc[0, "headcount"] = int(roles.loc[0, "headcount"]) + 3
    edited, changes = edit_model(discovered, roles=roles)
    assert save_model(path, discovered) == discovered.name
    assert save_model(path, edited, name=" three more ") == "three more"
    save_model(path, edited.model_copy(update={"process": "purchasing"}), name="three more")
    with pytest.raises(ValueError, match="give the model a name"):
        save_model(path, edited, name="  ")
    stored = list_models(path, process=discovered.process)
    assert stored["name"].tolist() == [discovered.name, "three more"]
    assert stored.set_index("name").loc["three more", "edits"] == changes[0]
    assert stored.set_index("name").loc[discovered.name, "edits"] == ""
    assert load_model(path, "three more", process=discovered.process) == edited
    assert load_model(path, discovered.name) == discovered
    with pytest.raises(ValueError, match="several processes"):
        load_model(path, "three more")
    with pytest.raises(KeyError, match="no stored model 'nope'"):
        load_model(path, "nope")


# ----------------------------------------------------------------------------------------------------------
# The command line


def test_simulate_command_prints_the_summary_and_the_differences(tmp_path):
    app = typer.Typer()
    cli_simulation.register(app)
    app.command("noop")(lambda: None)  # a second command keeps `simulate` a subcommand, as in twinflow
    model = small_model(days=10).save(tmp_path / "model.yaml")
    scenario = tmp_path / "help.yaml"
    scenario.write_text(HELP.to_yaml(), encoding="utf-8")
    runner = CliRunner()
    args = ["simulate", str(model), "--scenario", str(scenario), "--replications", "3", "--workers", "1"]
    result = runner.invoke(app, [*args, "-o", "json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert {r["scenario"] for r in payload["summary"]} == {"as-is", "+2 approvers"}
    cycle = next(r for r in payload["differences"] if r["kpi"] == "cycle_time_median_h")
    assert cycle["n"] == 3 and cycle["ci_low"] <= cycle["difference"] <= cycle["ci_high"]
    assert "'+2 approvers'" in payload["executive_summary"]
    table = runner.invoke(app, [*args, "-o", "table", "--save", "--workspace", str(tmp_path / "ws.duckdb")])
    assert table.exit_code == 0, table.output
    assert "95% CI" in table.stdout and "Paired differences" in table.stdout and "cycle_time_median_h" in table.stdout
    assert len(list_results(tmp_path / "ws.duckdb")) == 1
    bad = tmp_path / "bad.yaml"
    bad.write_text(Scenario(name="x", changes=[Staffing(role="nobody", headcount=1)]).to_yaml(), encoding="utf-8")
    failed = runner.invoke(app, ["simulate", str(model), "--scenario", str(bad)])
    assert failed.exit_code == 1 and "unknown role 'nobody'" in failed.output
    assert len(failed.output.strip().splitlines()) == 1


def test_a_scenario_kept_in_the_workspace_runs_from_the_command_line_and_its_result_shows_again(tmp_path):
    app = typer.Typer()
    cli_simulation.register(app)
    runner = CliRunner()
    ws = tmp_path / "ws.duckdb"
    model = small_model(days=10).save(tmp_path / "model.yaml")
    missing = runner.invoke(app, ["scenarios", "--workspace", str(ws)])
    assert missing.exit_code == 1 and "no workspace at" in missing.output
    save_scenario(ws, HELP, process="invoices")  # as the Scenario lab keeps it
    save_scenario(ws, SAME, process="another process")
    listed = runner.invoke(app, ["scenarios", "invoices", "-o", "json", "--workspace", str(ws)])
    assert listed.exit_code == 0, listed.output
    [kept] = json.loads(listed.stdout)
    assert kept["name"] == "+2 approvers" and kept["what"] == "Staffing of boss: headcount 3"
    exported = runner.invoke(app, ["scenarios", "--export", "+2 approvers", "--workspace", str(ws)])
    assert exported.exit_code == 0 and Scenario.from_yaml(exported.stdout) == HELP

    run = runner.invoke(app, ["simulate", str(model), "--stored", "+2 approvers", "--replications", "3",
                              "--workers", "1", "--save", "-o", "json", "--workspace", str(ws)])
    assert run.exit_code == 0, run.output
    payload = json.loads(run.stdout)
    assert {r["scenario"] for r in payload["summary"]} == {"as-is", "+2 approvers"}
    # A scenario of another process is not taken for this model's.
    other = runner.invoke(app, ["simulate", str(model), "--stored", "same as today", "--workspace", str(ws)])
    assert other.exit_code == 1 and "no stored scenario 'same as today' of process 'invoices'" in other.output
    assert len(other.output.strip().splitlines()) == 1

    runs = runner.invoke(app, ["results", "invoices", "-o", "json", "--workspace", str(ws)])
    assert runs.exit_code == 0, runs.output
    [row] = json.loads(runs.stdout)
    assert row["scenarios"] == "+2 approvers" and row["replications"] == 3
    shown = runner.invoke(app, ["results", "--show", row["id"], "-o", "json", "--workspace", str(ws)])
    assert shown.exit_code == 0, shown.output
    again = json.loads(shown.stdout)
    assert again["executive_summary"] == payload["executive_summary"]
    assert again["differences"] == payload["differences"]
    unknown = runner.invoke(app, ["results", "--show", "nope", "--workspace", str(ws)])
    assert unknown.exit_code == 1 and "no stored experiment run 'nope'" in unknown.output
