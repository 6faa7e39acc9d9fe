"""Scenarios, models and experiment results kept in the workspace, in the tables `scenarios(name, process, yaml,
saved_at)`, `models(name, process, yaml, saved_at)` and `experiment_runs(id, process, created_at, experiment_yaml,
results_json)` of the workspace schema (ingest/migrations.py, versions 2 and 3). A stored result loads back with
the same statistics to the last digit, a stored model equal to the one saved.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from os import PathLike
from typing import Any

import duckdb
import pandas as pd
import yaml

from simulation.experiments import Experiment, ExperimentResult
from simulation.model_edits import EDITS_NOTE
from simulation.spec import Model, Scenario

Workspace = str | PathLike | duckdb.DuckDBPyConnection | None


def _open(workspace: Workspace) -> tuple[duckdb.DuckDBPyConnection, bool]:
    if isinstance(workspace, duckdb.DuckDBPyConnection):
        return workspace, False
    from ingest.workspace import connect

    return connect(workspace), True


def _write(workspace: Workspace, statements: list[tuple[str, list[Any]]]) -> None:
    """Run the statements in one transaction."""
    con, own = _open(workspace)
    try:
        con.execute("BEGIN TRANSACTION")
        try:
            for sql, params in statements:
                con.execute(sql, params)
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    finally:
        if own:
            con.close()


def _read(workspace: Workspace, table: str, sql: str, params: list[Any]) -> pd.DataFrame | None:
    """Return the query's result, or None when the workspace does not have the table yet."""
    con, own = _open(workspace)
    try:
        known = con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = ? "
                            "AND table_schema = current_schema()", [table]).fetchall()[0][0]
        return con.execute(sql, params).df() if known else None
    finally:
        if own:
            con.close()


def save_scenario(workspace: Workspace, scenario: Scenario, process: str = "") -> Scenario:
    """Store the scenario under (process, its name), replacing one stored before, and return it."""
    now = datetime.now(UTC)
    _write(workspace, [("DELETE FROM scenarios WHERE process = ? AND name = ?", [process, scenario.name]),
                       ("INSERT INTO scenarios VALUES (?, ?, ?, ?)", [scenario.name, process, scenario.to_yaml(),
                                                                      now])])
    return scenario


def list_scenarios(workspace: Workspace, process: str | None = None) -> pd.DataFrame:
    """Return the stored scenarios (name, process, description, changes: their number, what: each change in
    words, saved_at), of one process if given."""
    where, params = ("WHERE process = ?", [process]) if process is not None else ("", [])
    df = _read(workspace, "scenarios", f"SELECT name, process, yaml, saved_at FROM scenarios {where} "
                                       "ORDER BY process, name", params)
    if df is None or df.empty:
        return pd.DataFrame(columns=["name", "process", "description", "changes", "what", "saved_at"])
    parsed = [Scenario.from_yaml(y) for y in df["yaml"]]
    df["description"] = [s.description for s in parsed]
    df["changes"] = [len(s.changes) for s in parsed]
    df["what"] = ["; ".join(c.describe() for c in s.changes) for s in parsed]
    return df[["name", "process", "description", "changes", "what", "saved_at"]]


def load_scenario(workspace: Workspace, name: str, process: str | None = None) -> Scenario:
    """Return the stored scenario called `name` (of `process`; any process when None and the name is unique)."""
    return Scenario.from_yaml(_stored_yaml(workspace, "scenarios", "scenario", name, process))


def _stored_yaml(workspace: Workspace, table: str, what: str, name: str, process: str | None) -> str:
    """Return the YAML stored in `table` under `name` (of `process`; any process when None and the name is
    unique); KeyError when there is none, ValueError when the name is stored for several processes."""
    where, params = ("AND process = ?", [name, process]) if process is not None else ("", [name])
    df = _read(workspace, table, f"SELECT process, yaml FROM {table} WHERE name = ? {where}", params)
    if df is None or df.empty:
        raise KeyError(f"no stored {what} {name!r}" + (f" of process {process!r}" if process is not None else ""))
    if len(df) > 1:
        raise ValueError(f"{what} {name!r} is stored for several processes ({', '.join(df['process'])}): "
                         "name the process")
    return df["yaml"].iloc[0]


def save_model(workspace: Workspace, model: Model, name: str | None = None) -> str:
    """Store the model under (its process, `name`: its own name when None), replacing one stored before, and
    return the name."""
    name = (model.name if name is None else name).strip()
    if not name:
        raise ValueError("give the model a name to keep it under")
    _write(workspace, [("DELETE FROM models WHERE process = ? AND name = ?", [model.process, name]),
                       ("INSERT INTO models VALUES (?, ?, ?, ?)", [name, model.process, model.to_yaml(),
                                                                   datetime.now(UTC)])])
    return name


