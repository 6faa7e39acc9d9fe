"""`twinflow discover`: a reviewable model YAML from the workspace's log, and one-line errors."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli import cli
from simulation.spec import Model
from tests.conftest import csv_workspace


def register_log(tmp_path: Path, cases: int, approve: bool = True) -> Path:
    """Return a workspace of process p: a case every 7 hours registered by ann (clerk), approved by bob."""
    start = datetime(2024, 1, 1, 8, 0)
    rows = ["case_id,activity,start_time,end_time,resource,role"]
    for i in range(cases):
        t = start + timedelta(hours=7 * i)
        rows.append(f"c{i},Register,{t},{t + timedelta(minutes=10)},ann,clerk")
        if approve:
            rows.append(f"c{i},Approve,{t + timedelta(hours=2)},{t + timedelta(hours=2, minutes=5)},bob,manager")
    return csv_workspace(tmp_path, "\n".join(rows) + "\n")


def test_discover_writes_a_valid_model(tmp_path: Path):
    ws = register_log(tmp_path, 60)
    out = tmp_path / "model.yaml"
    result = CliRunner().invoke(cli, ["discover", "p", "-w", str(ws), "--out", str(out)])
    assert result.exit_code == 0, result.stderr
    model = Model.load(out)
    assert model.process == "p"
    assert {a.name for a in model.activities} == {"Register", "Approve"}
    assert model.arrivals.cases_per_week == pytest.approx(24, rel=0.1)
    printed = CliRunner().invoke(cli, ["discover", "p", "-w", str(ws)])
    assert printed.exit_code == 0 and Model.from_yaml(printed.stdout) == model, "deterministic"
    bad = CliRunner().invoke(cli, ["discover", "nope", "-w", str(ws)])
    assert bad.exit_code == 1 and "nope" in bad.stderr and len(bad.stderr.strip().splitlines()) == 1
    wrong = CliRunner().invoke(cli, ["discover", "p", "-w", str(ws), "--start-estimation", "maybe"])
    assert wrong.exit_code == 1 and "--start-estimation" in wrong.stderr



def test_a_discovered_model_is_kept_in_the_workspace_listed_and_exported(tmp_path: Path):
    ws = register_log(tmp_path, 40, approve=False)
    runner = CliRunner()
    empty = runner.invoke(cli, ["models", "-w", str(ws)])
    assert empty.exit_code == 0 and "No models kept in the workspace" in empty.stderr
    kept = runner.invoke(cli, ["discover", "p", "-w", str(ws), "--save", "as discovered", "--out",
                               str(tmp_path / "m.yaml")])
    assert kept.exit_code == 0, kept.stderr
    assert "kept as model 'as discovered' of p" in kept.stderr
    listed = runner.invoke(cli, ["models", "p", "-o", "json", "-w", str(ws)])
    assert listed.exit_code == 0, listed.stderr
    [row] = json.loads(listed.stdout)
    assert row["name"] == "as discovered" and row["process"] == "p" and row["edits"] == ""
    out = tmp_path / "exported.yaml"
    exported = runner.invoke(cli, ["models", "--export", "as discovered", "--out", str(out), "-w", str(ws)])
    assert exported.exit_code == 0 and Model.load(out) == Model.load(tmp_path / "m.yaml")
    missing = runner.invoke(cli, ["models", "--export", "nope", "-w", str(ws)])
    assert missing.exit_code == 1 and "no stored model 'nope'" in missing.stderr
    blank = runner.invoke(cli, ["discover", "p", "-w", str(ws), "--save", " "])
    assert blank.exit_code == 1 and "give the model a name" in blank.stderr
    # A model edited elsewhere (a text editor, a script) is kept too, under its own name or another.
    edited = Model.load(out).model_copy(update={"name": "two clerks"})
    edited = edited.model_copy(update={"roles": [r.model_copy(update={"headcount": 2}) for r in edited.roles]})
    edited.save(tmp_path / "edited.yaml")
    kept = runner.invoke(cli, ["models", "--keep", str(tmp_path / "edited.yaml"), "-w", str(ws)])
    assert kept.exit_code == 0 and "as model 'two clerks' of p" in kept.stderr, kept.stderr
    renamed = runner.invoke(cli, ["models", "--keep", str(tmp_path / "edited.yaml"), "--name", "b", "-w", str(ws)])
    assert renamed.exit_code == 0, renamed.stderr
    listed = json.loads(runner.invoke(cli, ["models", "p", "-o", "json", "-w", str(ws)]).stdout)
    assert [r["name"] for r in listed] == ["as discovered", "b", "two clerks"]
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: [1\n", encoding="utf-8")
    bad = runner.invoke(cli, ["models", "--keep", str(broken), "-w", str(ws)])
    assert bad.exit_code == 1 and "broken.yaml: not valid YAML" in bad.stderr
    alone = runner.invoke(cli, ["models", "--name", "x", "-w", str(ws)])
    assert alone.exit_code == 1 and "--name goes with --keep FILE" in alone.stderr


def test_a_kept_model_is_simulated_from_the_command_line(tmp_path: Path):
    ws = register_log(tmp_path, 60)
    runner = CliRunner()
    assert runner.invoke(cli, ["discover", "p", "-w", str(ws), "--save", "as-is"]).exit_code == 0
    ran = runner.invoke(cli, ["simulate", "--kept", "as-is", "--replications", "2", "--workers", "1", "-o", "json",
                              "-w", str(ws)])
    assert ran.exit_code == 0, ran.stderr
    summary = json.loads(ran.stdout)["summary"]
    assert {r["scenario"] for r in summary} == {"as-is"} and any(r["kpi"] == "cases" and r["mean"] > 0
                                                                for r in summary)
    neither = runner.invoke(cli, ["simulate", "-w", str(ws)])
    assert neither.exit_code == 1 and "give a model file or --kept NAME" in neither.stderr
    missing = runner.invoke(cli, ["simulate", "--kept", "nope", "-w", str(ws)])
    assert missing.exit_code == 1 and "no stored model 'nope' (see `twinflow models`)" in missing.stderr
    assert runner.invoke(cli, ["models", "--export", "as-is", "--out", str(tmp_path / "m.yaml"), "-w",
                               str(ws)]).exit_code == 0
    stray = runner.invoke(cli, ["simulate", str(tmp_path / "m.yaml"), "--process", "p", "-w", str(ws)])
    assert stray.exit_code == 1 and "--process goes with --kept NAME" in stray.stderr
    both = runner.invoke(cli, ["simulate", str(tmp_path / "m.yaml"), "--kept", "as-is", "-w", str(ws)])
    assert both.exit_code == 1 and "one of them" in both.stderr


def test_a_kept_model_or_scenario_is_forgotten(tmp_path: Path):
    from simulation.spec import Scenario, Staffing
    from simulation.store import list_models, list_scenarios, save_scenario

    ws = register_log(tmp_path, 40, approve=False)
    runner = CliRunner()
    # The same name kept for two processes: p's as discovered, and a copy for process q.
    assert runner.invoke(cli, ["discover", "p", "-w", str(ws), "--save", "base", "--out",
                               str(tmp_path / "m.yaml")]).exit_code == 0
    Model.load(tmp_path / "m.yaml").model_copy(update={"process": "q"}).save(tmp_path / "q.yaml")
    assert runner.invoke(cli, ["models", "--keep", str(tmp_path / "q.yaml"), "--name", "base", "-w",
                               str(ws)]).exit_code == 0
    save_scenario(ws, Scenario(name="more", changes=[Staffing(role="clerk", headcount=2)]), process="p")
    both = runner.invoke(cli, ["models", "--forget", "base", "-w", str(ws)])
    assert both.exit_code == 1 and "stored for several processes" in both.stderr
    gone = runner.invoke(cli, ["models", "q", "--forget", "base", "-w", str(ws)])
    assert gone.exit_code == 0 and "removed model 'base' of q" in gone.stderr, gone.stderr
    assert list_models(ws)[["name", "process"]].values.tolist() == [["base", "p"]]
    again = runner.invoke(cli, ["models", "q", "--forget", "base", "-w", str(ws)])
    assert again.exit_code == 1 and "no stored model 'base' of process 'q'" in again.stderr
    scenario = runner.invoke(cli, ["scenarios", "--forget", "more", "-w", str(ws)])
    assert scenario.exit_code == 0 and "removed scenario 'more' of p" in scenario.stderr
    assert list_scenarios(ws).empty
