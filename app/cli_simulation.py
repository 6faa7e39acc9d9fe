"""The simulation commands of the `twinflow` CLI: `simulate` runs a model's as-is and scenarios for a number of
replications (on a local process pool, or on a Dask cluster) and prints KPIs with 95% confidence intervals and
the paired differences against the as-is; `scenarios` and `results` list (and export or show) what is kept in
the workspace, so a scenario built in the Scenario lab can be run at scale here and its result opened there.

app/cli.py registers them; they call simulation/ only.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal

import pandas as pd
import typer
import yaml
from pydantic import ValidationError
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from app.cli_mining import Format, Output, WorkspaceOpt, emit, err, existing_workspace, fail, out
from simulation.experiments import Experiment, ExperimentResult, run_experiment
from simulation.spec import Model, Scenario
from simulation.store import (
    forget,
    list_models,
    list_results,
    list_scenarios,
    load_model,
    load_result,
    load_scenario,
    save_model,
    save_result,
)


def _read(kind: type[Model] | type[Scenario], path: Path) -> Model | Scenario:
    """Return the model or scenario in the YAML file, or exit with a one-line error naming the file."""
    try:
        return kind.from_yaml(path.read_text(encoding="utf-8"))
    except OSError as exc:
        fail(f"{path}: {exc.strerror or exc}")
    except yaml.YAMLError as exc:
        fail(f"{path}: not valid YAML: {str(exc).splitlines()[0]}")
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        fail(f"{path}: not a valid {kind.__name__.lower()}: {where + ': ' if where else ''}{first['msg']}"
              + (f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""))
    raise AssertionError("unreachable")  # fail exits


def _tables(result: ExperimentResult) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return the summary and the differences as the command prints them."""
    summary = result.summary()[["scenario", "kpi", "mean", "half_width", "ci_low", "ci_high", "n"]]
    diff = result.differences()[["scenario", "kpi", "as_is_mean", "scenario_mean", "difference", "half_width",
                                 "ci_low", "ci_high", "relative_change", "significant", "n"]]
    return summary, diff


def _print_result(result: ExperimentResult, output: Output) -> None:
    """Print the executive summary, the KPIs with their 95% CIs and the paired differences."""
    summary, diff = _tables(result)
    if output is Output.json:
        print(json.dumps({"executive_summary": result.executive_summary(), "summary": _records(summary),
                          "differences": _records(diff), "wall_time_s": result.wall_time_s}, indent=1,
                         default=str))
    elif output is Output.csv:
        emit(pd.concat([summary.assign(table="summary"), diff.assign(table="difference")], ignore_index=True)
             [["table", *dict.fromkeys([*summary.columns, *diff.columns])]], output)
    else:
        e = result.experiment
        out.print(result.executive_summary(), highlight=False)
        emit(summary, output, title=f"{e.model.name}: KPIs, mean and 95% CI over {e.replications} replications")
        if len(diff):
            emit(diff, output, title="Paired differences against the as-is (scenario − as-is, 95% CI)")


def _stored(workspace: Path | None, name: str, process: str) -> Scenario:
    """Return the scenario kept in the workspace under `name` for `process`, or exit with a one-line error."""
    try:
        return load_scenario(existing_workspace(workspace), name, process)
    except KeyError as exc:
        fail(f"{exc.args[0]} (see `twinflow scenarios`)")
    raise AssertionError("unreachable")  # fail exits


def _list(kept: pd.DataFrame, output: Output, what: str, process: str | None, how: str) -> None:
    """Print what the workspace keeps; an empty table says how to keep something instead."""
    if kept.empty and output is Output.table:
        err.print(f"No {what} kept in the workspace" + (f" for process {process}" if process else "") + f": {how}.",
                  highlight=False)
    else:
        emit(kept, output, title=f"{what[:1].upper()}{what[1:]} kept in the workspace")


