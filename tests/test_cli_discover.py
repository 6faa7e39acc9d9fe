"""`twinflow discover`: a reviewable model YAML from the workspace's log, and one-line errors."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli import cli
from simulation.spec import Model
from tests.conftest import csv_workspace


def test_discover_writes_a_valid_model(tmp_path: Path):
    start = datetime(2024, 1, 1, 8, 0)
    rows = ["case_id,activity,start_time,end_time,resource,role"]
    for i in range(60):
        t = start + timedelta(hours=7 * i)
        rows.append(f"c{i},Register,{t},{t + timedelta(minutes=10)},ann,clerk")
        rows.append(f"c{i},Approve,{t + timedelta(hours=2)},{t + timedelta(hours=2, minutes=5)},bob,manager")
    ws = csv_workspace(tmp_path, "\n".join(rows) + "\n")
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

