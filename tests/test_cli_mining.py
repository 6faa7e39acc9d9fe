"""The mining commands of the CLI, run in-process on the hand-made bottleneck log."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli import cli
from tests.conftest import csv_workspace
from tests.test_bottlenecks import LOG_CSV

runner = CliRunner()


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(csv_workspace(tmp_path_factory.mktemp("cli_mining"), LOG_CSV, case_attributes=["due_date"]))


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize("command", ["map", "variants", "bottlenecks", "rework", "kpis", "compliance", "automation",
                                     "conformance"])
def test_help(command):
    code, stdout, _ = run(command, "--help")
    assert code == 0 and "--site" in stdout and "--with" in stdout


def test_bottlenecks_prints_findings_and_rankings(ws):
    code, stdout, _ = run("bottlenecks", "p", "-w", ws, "--min-events", "1")
    assert code == 0
    assert "1. Approve at S1 (88% of this step's waiting" in stdout
    code, stdout, _ = run("bottlenecks", "p", "-w", ws, "--by", "resources", "-o", "json", "--min-events", "1")
    assert code == 0
    rows = json.loads(stdout)
    assert [r["resource"] for r in rows] == ["X", "Y"]
    code, stdout, _ = run("bottlenecks", "p", "-w", ws, "--by", "resources", "-o", "json", "--site", "S2",
                          "--min-events", "1")
    assert [r["resource"] for r in json.loads(stdout)] == ["Y"]


def test_rework_variants_and_kpis_as_csv_and_json(ws, tmp_path: Path):
    code, stdout, _ = run("variants", "p", "-w", ws, "-o", "csv")
    assert code == 0 and stdout.splitlines()[0].startswith("variant_id,") and len(stdout.splitlines()) == 2
    code, stdout, _ = run("rework", "p", "-w", ws, "-o", "csv")
    assert code == 0 and stdout.splitlines() == ["activity,kind,cases,share,events"]
    out = tmp_path / "kpis.json"
    code, _, _ = run("kpis", "p", "-w", ws, "-o", "json", "--out", str(out), "--with", "Approve")
    assert code == 0
    kpis = {r["kpi"]: r for r in json.loads(out.read_text())}
    assert kpis["cycle time (median)"]["cases"] == 4


def test_automation_ranks_activities(ws):
    code, stdout, _ = run("automation", "p", "-w", ws, "-o", "json")
    assert code == 0
    rows = json.loads(stdout)
    assert {r["activity"] for r in rows} == {"Receive", "Approve", "Pay"}
    assert [r["rank"] for r in rows] == [1, 2, 3]
    assert next(r for r in rows if r["activity"] == "Pay")["control_class"] == "financial"


def test_conformance_of_every_case(ws, tmp_path: Path):
    code, stdout, _ = run("conformance", "p", "-w", ws, "--cases", "-o", "json")
    assert code == 0
    assert sorted(r["case_id"] for r in json.loads(stdout)) == ["c1", "c2", "c3", "c4"]
    code, stdout, _ = run("conformance", "p", "-w", ws)
    assert code == 0 and "4 cases, mean fitness 1.0000, 100.0% fit" in stdout
    bad = tmp_path / "model.bpmn"
    bad.write_text("<not a model/>")
    code, _, stderr = run("conformance", "p", "-w", ws, "--model", str(bad))
    assert code == 1 and len(stderr.strip().splitlines()) == 1


def test_map_exports_dot_svg_and_png(ws, tmp_path: Path):
    code, stdout, _ = run("map", "p", "-w", ws)
    assert code == 0 and stdout.startswith("digraph process_map {")
    code, _, _ = run("map", "p", "-w", ws, "--format", "svg", "--out", str(tmp_path / "m.svg"), "--metric",
                     "median_wait")
    assert code == 0 and "<svg" in (tmp_path / "m.svg").read_text()
    code, _, _ = run("map", "p", "-w", ws, "--format", "png", "--out", str(tmp_path / "m.png"))
    assert code == 0 and (tmp_path / "m.png").read_bytes().startswith(b"\x89PNG")


@pytest.mark.parametrize(("args", "message"), [
    (["variants", "nope"], "no process 'nope'"),
    (["variants", "p", "--attr", "site"], "--attr takes KEY=VALUE"),
    (["variants", "p", "--from", "2024-02-01", "--to", "2024-01-01"], "time_from must be before time_to"),
    (["map", "p", "--format", "png"], "PNG is binary"),
    (["map", "p", "--format", "pdf"], "--format must be dot, svg or png"),
    (["map", "p", "--metric", "colour"], "metric"),
    (["bottlenecks", "p", "--by", "people"], "--by must be"),
    (["compliance", "p"], "no compliance rules are configured for 'p'"),
])
def test_bad_options_give_one_line_errors(ws, args, message):
    code, stdout, stderr = run(*args, "-w", ws)
    assert code == 1
    assert message in stderr and len(stderr.strip().splitlines()) == 1 and stdout == ""


def test_missing_workspace(tmp_path: Path):
    code, _, stderr = run("kpis", "p", "-w", str(tmp_path / "none.duckdb"))
    assert code == 1 and "no workspace at" in stderr