def _forget(path: Path, kind: str, name: str, process: str | None, export: str | None) -> None:
    """Remove a kept scenario or model, or exit with a one-line error."""
    if export is not None:
        fail("--forget and --export go separately")
    try:
        owner = forget(path, kind, name, process)
    except (KeyError, ValueError) as exc:
        fail(str(exc.args[0]))
    err.print(f"removed {kind} {name!r} of {owner} from {path}", highlight=False)


def _list_or_export(path: Path, process: str | None, export: str | None, out_file: Path | None, output: Output,
                    what: str, how: str, listed: Callable[..., pd.DataFrame], load: Callable[..., Model | Scenario],
                    describe: Callable[[Any], str]) -> None:
    """List what the workspace keeps of a kind (scenarios, models), or print or write one of them as YAML."""
    if export is None:
        if out_file is not None:
            fail("--out goes with --export NAME")
        _list(listed(path, process), output, what, process, how)
        return
    try:
        kept = load(path, export, process)
    except (KeyError, ValueError) as exc:
        fail(str(exc.args[0]))
    if out_file is None:
        print(kept.to_yaml(), end="")
    else:
        out_file.write_text(kept.to_yaml(), encoding="utf-8")
        err.print(f"wrote {out_file}: {describe(kept)}", highlight=False)


def _records(df: pd.DataFrame) -> list[dict]:
    return [{k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()}
            for row in df.to_dict("records")]


def simulate_command(
    model: Annotated[Path | None, typer.Argument(help="Model YAML file (e.g. from discovery); or --kept NAME.",
                                                 exists=True, dir_okay=False)] = None,
    scenario: Annotated[list[Path] | None, typer.Option(
        "--scenario", "-s", help="Scenario YAML file (repeatable); the as-is is always included.", exists=True,
        dir_okay=False)] = None,
    replications: Annotated[int, typer.Option(help="Replications per scenario.", min=1)] = 10,
    seed: Annotated[int, typer.Option(help="Seed: the same seed gives the same numbers.")] = 0,
    warmup_days: Annotated[float | None, typer.Option(help="Override the model's warm-up (days).", min=0)] = None,
    kept: Annotated[str | None, typer.Option(
        "--kept", help="A model kept in the workspace (the Scenario lab's, edits included), by name, in place of the "
                       "file; see `twinflow models`.")] = None,
    process: Annotated[str | None, typer.Option(
        "--process", help="With --kept: the process of the kept model, when its name is kept for several.")] = None,
    stored: Annotated[list[str] | None, typer.Option(
        "--stored", help="A scenario kept in the workspace (saved in the Scenario lab for the model's process), by "
                         "name (repeatable); see `twinflow scenarios`.")] = None,
    dask: Annotated[str | None, typer.Option(
        "--dask", help="Run on the Dask scheduler at this address (tcp://host:port) instead of local processes.")]
    = None,
    workers: Annotated[int | None, typer.Option(help="Local worker processes (default: CPUs).", min=1)] = None,
    output: Format = Output.table,
    save: Annotated[bool, typer.Option("--save", help="Keep the result in the workspace.")] = False,
    workspace: WorkspaceOpt = None,
) -> None:
    """Simulate a model's as-is and scenarios: KPIs with 95% confidence intervals and paired differences."""
    if (model is None) == (kept is None):
        fail("give a model file or --kept NAME (one of them)")
    if process is not None and kept is None:
        fail("--process goes with --kept NAME")
    if kept is not None:
        try:
            base = load_model(existing_workspace(workspace), kept, process)
        except (KeyError, ValueError) as exc:
            fail(f"{exc.args[0]} (see `twinflow models`)")
    else:
        base = _read(Model, model)
    scenarios = [_read(Scenario, path) for path in scenario or []]
    scenarios += [_stored(workspace, name, base.process) for name in stored or []]
    try:
        experiment = Experiment(model=base, scenarios=scenarios, replications=replications, seed=seed,
                                warmup_days=warmup_days)
    except ValidationError as exc:
        fail(exc.errors()[0]["msg"])
    if dask is not None and workers is not None:
        fail("--workers sizes the local pool; a Dask cluster has its own workers")
    total = (len(scenarios) + 1) * replications
    bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                   console=err, transient=True, disable=not err.is_terminal)
    try:
        with bar:
            task = bar.add_task("simulating", total=total)
            result = run_experiment(experiment, address=dask, workers=workers,
                                    progress=lambda done, n, message: bar.update(task, completed=done,
                                                                                 description=message))
    except ValueError as exc:  # a scenario naming an unknown activity, role or site
        fail(str(exc).splitlines()[0])
    except (OSError, TimeoutError) as exc:
        reason = str(exc).splitlines()[0].strip("'\"") if str(exc) else type(exc).__name__
        fail(f"cannot reach the Dask scheduler at {dask}: {reason}" if dask else reason)
    if save:
        from ingest import workspace_path

        run_id = save_result(workspace_path(workspace), result)
        err.print(f"saved as experiment run {run_id} in {workspace_path(workspace)}", highlight=False)
    _print_result(result, output)
    if output is Output.table:
        err.print(f"{total} runs in {result.wall_time_s:.1f} s", highlight=False)


