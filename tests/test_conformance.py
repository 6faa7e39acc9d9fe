"""Conformance: per-case fitness equals pm4py's (alignments and token replay) on real logs and on a hand-made log
with known deviations; fitting variants skip the alignment exactly; row order, filters, a process pool, pm4py's
fallback aligner and models read from files leave the results as they should."""

from __future__ import annotations

import random
import sys
import warnings
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest

from ingest import connect
from ingest.demo import process_name
from mining import Filters
from mining import conformance as conf
from mining.conformance import PetriModel, conformance, model_from_file, reference_model
from mining.models import bpmn_xml, discover_from_variants, variant_counter, variant_log
from tests.conftest import REAL_LOGS, csv_workspace, import_shipped

sys._pm4py_welcome_shown = True  # pm4py prints a banner on import otherwise
import pm4py  # noqa: E402

# Small enough for pm4py to align the whole log in a few seconds (receipt_wabo takes about a minute).
REAL = ["helpdesk.xes.gz", "academic_credentials.csv.gz"]
CASE, ACT, TS = "case:concept:name", "concept:name", "time:timestamp"
HAPPY = ["Register", "Check", "Approve", "Pay"]


@pytest.fixture(scope="module")
def real_con(tmp_path_factory):
    con = connect(tmp_path_factory.mktemp("conformance") / "ws.duckdb")
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


