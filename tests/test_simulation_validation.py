"""Validation of the twin (simulation/validation.py): the split, the naive reference, how we call the measures
package, an end-to-end run on a real log with start and end times, the CLI command and the app page."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import typer
from streamlit.testing.v1 import AppTest
from typer.testing import CliRunner

from app.cli_simulation_validate import register
from ingest import connect
from simulation.spec import Model
from simulation.validation import (
    IDS,
    MEASURES,
    Split,
    choose_window,
    distances,
    for_test_period,
    naive_log,
    real_events,
    split_by_start,
    validate,
)
from tests.conftest import csv_workspace, shipped_workspace

ROOT = Path(__file__).resolve().parents[1]
MAIN = ROOT / "app" / "main.py"
PURCHASING = "PurchasingExample_simod"


@pytest.fixture(scope="module")
def purchasing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return a workspace holding the shipped PurchasingExample log (608 cases with start and end times)."""
    return shipped_workspace(tmp_path_factory.mktemp("validation") / "purchasing.duckdb", [f"{PURCHASING}.csv.gz"])


def _log_csv(starts: list[str]) -> str:
    """Return a CSV of one two-event case per start time (case k starts at starts[k])."""
    lines = ["case_id,activity,start_time,end_time,resource"]
    for k, start in enumerate(starts):
        t0 = datetime.fromisoformat(start)
        lines.append(f"c{k:02d},A,{t0:%Y-%m-%d %H:%M:%S},{t0 + timedelta(minutes=30):%Y-%m-%d %H:%M:%S},r1")
        lines.append(f"c{k:02d},B,{t0 + timedelta(hours=2):%Y-%m-%d %H:%M:%S},"
                     f"{t0 + timedelta(hours=3):%Y-%m-%d %H:%M:%S},r2")
    return "\n".join(lines) + "\n"


def _starts(path: Path) -> pd.DataFrame:
    con = connect(path, read_only=True)
    try:
        return con.execute("SELECT case_id, min(coalesce(start_time, end_time)) AS s FROM events "
                           "WHERE process = 'p' GROUP BY case_id ORDER BY s, case_id").df()
    finally:
        con.close()


def test_split_holds_out_exactly_the_last_share_of_cases_by_start(tmp_path: Path) -> None:
    # Ten cases, listed out of order: the two started last (c03, c07) are the test cases.
    days = [1, 2, 3, 10, 4, 5, 6, 9, 7, 8]
    path = csv_workspace(tmp_path, _log_csv([f"2024-03-{d:02d} 09:00" for d in days]))
    con = connect(path, read_only=True)
    try:
        split = split_by_start(con, "p", 0.2)
        test = real_events(con, "p", split.cut, test=True)
        train = real_events(con, "p", split.cut, test=False)
    finally:
        con.close()
    assert (split.n_cases, split.n_train, split.n_test) == (10, 8, 2)
    assert split.cut == datetime(2024, 3, 9, 9, 0, tzinfo=UTC)
    assert set(test[IDS.case]) == {"c03", "c07"}
    assert len(set(train[IDS.case])) == 8 and not set(train[IDS.case]) & set(test[IDS.case])
    assert split.last_start == datetime(2024, 3, 10, 9, 0, tzinfo=UTC)
    assert split.test_days == pytest.approx(1.0)


def test_split_puts_cases_tied_at_the_cut_on_the_test_side(tmp_path: Path) -> None:
    # The 8th and 9th cases by start tie at the cut: both go to the test side, every time.
    starts = [f"2024-03-{d:02d} 09:00" for d in (1, 2, 3, 4, 5, 6, 7, 8, 8, 9)]
    path = csv_workspace(tmp_path, _log_csv(starts))
    con = connect(path, read_only=True)
    try:
        splits = [split_by_start(con, "p", 0.2) for _ in range(3)]
        # The training cases are the ones discovery selects with Filters(time_to=cut, time_mode="started").
        from mining.filters import Filters, case_selection

        sql, params = case_selection(Filters(process="p", time_to=splits[0].cut, time_mode="started"))
        selected = con.execute(f"WITH selected AS ({sql}) SELECT count(*) FROM selected", params).fetchall()[0][0]
    finally:
        con.close()
    assert splits[0] == splits[1] == splits[2]
    assert (splits[0].n_train, splits[0].n_test) == (7, 3)
    assert splits[0].cut == datetime(2024, 3, 8, 9, 0, tzinfo=UTC)
    assert selected == 7
    assert _starts(path)["s"].lt(pd.Timestamp(splits[0].cut)).sum() == 7