def discover_command(
    process: Annotated[str, typer.Argument(help="Process name (see `twinflow info`).")],
    workspace: WorkspaceOpt = None,
    out_file: Annotated[Path | None, typer.Option("--out", help="Write the model YAML here (default: print it).")]
    = None,
    timezone: Annotated[str | None, typer.Option(
        help="Zone of the calendars and arrival hours (default: the cases' timezone attribute, else a zone of the "
             "daylight-saving rule the working day keeps, else UTC).")] = None,
    save: Annotated[str | None, typer.Option(
        "--save", help="Also keep the model in the workspace under this name (the Scenario lab can start from "
                       "it; see `twinflow models`).")] = None,
    start_estimation: Annotated[str, typer.Option(
        help="auto (estimate missing starts of manual steps), always or none.")] = "auto",
    delay_check: Annotated[str, typer.Option(
        "--delay-check", help="Check the hidden delays (waits of people's steps not explained by a queue) by "
                              "simulation, scaling up those whose twin waits fall clearly short of the log's: "
                              "'off' (the default: see the README), 'on', or 'auto' (when the log's own last "
                              "fifth validates better with the check).")] = "off",
) -> None:
    """Discover a simulation model of the process from the workspace's log and write it as YAML to review."""
    from simulation.training_backtest import discover_with_delay_check

    if start_estimation not in ("auto", "always", "none"):
        fail(f"--start-estimation must be auto, always or none, not {start_estimation!r}")
    checks: dict[str, bool | Literal["auto"]] = {"off": False, "on": True, "auto": "auto"}
    if delay_check not in checks:
        fail(f"--delay-check must be off, on or auto, not {delay_check!r}")
    path = existing_workspace(workspace)
    bar = Progress(TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(), console=err, transient=True,
                   disable=not err.is_terminal)
    try:
        with bar:
            task = bar.add_task("discovering", total=1.0)
            model = discover_with_delay_check(path, process, checks[delay_check], timezone=timezone,
                                              start_estimation=start_estimation,
                                              progress=lambda fraction, message: bar.update(
                                                  task, completed=fraction, description=message))
    except (ValueError, KeyError) as exc:
        fail(str(exc).splitlines()[0].strip("'\""))
    text = model.to_yaml()
    if save is not None:
        try:
            name = save_model(path, model, save)
        except ValueError as exc:
            fail(str(exc))
        err.print(f"kept as model {name!r} of {process} in {path}", highlight=False)
    if out_file is None:
        print(text, end="")
    else:
        out_file.write_text(text, encoding="utf-8")
        err.print(f"wrote {out_file}: {len(model.activities)} activities, {len(model.roles)} roles, "
                  f"{model.arrivals.cases_per_week:,.1f} cases per week", highlight=False)


