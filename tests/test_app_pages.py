"""Every page of the Streamlit app, run headless with AppTest on small workspaces built in tmp_path."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from app.views import PAGES
from ingest import ImportOptions, connect, import_file
from tests.conftest import workspace_locked

ROOT = Path(__file__).resolve().parents[1]
MAIN = ROOT / "app" / "main.py"
# The first run imports pandas, DuckDB and Altair; later runs take well under a second.
TIMEOUT = 30

# Five good events in two cases, and one row whose timestamp cannot be read (quarantined).
CLAIMS_CSV = """case_id,activity,timestamp,resource
c1,Register,2024-01-05 09:00:00,alice
c1,Check,2024-01-06 10:00:00,bob
c1,Pay,2024-02-01 11:00:00,carol
c2,Register,2024-02-03 09:00:00,alice
c2,Check,not a time,bob
c2,Pay,2024-03-04 12:00:00,carol
"""
MORE_CSV = """case_id,activity,timestamp,resource
r1,Open,2024-04-01 08:00:00,dan
r1,Close,2024-04-02 08:00:00,erin
r2,Open,2024-04-03 08:00:00,dan
"""


def write(path: Path, text: str) -> Path:
    """Write `text` to `path` and return the path."""
    path.write_text(text, encoding="utf-8")
    return path


def build_workspace(path: Path, log: Path, process: str = "claims") -> Path:
    """Import `log` into a new workspace at `path` and return the path."""
    import_file(log, ImportOptions(process=process), workspace=path)
    return path


def events_in(workspace: Path, process: str) -> int:
    """Return the number of events of `process` in the workspace."""
    con = connect(workspace)
    try:
        return con.execute("SELECT count(*) FROM events WHERE process = ?", [process]).fetchone()[0]
    finally:
        con.close()


def run_app() -> AppTest:
    """Return the app after its first run."""
    return AppTest.from_file(MAIN, default_timeout=TIMEOUT).run()


def frame_with(at: AppTest, column: str) -> pd.DataFrame:
    """Return the first table on the page that has `column`."""
    for frame in at.dataframe:
        if column in frame.value.columns:
            return frame.value
    raise AssertionError(f"no table with a {column!r} column")


def texts(elements) -> str:
    """Return the values of the elements joined in one string, for substring checks."""
    return "\n".join(str(e.value) for e in elements)


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A workspace with the claims process (5 events, 1 quarantined row), set as $TWINFLOW_WORKSPACE."""
    path = build_workspace(tmp_path / "ws" / "claims.duckdb", write(tmp_path / "claims.csv", CLAIMS_CSV))
    monkeypatch.setenv("TWINFLOW_WORKSPACE", str(path))
    return path


@pytest.mark.parametrize("spec", PAGES, ids=[p.title for p in PAGES])
def test_every_page_runs_without_exceptions(workspace: Path, spec) -> None:
    at = run_app()
    if not spec.default:
        at.switch_page(str(spec.path.relative_to(MAIN.parent))).run()
    assert not at.exception
    assert at.title[0].value == spec.title


def test_data_page_shows_processes_with_event_counts(workspace: Path) -> None:
    at = run_app()
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics == {"Processes": "1", "Cases": "2", "Events": "5"}
    procs = frame_with(at, "events")
    assert procs.set_index("process").loc["claims", "events"] == 5
    assert at.session_state["process"] == "claims"
    activities = frame_with(at, "activity")
    assert set(activities["activity"]) == {"Register", "Check", "Pay"}
    assert at.get("vega_lite_chart"), "events-per-month chart missing"
    imports = frame_with(at, "location")
    assert imports["location"].tolist() == ["claims.csv"]


def test_the_busiest_process_is_chosen_until_the_user_picks_another(workspace: Path, tmp_path: Path) -> None:
    # "a_requests" comes first by name but has 3 events against the claims' 5.
    build_workspace(workspace, write(tmp_path / "a.csv", MORE_CSV), process="a_requests")
    at = run_app()
    assert at.session_state["process"] == "claims"
    at.selectbox(key="_process_pick").select("a_requests").run()
    assert at.session_state["process"] == "a_requests"
    at.switch_page("views/kpis.py").run()
    assert not at.exception
    assert at.session_state["process"] == "a_requests"


