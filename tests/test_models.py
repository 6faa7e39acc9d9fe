"""Discovered models: variant-based discovery and replay equal pm4py's on the full, correctly sorted log; a
sequential process fits perfectly; BPMN XML and DOT text hold the activities; the page runs."""

from __future__ import annotations

import sys
import warnings
import xml.etree.ElementTree as ET
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from ingest import ImportOptions, connect, import_file
from ingest.demo import process_name
from mining import Filters
from mining.models import bpmn_xml, discover_model, model_dot, variant_counter, variant_log
from tests.conftest import REAL_LOGS, import_shipped, write_csv

sys._pm4py_welcome_shown = True  # pm4py prints a banner on import otherwise
import pm4py  # noqa: E402

REAL = ["receipt_wabo.csv.gz", "helpdesk.xes.gz"]
CASE, ACT, TS = "case:concept:name", "concept:name", "time:timestamp"
PAGE = Path(__file__).resolve().parents[1] / "app" / "views" / "models.py"


@pytest.fixture(scope="module")
def real_con(tmp_path_factory):
    path = tmp_path_factory.mktemp("models") / "ws.duckdb"
    con = connect(path)
    import_shipped(con, REAL)
    yield con
    con.close()


def full_log(con, process: str) -> pd.DataFrame:
    """The process's events as a pm4py frame, sorted in the workspace's event order."""
    df = con.execute("""
        SELECT case_id, activity, end_time FROM events WHERE process = ?
        ORDER BY case_id, end_time, start_time, event_id
    """, [process]).df()
    return df.rename(columns={"case_id": CASE, "activity": ACT, "end_time": TS})


@pytest.mark.parametrize("algorithm", ["inductive", "heuristics"])
@pytest.mark.parametrize("name", REAL)
def test_variant_based_equals_pm4py_on_full_log(real_con, name, algorithm):
    process = process_name(REAL_LOGS / name)
    log = full_log(real_con, process)
    model = discover_model(real_con, Filters(process=process), algorithm, noise_threshold=0.2,
                           dependency_threshold=0.5)
    assert model.cases == log[CASE].nunique()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if algorithm == "inductive":
            tree = pm4py.discover_process_tree_inductive(log, noise_threshold=0.2)
            assert str(model.process_tree) == str(tree)
        else:
            net, _, _ = pm4py.discover_petri_net_heuristics(log, dependency_threshold=0.5)
            assert sorted(str(t.label) for t in model.net.transitions) == sorted(str(t.label) for t in net.transitions)
            assert (len(model.net.places), len(model.net.arcs)) == (len(net.places), len(net.arcs))
        fitness = pm4py.fitness_token_based_replay(log, model.net, model.im, model.fm)
        precision = pm4py.precision_token_based_replay(log, model.net, model.im, model.fm)
    assert model.fitness == pytest.approx(fitness["log_fitness"], abs=1e-9)
    assert model.fitting_traces_pct == pytest.approx(fitness["percentage_of_fitting_traces"], abs=1e-9)
    assert model.precision == pytest.approx(precision, abs=1e-9)
    assert 0 < model.fitness <= 1 and 0 < model.precision <= 1

    xml = bpmn_xml(model)
    names = {e.get("name") for e in ET.fromstring(xml).iter() if e.get("name")}
    assert set(model.activities) <= names
    for kind in ("bpmn", "petri"):
        dot = model_dot(model, kind)
        assert dot.lstrip().startswith("digraph")
        assert all(a in dot for a in model.activities)


def test_variant_log_is_one_row_per_variant(real_con):
    process = process_name(REAL_LOGS / REAL[1])
    var = variant_log(real_con, Filters(process=process))
    assert list(var.columns) == ["variant_id", "activities", "cases"]
    assert var.variant_id.is_unique
    assert dict(variant_counter(var)) == dict(pm4py.get_variants(full_log(real_con, process)))


def sequential_workspace(tmp_path: Path) -> Path:
    """Forty cases of Register -> Check -> Approve -> Pay, in shuffled row order."""
    rows = [{"case_id": f"c{i:02d}", "activity": a, "timestamp": f"2024-01-{1 + i % 28:02d} {9 + j:02d}:00:00"}
            for i in range(40) for j, a in enumerate(["Register", "Check", "Approve", "Pay"])]
    rows = rows[1::2] + rows[::2]
    path = tmp_path / "seq.duckdb"
    import_file(write_csv(tmp_path / "seq.csv", rows), ImportOptions(process="seq"), workspace=path)
    return path


@pytest.mark.parametrize("algorithm", ["inductive", "heuristics"])
def test_sequential_process_fits_perfectly(tmp_path, algorithm):
    con = connect(sequential_workspace(tmp_path))
    try:
        model = discover_model(con, Filters(process="seq"), algorithm)
    finally:
        con.close()
    assert (model.cases, model.variants) == (40, 1)
    assert model.fitness == 1.0 and model.fitting_traces_pct == 100.0 and model.precision == 1.0
    assert set(model.activities) == {"Register", "Check", "Approve", "Pay"}


def test_no_cases_is_an_error(tmp_path):
    con = connect(sequential_workspace(tmp_path))
    try:
        with pytest.raises(ValueError, match="no cases"):
            discover_model(con, Filters(process="seq", activities_present=["nope"]))
    finally:
        con.close()


def test_page_runs(tmp_path, monkeypatch):
    monkeypatch.setenv("TWINFLOW_WORKSPACE", str(sequential_workspace(tmp_path)))
    at = AppTest.from_file(str(PAGE), default_timeout=60).run()
    assert not at.exception
    assert at.title[0].value == "Discovered model"
    assert at.get("graphviz_chart")
    metrics = {m.label: m.value for m in at.metric}
    assert metrics == {"Fitness": "1.000", "Fitting cases": "100.0%", "Precision": "1.000"}
    at.radio(key="dm_algorithm").set_value("Heuristics miner").run()
    at.radio(key="dm_view").set_value("Petri net").run()
    assert not at.exception
    assert at.get("graphviz_chart")
    assert "Pay" in at.get("graphviz_chart")[0].proto.spec