def test_split_rejects_a_share_outside_zero_to_one(tmp_path: Path) -> None:
    path = csv_workspace(tmp_path, _log_csv(["2024-03-01 09:00", "2024-03-02 09:00"]))
    con = connect(path, read_only=True)
    try:
        with pytest.raises(ValueError, match="test_share"):
            split_by_start(con, "p", 1.0)
        with pytest.raises(ValueError, match="each side"):
            split_by_start(con, "p", 0.5)
    finally:
        con.close()


def _synthetic_log(n_cases: int = 30, seed: int = 1) -> pd.DataFrame:
    """Return a package-format log: cases every ~3 hours, each A, B, C (sometimes B twice), UTC times."""
    rng = np.random.default_rng(seed)
    rows = []
    t = pd.Timestamp("2024-03-04 08:00", tz="UTC")
    for k in range(n_cases):
        t += pd.Timedelta(hours=float(rng.exponential(3)))
        clock = t
        for activity in ["A", "B", "B", "C"] if k % 4 == 0 else ["A", "B", "C"]:
            end = clock + pd.Timedelta(minutes=float(rng.uniform(10, 90)))
            rows.append({IDS.case: f"k{k:03d}", IDS.activity: activity, IDS.start_time: clock, IDS.end_time: end,
                         IDS.resource: "r"})
            clock = end + pd.Timedelta(hours=float(rng.uniform(0, 5)))
    return pd.DataFrame(rows)


def test_naive_reference_replays_the_last_training_cases_whole_weeks_later() -> None:
    training = _synthetic_log(12)
    cut = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    naive = naive_log(training, 5, cut)
    firsts = training.groupby(IDS.case)[IDS.start_time].min().sort_values()
    assert naive[IDS.case].nunique() == 5
    assert set(naive[IDS.case]) == set(firsts.index[-5:])
    # One shift for every timestamp, a whole number of weeks: durations, the gaps between cases, and each event's
    # weekday and hour are kept; the first replayed case starts in the week from the cut.
    shift = naive[IDS.start_time].min() - firsts.iloc[-5]
    assert shift > pd.Timedelta(0) and shift % pd.Timedelta(days=7) == pd.Timedelta(0)
    assert pd.Timedelta(0) <= naive[IDS.start_time].min() - pd.Timestamp(cut) < pd.Timedelta(days=7)
    original = training[training[IDS.case].isin(set(naive[IDS.case]))].reset_index(drop=True)
    assert (naive[IDS.start_time] - original[IDS.start_time]).eq(shift).all()
    assert (naive[IDS.end_time] - original[IDS.end_time]).eq(shift).all()
    assert (naive[IDS.start_time].dt.dayofweek == original[IDS.start_time].dt.dayofweek).all()
    assert (naive[IDS.start_time].dt.hour == original[IDS.start_time].dt.hour).all()
    # A cut just after the last cases still moves them forward: by one week.
    just_after = (firsts.iloc[-5].floor("s") + pd.Timedelta(hours=1)).to_pydatetime()
    assert (naive_log(training, 5, just_after)[IDS.start_time].min() - firsts.iloc[-5]) == pd.Timedelta(days=7)
    assert naive_log(training, 50, cut)[IDS.case].nunique() == 12


def test_measures_are_zero_for_the_same_log_and_positive_for_a_perturbed_copy() -> None:
    log = _synthetic_log()
    same = distances(log, log.copy())
    assert set(same) == set(MEASURES)
    assert all(v == 0 for v in same.values()), same
    # Later by 5 hours, every waiting and processing time 1.5 times as long, and C/A swapped in some cases.
    perturbed = log.copy()
    case_start = perturbed.groupby(IDS.case)[IDS.start_time].transform("min")
    perturbed[IDS.start_time] = case_start + (perturbed[IDS.start_time] - case_start) * 1.5 + pd.Timedelta(hours=5)
    perturbed[IDS.end_time] = case_start + (perturbed[IDS.end_time] - case_start) * 1.5 + pd.Timedelta(hours=5)
    swap = perturbed[IDS.case].isin({"k001", "k002", "k005"}) & perturbed[IDS.activity].isin({"A", "C"})
    perturbed.loc[swap, IDS.activity] = perturbed.loc[swap, IDS.activity].map({"A": "C", "C": "A"})
    different = distances(log, perturbed)
    assert all(v > 0 and math.isfinite(v) for v in different.values()), different
    assert 0 < different["ngram_3"] <= 1