def test_quality_section_reports_the_quarantined_row(workspace: Path) -> None:
    at = run_app()
    assert "Data quality" in [s.value for s in at.subheader]
    rejects = frame_with(at, "reason")
    assert rejects.to_dict("records")[0] == {"reason": "unparseable timestamp", "rows": 1}
    assert "without_usual_start" in " ".join(frame_with(at, "cases_without_usual_start").columns)
    assert "usual_from" in frame_with(at, "before_usual").columns
    captions = texts(at.caption)
    assert "set aside with a reason" in captions and "interquartile ranges" in captions
    sample = frame_with(at, "raw")
    assert sample["row_number"].tolist() == [5]
    assert "not a time" in sample["raw"].iloc[0]


def test_import_from_a_path_adds_events(workspace: Path, tmp_path: Path) -> None:
    log = write(tmp_path / "more_claims.csv", MORE_CSV)
    at = run_app()
    at.text_input(key="import_path").input(str(log))
    at.form_submit_button[0].click().run()
    assert not at.exception
    assert not at.error, texts(at.error)
    assert events_in(workspace, "more_claims") == 3
    assert "3 events added" in texts(at.success)
    procs = frame_with(at, "events").set_index("process")
    assert procs.loc["more_claims", "events"] == 3
    # The page shows the new process straight away.
    assert at.session_state["process"] == "more_claims"
    assert at.selectbox(key="_process_pick").value == "more_claims"
    assert set(frame_with(at, "activity")["activity"]) == {"Open", "Close"}
    assert {m.label: m.value for m in at.metric}["Events"] == "8"
    at.selectbox(key="_process_pick").select("claims").run()
    assert at.session_state["process"] == "claims"
    assert set(frame_with(at, "activity")["activity"]) == {"Register", "Check", "Pay"}
    # The same file with the same options again: recognised, nothing added.
    at.form_submit_button[0].click().run()
    assert "already imported" in texts(at.info)
    assert events_in(workspace, "more_claims") == 3