def list_models(workspace: Workspace, process: str | None = None) -> pd.DataFrame:
    """Return the stored models (name, process, edits: what a person changed after discovery, in words; saved_at),
    of one process if given."""
    where, params = ("WHERE process = ?", [process]) if process is not None else ("", [])
    df = _read(workspace, "models", f"SELECT name, process, yaml, saved_at FROM models {where} "
                                    "ORDER BY process, name", params)
    if df is None or df.empty:
        return pd.DataFrame(columns=["name", "process", "edits", "saved_at"])
    # The notes alone, read as plain YAML: the page lists kept models at every rerun, and validating each whole
    # model there would be work for nothing.
    df["edits"] = [(yaml.safe_load(y).get("notes") or {}).get(EDITS_NOTE, "") for y in df["yaml"]]
    return df[["name", "process", "edits", "saved_at"]]


def load_model(workspace: Workspace, name: str, process: str | None = None) -> Model:
    """Return the stored model called `name` (of `process`; any process when None and the name is unique)."""
    return Model.from_yaml(_stored_yaml(workspace, "models", "model", name, process))


def forget(workspace: Workspace, kind: str, name: str, process: str | None = None) -> str:
    """Remove the stored scenario or model (`kind`) called `name` (of `process`; any process when None and the
    name is unique) and return its process; KeyError when there is none, ValueError when the name is kept for
    several processes and none is given."""
    table = {"scenario": "scenarios", "model": "models"}[kind]
    _stored_yaml(workspace, table, kind, name, process)  # raises for a missing or ambiguous name
    if process is None:
        process = _read(workspace, table, f"SELECT process FROM {table} WHERE name = ?", [name])["process"].iloc[0]
    _write(workspace, [(f"DELETE FROM {table} WHERE name = ? AND process = ?", [name, process])])
    return process


def _result_json(result: ExperimentResult) -> str:
    # Floats go out as repr and come back identical, so a loaded result gives the same statistics.
    return json.dumps({
        "wall_time_s": result.wall_time_s,
        "kpis": {c: result.kpis[c].tolist() for c in result.kpis.columns},
        "cycle_times": {c: result.cycle_times[c].tolist() for c in result.cycle_times.columns},
        "waiting": {c: result.waiting[c].tolist() for c in result.waiting.columns},
    }, allow_nan=True)


def save_result(workspace: Workspace, result: ExperimentResult) -> str:
    """Store the experiment and its results and return the id they are stored under."""
    run_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%S-") + uuid.uuid4().hex[:8]
    _write(workspace, [("INSERT INTO experiment_runs VALUES (?, ?, ?, ?, ?)",
                        [run_id, result.experiment.model.process, datetime.now(UTC), result.experiment.to_yaml(),
                         _result_json(result)])])
    return run_id


def list_results(workspace: Workspace, process: str | None = None) -> pd.DataFrame:
    """Return the stored experiment runs (id, process, created_at, model, scenarios, replications), newest first."""
    where, params = ("WHERE process = ?", [process]) if process is not None else ("", [])
    df = _read(workspace, "experiment_runs", f"SELECT id, process, created_at, experiment_yaml FROM experiment_runs "
                                             f"{where} ORDER BY created_at DESC, id DESC", params)
    columns = ["id", "process", "created_at", "model", "scenarios", "replications"]
    if df is None or df.empty:
        return pd.DataFrame(columns=columns)
    parsed = [yaml.safe_load(y) for y in df["experiment_yaml"]]
    df["model"] = [p["model"]["name"] for p in parsed]
    df["scenarios"] = [", ".join(s["name"] for s in p.get("scenarios", [])) for p in parsed]
    df["replications"] = [p.get("replications", 10) for p in parsed]
    return df[columns]


def load_result(workspace: Workspace, run_id: str) -> ExperimentResult:
    """Return the stored experiment result with this id."""
    df = _read(workspace, "experiment_runs", "SELECT experiment_yaml, results_json FROM experiment_runs WHERE id = ?",
               [run_id])
    if df is None or df.empty:
        raise KeyError(f"no stored experiment run {run_id!r}")
    data = json.loads(df["results_json"].iloc[0])
    cycle = pd.DataFrame(data["cycle_times"], columns=["scenario", "replication", "cycle_time_h"])
    return ExperimentResult(
        experiment=Experiment.from_yaml(df["experiment_yaml"].iloc[0]),
        kpis=pd.DataFrame(data["kpis"], columns=["scenario", "replication", "kpi", "value"]).astype(
            {"replication": "int64", "value": "float64"}),
        cycle_times=cycle.astype({"replication": "int64", "cycle_time_h": "float64"}),
        waiting=pd.DataFrame(data["waiting"], columns=["scenario", "replication", "activity", "events",
                                                       "waiting_h"]).astype(
            {"replication": "int64", "events": "int64", "waiting_h": "float64"}),
        wall_time_s=float(data["wall_time_s"]),
    )