def test_validation_end_to_end_on_a_real_log(purchasing: Path) -> None:
    steps: list[float] = []
    result = validate(purchasing, PURCHASING, replications=2, seed=3, progress=lambda f, m: steps.append(f))
    split = result.split
    assert split.n_cases == 608 and split.n_test == round(608 * 0.2) and split.n_train == 608 - split.n_test
    m = result.measures
    assert m["measure"].tolist() == list(MEASURES)
    assert np.isfinite(m[["twin_mean", "twin_sd", "naive"]].to_numpy(dtype=float)).all()
    assert (m[["twin_mean", "naive"]] >= 0).all().all()
    assert m["twin_better"].eq(m["twin_mean"] < m["naive"]).all()
    assert len(result.replications) == 2 * len(MEASURES)
    # The twin against itself: two replications of one model differ (a sample each), by less than the naive
    # reference, which replays other cases, differs from the real test period on the timing measures.
    assert (m["between_twins"] > 0).all() and np.isfinite(m["between_twins"]).all()
    timing = m.set_index("measure").loc[["absolute_event", "case_arrival"]]
    assert (timing["between_twins"] < timing["naive"]).all(), timing
    # The model of the test period: starts one warm-up before the cut, reports from the cut.
    model = result.model
    assert model.start == split.cut - timedelta(days=model.warmup_days)
    assert model.horizon_days == pytest.approx(model.warmup_days + split.test_days)
    logs = result.logs.set_index("log")
    assert logs.loc["real", "cases"] == logs.loc["naive", "cases"] == split.n_test
    # The protocol: every replication simulates exactly as many cases as the test period has, from the cut on.
    assert logs.loc["twin", "cases"] == split.n_test
    assert result.timings["simulated_events"] > 0
    twin_cycles = result.charts["cycle_times"].query("log == 'twin'")
    assert len(twin_cycles) == 2 * split.n_test
    assert set(result.charts) == {"hourly", "arrivals", "cycle_times"}
    assert set(result.charts["hourly"]["log"]) == {"real", "twin", "naive"}
    assert len(result.charts["hourly"]) == 72
    assert result.charts["cycle_times"].groupby("log").size()["real"] == split.n_test
    assert steps[-1] == 1.0 and steps == sorted(steps)


def test_the_training_window_is_chosen_by_a_backtest_on_the_training_cases(purchasing: Path) -> None:
    # PurchasingExample drifts: the wait before "Analyze Request for Quotation" grows month by month (median 12 h
    # for the cases of January, 236 h for those of July), so the recent past forecasts better than all of it.
    con = connect(purchasing, read_only=True)
    try:
        split = split_by_start(con, PURCHASING)
        choice = choose_window(con, PURCHASING, split, seed=1)
        inner = split_by_start(con, PURCHASING, before=split.cut)
    finally:
        con.close()
    # The backtest sees only the training cases: its split is that of the cases started before the cut.
    assert inner.n_cases == split.n_train and inner.last_start < split.cut
    assert choice.scores[None] == 1.0 and len(choice.scores) >= 2
    assert choice.days is not None and choice.scores[choice.days] < 0.95, choice.note
    assert choice.days == min(choice.scores, key=choice.scores.get)
    assert "backtested" in choice.note


def test_a_given_training_window_discovers_on_the_recent_cases_only(purchasing: Path) -> None:
    every = validate(purchasing, PURCHASING, replications=1, window=None)
    recent = validate(purchasing, PURCHASING, replications=1, window=30)
    assert every.window_days is None and recent.window_days == 30
    assert "discovered on all training cases" in every.notes[1]
    assert "last 30 days before the cut (given)" in recent.notes[1]
    cases = {v: int(r.model.notes["source"].split()[0].replace(",", "")) for v, r in (("all", every),
                                                                                       ("30", recent))}
    assert cases["all"] == every.split.n_train and 0 < cases["30"] < cases["all"] / 3
    with pytest.raises(ValueError, match="window"):
        validate(purchasing, PURCHASING, replications=1, window=0)


@pytest.fixture(scope="module")
def purchasing_model(purchasing: Path) -> tuple[Split, Model]:
    """Return the split of the PurchasingExample workspace and the model discovered on its whole log."""
    from simulation.discovery import discover

    con = connect(purchasing, read_only=True)
    try:
        return split_by_start(con, PURCHASING), discover(con, PURCHASING)
    finally:
        con.close()