def test_upload_uses_the_original_file_name_and_form_options(
        workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TWINFLOW_CONFIG", str(tmp_path / "no-config.toml"))
    monkeypatch.setenv("TWINFLOW_PSEUDONYM_KEY", "test-key-of-at-least-16-characters")
    at = run_app()
    at.file_uploader(key="import_file").set_value(("visits.csv", MORE_CSV.encode(), "text/csv"))
    at.text_input(key="import_timezone").input("Europe/Amsterdam")
    at.checkbox(key="import_pseudonymise").check()
    at.form_submit_button[0].click().run()
    assert not at.exception
    assert not at.error, texts(at.error)
    assert events_in(workspace, "visits") == 3
    con = connect(workspace)
    try:
        location, options = con.execute("SELECT location, options FROM imports WHERE process = 'visits'").fetchone()
        resources = {r[0] for r in con.execute("SELECT resource FROM events WHERE process = 'visits'").fetchall()}
    finally:
        con.close()
    assert location == "visits.csv"
    assert '"Europe/Amsterdam"' in options
    assert resources.isdisjoint({"dan", "erin"})


def test_import_errors_are_one_line(workspace: Path, tmp_path: Path) -> None:
    at = run_app()
    at.text_input(key="import_path").input(str(tmp_path / "missing.csv"))
    at.form_submit_button[0].click().run()
    assert not at.exception
    assert [e.value for e in at.error] == ["Import failed: missing.csv: no such file"]
    at.text_input(key="import_path").input(str(write(tmp_path / "x.csv", MORE_CSV)))
    at.text_input(key="import_timezone").input("Mars/Olympus")
    at.form_submit_button[0].click().run()
    assert "unknown time zone 'Mars/Olympus'" in texts(at.error)
    assert "\n" not in texts(at.error)
    assert events_in(workspace, "x") == 0


def test_pseudonymising_without_a_key_is_refused(
        workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TWINFLOW_CONFIG", str(tmp_path / "no-config.toml"))
    monkeypatch.delenv("TWINFLOW_PSEUDONYM_KEY", raising=False)
    at = run_app()
    at.text_input(key="import_path").input(str(write(tmp_path / "more.csv", MORE_CSV)))
    at.checkbox(key="import_pseudonymise").check()
    at.form_submit_button[0].click().run()
    assert "pseudonymisation needs a secret" in texts(at.error)
    assert events_in(workspace, "more") == 0


def test_empty_workspace_invites_an_import(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    missing = tmp_path / "new.duckdb"
    monkeypatch.setenv("TWINFLOW_WORKSPACE", str(missing))
    at = run_app()
    assert not at.exception
    assert "twinflow demo" in texts(at.info)
    assert not at.metric and not at.dataframe
    assert not missing.exists(), "looking at a workspace must not create it"
    # Importing into it creates it and replaces the empty state by the overview.
    at.text_input(key="import_path").input(str(write(tmp_path / "claims.csv", CLAIMS_CSV)))
    at.form_submit_button[0].click().run()
    assert not at.exception and not at.info
    assert events_in(missing, "claims") == 5
    assert {m.label: m.value for m in at.metric}["Events"] == "5"


def test_existing_but_empty_workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    empty = tmp_path / "empty.duckdb"
    connect(empty).close()
    monkeypatch.setenv("TWINFLOW_WORKSPACE", str(empty))
    at = run_app()
    assert not at.exception
    assert "twinflow demo" in texts(at.info)


def test_workspace_switcher_lists_siblings_and_switches(workspace: Path, tmp_path: Path) -> None:
    other = build_workspace(workspace.parent / "other.duckdb", write(tmp_path / "more.csv", MORE_CSV), "visits")
    at = run_app()
    picker = at.sidebar.selectbox[0]
    assert picker.options == ["claims.duckdb", "other.duckdb"]
    assert str(workspace) in texts(at.sidebar.code)
    picker.set_value(str(other)).run()
    assert not at.exception
    assert at.session_state["workspace"] == str(other)
    assert frame_with(at, "events")["process"].tolist() == ["visits"]
    assert str(other) in texts(at.sidebar.code)


def test_typed_workspace_path(workspace: Path, tmp_path: Path) -> None:
    other = build_workspace(tmp_path / "elsewhere" / "w.duckdb", write(tmp_path / "more.csv", MORE_CSV), "visits")
    at = run_app()
    at.sidebar.text_input[0].input(str(tmp_path)).run()
    assert "is a folder" in texts(at.sidebar.warning)
    assert at.session_state["workspace"] == str(workspace)
    at.sidebar.text_input[0].input(str(other)).run()
    assert not at.exception
    assert at.session_state["workspace"] == str(other)
    assert frame_with(at, "events")["process"].tolist() == ["visits"]


def test_cache_follows_the_workspace_version(workspace: Path, tmp_path: Path) -> None:
    at = run_app()
    assert {m.label: m.value for m in at.metric}["Events"] == "5"
    # An import from outside the app (the CLI, another session) shows on the next run.
    import_file(write(tmp_path / "more.csv", MORE_CSV), ImportOptions(process="claims"), workspace=workspace)
    at.run()
    assert {m.label: m.value for m in at.metric}["Events"] == "8"


def test_a_workspace_locked_by_another_program_is_reported(workspace: Path) -> None:
    with workspace_locked(workspace):
        at = run_app()
        assert not at.exception
        assert "Cannot open the workspace" in texts(at.error)


def test_the_data_page_does_not_import_pm4py(workspace: Path) -> None:
    # In a fresh interpreter: other tests in this session may have imported pm4py already.
    script = (f"import sys; from streamlit.testing.v1 import AppTest; "
              f"at = AppTest.from_file({str(MAIN)!r}, default_timeout={TIMEOUT}).run(); "
              f"assert not at.exception, at.exception; "
              f"print(sorted(m for m in sys.modules if m.split('.')[0] == 'pm4py'))")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"