def pm4py_per_case(log: pd.DataFrame, model, method: str) -> dict[str, float]:
    """pm4py's per-case fitness on the full log: its results come in the order of a groupby on the case id."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if method == "alignments":
            out = pm4py.conformance_diagnostics_alignments(log, model.net, model.im, model.fm, show_progress_bar=False)
            key = "fitness"
        else:
            out = pm4py.conformance_diagnostics_token_based_replay(
                log, model.net, model.im, model.fm, opt_parameters={"show_progress_bar": False})
            key = "trace_fitness"
    ids = log.groupby(CASE, sort=True).size().index
    return {c: r[key] for c, r in zip(ids, out, strict=True)}


@pytest.mark.parametrize("name", REAL)
def test_per_case_fitness_equals_pm4py_on_real_logs(real_con, name):
    process = process_name(REAL_LOGS / name)
    filters = Filters(process=process)
    model = reference_model(real_con, filters, noise=0.2)
    log = full_log(real_con, process)
    # The variants (ids, sequences, case counts) are those of the variants view.
    expected = variant_log(real_con, filters)
    got = conformance(real_con, filters, model, "alignments").variants
    assert dict(zip(got.variant_id, got.cases, strict=True)) == dict(zip(expected.variant_id, expected.cases,
                                                                         strict=True))
    assert variant_counter(got) == variant_counter(expected)
    for method in ("alignments", "token_replay"):
        result = conformance(real_con, filters, model, method)
        ours = dict(zip(result.cases.case_id, result.cases.fitness, strict=True))
        theirs = pm4py_per_case(log, model, method)
        assert ours == theirs  # exact, for every case
        assert list(result.cases.case_id) == sorted(theirs)
        assert result.fitness == pytest.approx(sum(theirs.values()) / len(theirs), abs=1e-12)
        assert 0 < result.fit_share < 1
        # Every deviation lists exactly the cases of the variants that show it.
        var = result.variants.set_index("variant_id")
        for row in result.deviations.itertuples():
            with_it = [v for v, d in var.deviations.items() if row.deviation in d]
            expected = sorted(result.cases.case_id[result.cases.variant_id.isin(with_it)])
            assert list(row.case_ids) == expected and row.cases == len(expected)
    assert model.fitness == pytest.approx(conformance(real_con, filters, model).extra["log_fitness"], abs=1e-12)


@pytest.mark.parametrize("name", REAL)
def test_fitting_variants_need_no_alignment(real_con, name):
    """The shortcut is exact: a variant that replays has alignment fitness 1.0, and only those have."""
    process = process_name(REAL_LOGS / name)
    model = reference_model(real_con, Filters(process=process))
    result = conformance(real_con, Filters(process=process), model, "alignments")
    aligner = conf._Aligner(model.net, model.im, model.fm)
    traces = [tuple(a) for a in result.variants.activities]
    full = [aligner.fitness(aligner.align(t)[0], len(t)) for t in traces]
    skipped = ~result.variants.aligned
    assert skipped.any() and result.variants.aligned.any()
    assert [f == 1.0 for f in full] == list(skipped)
    assert list(result.variants.fitness) == full


def test_pool_plain_search_and_pm4py_fallback_give_identical_results(real_con, monkeypatch):
    process = process_name(REAL_LOGS / REAL[1])
    filters = Filters(process=process)
    model = reference_model(real_con, filters)
    alone = conformance(real_con, filters, model, "alignments", workers=1)
    pooled = conformance(real_con, filters, model, "alignments", workers=2)
    pd.testing.assert_frame_equal(alone.cases, pooled.cases)
    pd.testing.assert_frame_equal(alone.variants, pooled.variants)
    # Without the precomputed bound the search is plain Dijkstra: the same optimum.
    monkeypatch.setattr(conf, "HEURISTIC_MARKINGS", 0)
    plain = conformance(real_con, filters, model, "alignments", workers=1)
    pd.testing.assert_frame_equal(alone.cases, plain.cases)
    assert list(alone.variants.cost) == list(plain.variants.cost)
    # A model too large for the exact search goes to pm4py's aligner: same fitness and cost.
    monkeypatch.setattr(conf, "MAX_MARKINGS", 0)
    fallback = conformance(real_con, filters, model, "alignments", workers=1)
    pd.testing.assert_frame_equal(alone.cases, fallback.cases)
    aligned = alone.variants.aligned
    assert list(alone.variants.cost[aligned]) == list(fallback.variants.cost[aligned])


# ----------------------------------------------------------------------------------------------------------
# A hand-made log with known deviations


def handmade_rows() -> list[tuple[str, str, str]]:
    """Six cases that follow Register -> Check -> Approve -> Pay, one that skips Approve and one with an
    inserted 'Reset to draft' (an activity the model lacks); every event at its own time."""
    traces = {f"ok{i}": HAPPY for i in range(6)}
    traces["skip"] = ["Register", "Check", "Pay"]
    traces["insert"] = ["Register", "Check", "Reset to draft", "Approve", "Pay"]
    return [(case, a, f"2024-03-{1 + i:02d} {8 + j:02d}:00:00")
            for i, (case, acts) in enumerate(traces.items()) for j, a in enumerate(acts)]


def handmade_con(folder: Path, shuffle: int | None = None):
    rows = handmade_rows()
    if shuffle is not None:
        random.Random(shuffle).shuffle(rows)
    text = "case_id,activity,timestamp\n" + "".join(f"{c},{a},{t}\n" for c, a, t in rows)
    return connect(csv_workspace(folder, text))


def happy_model() -> PetriModel:
    model = discover_from_variants(Counter({tuple(HAPPY): 6}), noise_threshold=0.0)
    return PetriModel(model.net, model.im, model.fm)


def test_known_deviations_are_found_with_their_cases(tmp_path):
    con = handmade_con(tmp_path)
    try:
        model = happy_model()
        result = conformance(con, Filters(process="p"), model, "alignments")
        tokens = conformance(con, Filters(process="p"), model, "token_replay")
        log = full_log(con, "p")
    finally:
        con.close()
    fitness = dict(zip(result.cases.case_id, result.cases.fitness, strict=True))
    # One deviation each, against the worst alignment of 3 (4) log moves plus 4 model moves.
    assert fitness == {**{f"ok{i}": 1.0 for i in range(6)}, "skip": 1 - 1 / 7, "insert": 1 - 1 / 9}
    assert fitness == pm4py_per_case(log, model, "alignments")
    assert result.fit_share == 6 / 8
    assert result.fitness == pytest.approx((6 + 6 / 7 + 8 / 9) / 8, abs=1e-12)
    devs = result.deviations
    assert list(devs.columns) == ["deviation", "kind", "activity", "cases", "occurrences", "variants", "case_ids"]
    assert {d: list(c) for d, c in zip(devs.deviation, devs.case_ids, strict=True)} == {
        "skipped: Approve": ["skip"], "inserted: Reset to draft": ["insert"]}
    assert set(zip(devs.kind, devs.activity, strict=True)) == {("skipped", "Approve"), ("inserted", "Reset to draft")}
    assert list(devs.cases) == [1, 1]
    by_variant = dict(zip(result.variants.activities.map(tuple), result.variants.cost, strict=True))
    assert by_variant[tuple(HAPPY)] is pd.NA  # implied by the replay, never aligned
    assert by_variant[("Register", "Check", "Pay")] // conf.MOVE_COST == 1

    # Token replay: the skipped step leaves a token before Approve and Pay misses one; the inserted activity is
    # unknown to the model, which pm4py's replay passes over (it still calls that case fit).
    token_fitness = dict(zip(tokens.cases.case_id, tokens.cases.fitness, strict=True))
    assert token_fitness == pm4py_per_case(log, model, "token_replay")
    assert token_fitness["skip"] < 1 and token_fitness["insert"] == 1.0
    assert {d: list(c) for d, c in zip(tokens.deviations.deviation, tokens.deviations.case_ids, strict=True)} == {
        "missing token: Pay": ["skip"], "remaining token: before Approve": ["skip"],
        "not in model: Reset to draft": ["insert"]}


def test_row_order_does_not_matter(tmp_path):
    results = []
    for seed in (None, 1, 2):
        folder = tmp_path / f"run{seed}"
        folder.mkdir()
        con = handmade_con(folder, shuffle=seed)
        try:
            results.append(conformance(con, Filters(process="p"), happy_model(), "alignments"))
        finally:
            con.close()
    for other in results[1:]:
        pd.testing.assert_frame_equal(results[0].cases, other.cases)
        pd.testing.assert_frame_equal(results[0].deviations, other.deviations)


def test_filters_restrict_the_cases(tmp_path):
    con = handmade_con(tmp_path)
    try:
        model = happy_model()
        only = conformance(con, Filters(process="p", activities_present=["Reset to draft"]), model, "alignments")
        without = conformance(con, Filters(process="p", activities_absent=["Reset to draft"]), model, "alignments")
        fitting = conformance(con, Filters(process="p", activities_present=["Approve"],
                                           activities_absent=["Reset to draft"]), model, "alignments")
        fitting_tokens = conformance(con, Filters(process="p", activities_present=["Approve"],
                                                  activities_absent=["Reset to draft"]), model)
        with pytest.raises(ValueError, match="no cases"):
            conformance(con, Filters(process="p", activities_present=["nope"]), model)
    finally:
        con.close()
    assert list(only.cases.case_id) == ["insert"] and list(only.deviations.deviation) == ["inserted: Reset to draft"]
    assert len(without.cases) == 7 and list(without.deviations.deviation) == ["skipped: Approve"]
    for result in (fitting, fitting_tokens):
        assert list(result.cases.case_id) == [f"ok{i}" for i in range(6)]
        assert result.deviations.empty and result.fitness == 1.0 and result.fit_share == 1.0


def test_models_read_from_files(tmp_path):
    discovered = discover_from_variants(Counter({tuple(HAPPY): 6}), noise_threshold=0.0)
    pnml = tmp_path / "model.pnml"
    pm4py.write_pnml(discovered.net, discovered.im, discovered.fm, str(pnml))
    con = handmade_con(tmp_path)
    try:
        expected = conformance(con, Filters(process="p"), discovered, "alignments").cases
        for model in (model_from_file(pnml, "pnml"), model_from_file(pnml.read_bytes(), "pnml"),
                      model_from_file(bpmn_xml(discovered).encode(), "bpmn")):
            got = conformance(con, Filters(process="p"), model, "alignments").cases
            pd.testing.assert_frame_equal(expected, got)
    finally:
        con.close()
    with pytest.raises(ValueError, match="unknown model kind"):
        model_from_file(pnml, "xml")  # type: ignore[arg-type]


def test_compliance_page_checks_conformance(tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    from mining.conformance import conformance_to_discovered
    from tests.test_app_pages import ROOT, TIMEOUT

    handmade_con(tmp_path).close()
    workspace = tmp_path / "ws.duckdb"
    with connect(workspace) as con:
        expected = conformance_to_discovered(con, Filters(process="p"), 0.2, "alignments")
    assert expected.deviations.deviation.tolist(), "the discovered model leaves some behaviour out"
    monkeypatch.setenv("TWINFLOW_WORKSPACE", str(workspace))
    at = AppTest.from_file(str(ROOT / "app" / "views" / "compliance.py"), default_timeout=TIMEOUT).run()
    assert not at.exception
    assert "Conformance to a reference model" in [s.value for s in at.main.subheader]
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Mean fitness"] == f"{expected.fitness:.3f}"
    assert metrics["Cases"] == "8"
    table = next(d.value for d in at.dataframe if "deviation" in d.value.columns)
    assert table.deviation.tolist() == expected.deviations.deviation.tolist()
    first = expected.deviations.iloc[0]
    at.selectbox(key="conf_pick").set_value(first.deviation).run()
    shown = next(d.value for d in at.dataframe if list(d.value.columns) == ["case_id"])
    assert shown.case_id.tolist() == list(first.case_ids)
    at.radio(key="conf_method").set_value("Token-based replay").run()
    assert not at.exception and "Mean fitness" in {m.label for m in at.metric}