def test_for_test_period_keeps_a_positive_horizon(purchasing_model: tuple[Split, Model]) -> None:
    split, model = purchasing_model
    moved = for_test_period(model, split)
    assert moved.start == split.cut - timedelta(days=model.warmup_days)
    assert moved.warmup_days == model.warmup_days and moved.arrivals == model.arrivals


def test_the_twin_simulates_exactly_the_test_periods_number_of_cases(purchasing_model: tuple[Split, Model]) -> None:
    from simulation.engine import simulate
    from simulation.validation import twin_log

    split, model = purchasing_model
    for n, replication in ((split.n_test, 0), (5, 1), (3 * split.n_test, 2)):
        moved = for_test_period(model, split, n, seed=4, replication=replication)
        assert moved.start == split.cut - timedelta(days=model.warmup_days)
        run = simulate(moved, seed=4, replication=replication)
        after = run.cases[~run.cases["warmup"]]
        # The horizon ends just after the n-th arrival from the cut on: no case is simulated beyond it.
        assert len(after) == n
        log = twin_log(run.events, run.cases, n)
        assert log[IDS.case].nunique() == n
        assert log[IDS.start_time].min() >= pd.Timestamp(split.cut)
    # Without a number of cases, the arrivals run until the last test case's start (the period's length).
    assert for_test_period(model, split).horizon_days == pytest.approx(model.warmup_days + split.test_days)


def _cli() -> typer.Typer:
    app = typer.Typer()
    register(app)

    @app.command()
    def other() -> None:  # a second command keeps `validate` a subcommand, as in the real CLI
        """Do nothing."""

    return app


def test_cli_prints_the_measures_table(purchasing: Path) -> None:
    runner = CliRunner()
    done = runner.invoke(_cli(), ["validate", PURCHASING, "-w", str(purchasing), "--replications", "1"])
    assert done.exit_code == 0, done.output
    for key in MEASURES:
        assert key in done.output
    assert "twin better than naive on" in done.output
    assert "discovered on the training cases of the last" in done.output  # the backtested window (drift)
    as_json = runner.invoke(_cli(), ["validate", PURCHASING, "-w", str(purchasing), "--replications", "1",
                                     "--window", "all", "-o", "json"])
    assert as_json.exit_code == 0, as_json.output
    rows = json.loads(as_json.stdout)
    assert [r["measure"] for r in rows] == list(MEASURES)
    assert all(r["twin_sd"] is None for r in rows)  # no spread over one replication
    assert all(r["between_twins"] is None for r in rows)  # nor a pair to measure the twin against itself
    assert "between_twins" in done.output
    seconds = float(done.output.split("measures (between_twins")[1].split(";")[1].split(" s")[0])
    assert 0 < seconds < 600  # the time taken, not the count of simulated events added to it


def test_cli_reports_errors_on_one_line(purchasing: Path) -> None:
    runner = CliRunner()
    done = runner.invoke(_cli(), ["validate", "nope", "-w", str(purchasing)])
    assert done.exit_code == 1
    assert "no process 'nope'" in done.output
    done = runner.invoke(_cli(), ["validate", PURCHASING, "-w", str(purchasing), "--test-share", "1.5"])
    assert done.exit_code == 1 and "--test-share" in done.output
    done = runner.invoke(_cli(), ["validate", PURCHASING, "-w", str(purchasing), "--window", "lately"])
    assert done.exit_code == 1 and "--window" in done.output


def test_page_shows_the_measures_after_run(purchasing: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TWINFLOW_WORKSPACE", str(purchasing))
    at = AppTest.from_file(MAIN, default_timeout=60).run()
    at.switch_page("views/validation.py").run()
    assert not at.exception
    assert at.title[0].value == "Twin validation"
    assert not any("twin_better" in f.value.columns for f in at.dataframe)
    at.number_input(key="val_replications").set_value(1).run()
    at.button(key="val_run").click().run()
    assert not at.exception, at.exception
    tables = [f.value for f in at.dataframe if "twin_better" in f.value.columns]
    assert len(tables) == 1 and len(tables[0]) == len(MEASURES)
    assert at.get("vega_lite_chart")
    # The result stays on the page on the next run, without running again.
    at.run()
    assert [f.value for f in at.dataframe if "twin_better" in f.value.columns]
