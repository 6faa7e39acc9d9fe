"""The like-for-like (censored) view of the twin validation (simulation/validation.py, `censor=True`): the
simulated logs are cut at the log's extraction moment before measuring; the CLI flag and the app page's toggle."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest
from typer.testing import CliRunner

from ingest import ImportOptions, connect, import_file
from simulation import log_distances, validation
from simulation.validation import IDS, MEASURES, Validation, censor_log, extraction_moment, validate
from tests.conftest import csv_workspace, shipped_workspace
from tests.test_simulation_validation import _cli

ROOT = Path(__file__).resolve().parents[1]
MAIN = ROOT / "app" / "main.py"
# Cases run for weeks while the test period is some seven weeks long: the real test log, cut at the extraction,
# holds mostly the first events of its cases (median cycle time 27 h against 173 h for the training cases).
ACADEMIC = "academic_credentials"
RUN = {"replications": 2, "seed": 0, "window": None, "delay_check": False}  # given: no backtest, a fast run


@pytest.fixture(scope="module")
def academic(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return a workspace holding the shipped academic_credentials log (954 cases with start and end times)."""
    return shipped_workspace(tmp_path_factory.mktemp("censored") / "academic.duckdb", [f"{ACADEMIC}.csv.gz"])


@pytest.fixture(scope="module")
def views(academic: Path) -> dict[str, tuple[Validation, list[tuple[pd.DataFrame, pd.DataFrame]]]]:
    """Return per view (default, uncensored, censored) the validation of academic_credentials and the (real,
    other) pairs of logs it measured, in the order measured: the twin's replications, the naive reference, then the
    pairs of consecutive replications (the twin against itself)."""
    out = {}
    for name, options in (("default", {}), ("uncensored", {"censor": False}), ("censored", {"censor": True})):
        measured: list[tuple[pd.DataFrame, pd.DataFrame]] = []
        with pytest.MonkeyPatch.context() as patch:
            spy = _recording(measured)
            patch.setattr(log_distances, "distances", spy)  # the twin's replications
            patch.setattr(validation, "distances", spy)  # the naive reference
            out[name] = (validate(academic, ACADEMIC, **RUN, **options), measured)
    return out


def _recording(measured: list) -> Callable[..., dict[str, float]]:
    """Return a stand-in for log_distances.distances that appends each (real, other) pair it measures to
    `measured`."""
    measure = log_distances.distances

    def spy(real: pd.DataFrame, other: pd.DataFrame, timezone: str = "UTC") -> dict[str, float]:
        measured.append((real, other))
        return measure(real, other, timezone)

    return spy


def _log(rows: list[tuple[str, str, str, str]]) -> pd.DataFrame:
    """Return a package-format log of (case, activity, start, end) rows, UTC."""
    frame = pd.DataFrame(rows, columns=[IDS.case, IDS.activity, IDS.start_time, IDS.end_time])
    for column in (IDS.start_time, IDS.end_time):
        frame[column] = pd.to_datetime(frame[column], utc=True)
    return frame.assign(**{IDS.resource: "r"})


def test_censor_log_keeps_only_the_events_ended_by_the_moment() -> None:
    log = _log([("a", "A", "2024-03-01 09:00", "2024-03-01 10:00"),
                ("a", "B", "2024-03-01 11:00", "2024-03-01 12:00"),   # ends exactly then: recorded
                ("a", "C", "2024-03-01 11:30", "2024-03-01 12:30"),   # still running then: not recorded yet
                ("b", "A", "2024-03-01 12:00", "2024-03-01 13:00"),   # the whole case ends later: it vanishes
                ("c", "A", "2024-03-01 08:00", "2024-03-01 08:30")])
    at = pd.Timestamp("2024-03-01 12:00", tz="UTC").to_pydatetime()
    cut = censor_log(log, at)
    assert list(zip(cut[IDS.case], cut[IDS.activity], strict=True)) == [("a", "A"), ("a", "B"), ("c", "A")]
    assert list(cut.columns) == list(log.columns) and list(cut.index) == [0, 1, 2]
    assert censor_log(log, pd.Timestamp("2024-03-02", tz="UTC").to_pydatetime()).equals(log)
    assert censor_log(log, pd.Timestamp("2024-03-01", tz="UTC").to_pydatetime()).empty


def test_the_extraction_moment_is_the_latest_end_in_the_whole_process(tmp_path: Path) -> None:
    # The case started first ends last: the extraction is that end, not the last test case's.
    csv = ("case_id,activity,start_time,end_time,resource\n"
           "c1,A,2024-03-01 09:00:00,2024-03-01 10:00:00,r\n"
           "c1,B,2024-03-20 09:00:00,2024-03-20 17:45:00,r\n"
           "c2,A,2024-03-10 09:00:00,2024-03-10 10:00:00,r\n"
           "c3,A,2024-03-15 09:00:00,2024-03-15 11:00:00,r\n")
    path = csv_workspace(tmp_path, csv)
    other = tmp_path / "other.csv"
    other.write_text("case_id,activity,start_time,end_time,resource\nx,A,2024-05-01 09:00:00,2024-05-01 10:00:00,r\n",
                     encoding="utf-8")
    import_file(other, ImportOptions(process="q"), workspace=path)  # a later process does not count
    con = connect(path, read_only=True)
    try:
        assert extraction_moment(con, "p") == pd.Timestamp("2024-03-20 17:45", tz="UTC")
        with pytest.raises(ValueError, match="no events"):
            extraction_moment(con, "nope")
    finally:
        con.close()