def scenarios_command(
    process: Annotated[str | None, typer.Argument(help="Only the scenarios of this process.")] = None,
    export: Annotated[str | None, typer.Option(
        "--export", help="Print this scenario as YAML (to edit, or to run with `simulate --scenario`).")] = None,
    out_file: Annotated[Path | None, typer.Option("--out", help="Write the exported YAML here.")] = None,
    forget_name: Annotated[str | None, typer.Option("--forget", help="Remove this scenario from the workspace.")]
    = None,
    output: Format = Output.table,
    workspace: WorkspaceOpt = None,
) -> None:
    """List the scenarios kept in the workspace, export one as YAML, or remove one."""
    if forget_name is not None:
        _forget(existing_workspace(workspace), "scenario", forget_name, process, export)
        return
    _list_or_export(existing_workspace(workspace), process, export, out_file, output, "scenarios",
                    "save one in the Scenario lab", list_scenarios, load_scenario,
                    lambda s: f"scenario {s.name!r}, {len(s.changes)} changes")


def models_command(
    process: Annotated[str | None, typer.Argument(help="Only the models of this process.")] = None,
    export: Annotated[str | None, typer.Option(
        "--export", help="Print this model as YAML (to edit, or to run with `simulate`).")] = None,
    out_file: Annotated[Path | None, typer.Option("--out", help="Write the exported YAML here.")] = None,
    keep: Annotated[Path | None, typer.Option(
        "--keep", help="Keep this model YAML file (edited elsewhere) in the workspace, under its name or --name.",
        exists=True, dir_okay=False)] = None,
    name: Annotated[str | None, typer.Option("--name", help="The name to keep the --keep file under.")] = None,
    forget_name: Annotated[str | None, typer.Option("--forget", help="Remove this model from the workspace.")]
    = None,
    output: Format = Output.table,
    workspace: WorkspaceOpt = None,
) -> None:
    """List the models kept in the workspace (with what a person edited in them), export one as YAML, or keep a
    model file in it."""
    path = existing_workspace(workspace)
    if forget_name is not None:
        if keep is not None:
            fail("--forget and --keep go separately")
        _forget(path, "model", forget_name, process, export)
        return
    if keep is not None:
        if export is not None:
            fail("--keep and --export go separately")
        model = _read(Model, keep)
        try:
            kept = save_model(path, model, name)
        except ValueError as exc:
            fail(str(exc))
        err.print(f"kept {keep} as model {kept!r} of {model.process} in {path}", highlight=False)
        return
    if name is not None:
        fail("--name goes with --keep FILE")
    _list_or_export(path, process, export, out_file, output, "models",
                    "`twinflow discover PROCESS --save NAME` or the Scenario lab's save button keeps one",
                    list_models, load_model,
                    lambda m: f"model {export!r} of {m.process}, {len(m.activities)} activities")


def results_command(
    process: Annotated[str | None, typer.Argument(help="Only the runs of this process.")] = None,
    show: Annotated[str | None, typer.Option(
        "--show", help="Print this run's executive summary, KPIs and differences (its id from the list).")] = None,
    output: Format = Output.table,
    workspace: WorkspaceOpt = None,
) -> None:
    """List the experiment runs kept in the workspace, newest first, or show one."""
    path = existing_workspace(workspace)
    if show is None:
        _list(list_results(path, process), output, "experiment runs", process,
              "`twinflow simulate --save` or the Scenario lab's save button keeps one")
        return
    try:
        result = load_result(path, show)
    except KeyError as exc:
        fail(f"{exc.args[0]} (see `twinflow results`)")
    _print_result(result, output)


COMMANDS = {"simulate": simulate_command, "discover": discover_command, "scenarios": scenarios_command,
            "models": models_command, "results": results_command}


def register(cli: typer.Typer) -> None:
    """Add the simulation commands to the `twinflow` command line."""
    for name, command in COMMANDS.items():
        cli.command(name)(command)