def test_censored_view_measures_no_event_after_the_extraction(views: dict, academic: Path) -> None:
    con = connect(academic, read_only=True)
    try:
        at = pd.Timestamp(extraction_moment(con, ACADEMIC))
    finally:
        con.close()
    result, measured = views["censored"]
    assert result.censored_at == at and "like-for-like" in result.view
    reps = RUN["replications"]
    # Each twin replication against the real log, the naive reference, then each pair of consecutive twins.
    assert len(measured) == 2 * reps
    for real, other in measured:
        assert not other.empty and other[IDS.end_time].max() <= at
        assert real[IDS.end_time].max() <= at
    twins = [other for _, other in measured[:reps]]
    assert all(a.equals(twins[i]) and b.equals(twins[i + 1]) for i, (a, b) in enumerate(measured[reps + 1:]))
    # The cycle-time chart pools the logs measured: nothing in it ends after the extraction either.
    cycles = result.charts["cycle_times"]
    assert len(cycles.query("log == 'twin'")) == sum(o[IDS.case].nunique() for o in twins)
    assert "like-for-like view" in result.notes[-1] and f"{at:%Y-%m-%d %H:%M:%S} UTC" in result.notes[-1]
    # Without the option, the twin's and the naive reference's cases run past the extraction.
    _, whole = views["uncensored"]
    assert all(other[IDS.end_time].max() > at for _, other in whole)


def test_censored_view_cuts_the_same_simulations_and_lowers_the_twins_cycle_time_distance(views: dict) -> None:
    (full, whole), (cut, censored) = views["uncensored"], views["censored"]
    # The real test log is visibly censored: its cases are far shorter than the twin's, run to their end.
    cycles = full.charts["cycle_times"].groupby("log")["cycle_time_h"].median()
    assert cycles["real"] < cycles["twin"] / 2, cycles
    # Same seed, same model, same simulations: the censored view measures the uncensored logs, cut.
    reps = RUN["replications"]
    for (real_full, other_full), (real_cut, other_cut) in zip(whole[:reps + 1], censored[:reps + 1], strict=True):
        assert real_cut.equals(real_full)
        assert other_cut.equals(censor_log(other_full, cut.censored_at))
        assert len(other_cut) < len(other_full)
    twin = {name: r.measures.set_index("measure")["twin_mean"] for name, r in (("full", full), ("cut", cut))}
    assert twin["cut"]["cycle_time"] < twin["full"]["cycle_time"], (twin["cut"], twin["full"])
    assert cut.logs.set_index("log").loc["twin", "events"] < full.logs.set_index("log").loc["twin", "events"]


def test_the_default_is_the_published_protocol_unchanged(views: dict) -> None:
    (default, measured_default), (explicit, measured_explicit) = views["default"], views["uncensored"]
    assert default.censored_at is None and default.view.startswith("published protocol")
    assert default.measures.equals(explicit.measures) and default.replications.equals(explicit.replications)
    assert default.logs.equals(explicit.logs) and default.notes == explicit.notes
    assert len(default.notes) == 4 and not any("like-for-like" in n for n in default.notes)
    for (_, a), (_, b) in zip(measured_default, measured_explicit, strict=True):
        assert a.equals(b)


def test_cli_censor_flag(academic: Path) -> None:
    runner = CliRunner()
    base = ["validate", ACADEMIC, "-w", str(academic), "--replications", "1", "--window", "all"]
    censored = runner.invoke(_cli(), [*base, "--censor"])
    assert censored.exit_code == 0, censored.output
    assert "like-for-like view (not the published protocol)" in censored.output
    assert "like-for-like: cut at the extraction moment" in censored.output  # the table's title
    plain = runner.invoke(_cli(), [*base, "--no-censor"])
    assert plain.exit_code == 0, plain.output
    assert "like-for-like" not in plain.output
    rows = {r["measure"]: r for r in json.loads(runner.invoke(_cli(), [*base, "--censor", "-o", "json"]).stdout)}
    assert list(rows) == list(MEASURES)
    help_text = runner.invoke(_cli(), ["validate", "--help"], terminal_width=200).output
    assert "--censor" in help_text and "--no-censor" in help_text


@pytest.fixture
def page(academic: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[AppTest]:
    """Return the validation page on the academic_credentials workspace, one replication."""
    monkeypatch.setenv("TWINFLOW_WORKSPACE", str(academic))
    at = AppTest.from_file(MAIN, default_timeout=60).run()
    at.switch_page("views/validation.py").run()
    at.number_input(key="val_replications").set_value(1).run()
    yield at


def _measures_shown(at: AppTest) -> bool:
    return any("twin_better" in f.value.columns for f in at.dataframe)


def test_page_toggle_runs_the_like_for_like_view_and_keeps_each_view_apart(page: AppTest) -> None:
    at = page
    assert not at.exception
    assert "Published protocol" in "\n".join(c.value for c in at.caption)
    at.toggle(key="val_censor").set_value(True).run()
    assert "Like-for-like (not the published protocol)" in "\n".join(c.value for c in at.caption)
    at.button(key="val_run").click().run()
    assert not at.exception, at.exception
    captions = "\n".join(c.value for c in at.caption)
    assert "View: like-for-like" in captions and "like-for-like view (not the published protocol)" in captions
    assert _measures_shown(at)
    # The cached result belongs to the like-for-like view: the published one has not run yet.
    at.toggle(key="val_censor").set_value(False).run()
    assert not at.exception and not _measures_shown(at)
    at.toggle(key="val_censor").set_value(True).run()
    assert _measures_shown(at) and "View: like-for-like" in "\n".join(c.value for c in at.caption)
