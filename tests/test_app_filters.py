"""The sidebar filters: set through their widgets with AppTest, they drive every analysis page."""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from app import state
from ingest import ImportOptions, connect, import_file
from mining.filters import Filters, case_count

ROOT = Path(__file__).resolve().parents[1]
MAIN = ROOT / "app" / "main.py"
TIMEOUT = 60
PROCESS = "supplier_invoices"
MALICIOUS = "x' OR 1=1 --"

# Four invoices: i1 and i3 at site Central, i2 and i4 at North; the creator also posts the bill in i1 and i3.
INVOICES_CSV = f"""case_id,activity,timestamp,resource,site,department,channel
i1,Create bill,2024-01-02 09:00:00,ann,Central,AP,web
i1,Post invoice,2024-01-03 09:00:00,ann,Central,AP,web
i1,Pay,2024-01-04 09:00:00,bob,Central,AP,web
i2,Create bill,2024-02-01 09:00:00,ann,North,AP,{MALICIOUS}
i2,Post invoice,2024-02-02 09:00:00,bob,North,AP,{MALICIOUS}
i2,Pay,2024-02-10 09:00:00,bob,North,AP,{MALICIOUS}
i3,Create bill,2024-03-01 09:00:00,cid,Central,Tax,phone
i3,Approve invoice,2024-03-02 09:00:00,dan,Central,Tax,phone
i3,Post invoice,2024-03-03 09:00:00,cid,Central,Tax,phone
i4,Create bill,2024-04-01 09:00:00,ann,North,AP,web
i4,Post invoice,2024-04-01 21:00:00,bob,North,AP,web
i4,Pay,2024-04-02 09:00:00,bob,North,AP,web
"""
CLAIMS_CSV = """case_id,activity,timestamp,resource
c1,Register,2024-01-05 09:00:00,alice
c1,Pay,2024-01-06 10:00:00,carol
"""
PAGES = {
    "process_map": "views/process_map.py", "variants": "views/variants.py", "model": "views/models.py",
    "performance": "views/performance.py", "kpis": "views/kpis.py", "compliance": "views/compliance.py",
}


@pytest.fixture(scope="module")
def workspace_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace with the four invoices (channel as a JSON case attribute) and a small claims process."""
    folder = tmp_path_factory.mktemp("filters")
    invoices, claims = folder / "invoices.csv", folder / "claims.csv"
    invoices.write_text(INVOICES_CSV, encoding="utf-8")
    claims.write_text(CLAIMS_CSV, encoding="utf-8")
    path = folder / "ws.duckdb"
    import_file(invoices, ImportOptions(process=PROCESS, case_attributes=["channel"]), workspace=path)
    import_file(claims, ImportOptions(process="claims"), workspace=path)
    return path


@pytest.fixture
def workspace(workspace_file: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The module's workspace, set as $TWINFLOW_WORKSPACE."""
    monkeypatch.setenv("TWINFLOW_WORKSPACE", str(workspace_file))
    return workspace_file


def open_page(page: str) -> AppTest:
    """Return the app on `page` (a key of PAGES) with the invoices process chosen."""
    at = AppTest.from_file(MAIN, default_timeout=TIMEOUT).run()
    at.session_state["process"] = PROCESS
    at.switch_page(PAGES[page]).run()
    assert not at.exception, at.exception
    return at


def texts(elements) -> str:
    """Return the values of the elements joined in one string."""
    return "\n".join(str(e.value) for e in elements)


def frame_with(at: AppTest, column: str) -> pd.DataFrame:
    """Return the first table on the page that has `column`."""
    for frame in at.dataframe:
        if column in frame.value.columns:
            return frame.value
    raise AssertionError(f"no table with a {column!r} column")


def metrics(at: AppTest) -> dict[str, str]:
    """Return the page's metrics by label."""
    return {m.label: m.value for m in at.metric}


def variant_id(*activities: str) -> str:
    """Return the variant id of an activity sequence (as mining computes it)."""
    return hashlib.md5(chr(31).join(activities).encode()).hexdigest()


def test_site_filter_drives_every_page_and_persists(workspace: Path) -> None:
    at = open_page("variants")
    assert frame_with(at, "cases")["cases"].sum() == 4
    assert "4 of 4 cases" in texts(at.sidebar.caption)
    assert "Filtered" not in texts(at.caption)
    at.selectbox(key="_filter_site").select("Central").run()
    assert not at.exception
    assert frame_with(at, "cases")["cases"].sum() == 2
    assert "Filtered: 2 of 4 cases · site = Central" in texts(at.caption)
    assert "2 of 4 cases" in texts(at.sidebar.caption)

    at.switch_page(PAGES["performance"]).run()
    assert not at.exception
    assert at.selectbox(key="_filter_site").value == "Central"
    assert metrics(at)["Cases"] == "2"
    assert "site = Central" in texts(at.caption)

    at.switch_page(PAGES["kpis"]).run()
    assert not at.exception
    assert frame_with(at, "kpi")["cases"].max() == 2

    at.switch_page(PAGES["compliance"]).run()
    assert not at.exception
    row = frame_with(at, "cases_checked").set_index("rule").loc["Bill creator posts"]
    assert (row["cases_checked"], row["violations"]) == (2, 2)

    at.switch_page(PAGES["model"]).run()
    assert not at.exception
    assert "2 cases in 2 variants" in texts(at.caption)

    at.switch_page(PAGES["process_map"]).run()
    assert not at.exception
    assert "site = Central" in texts(at.caption)
    # The Data page draws no filters; coming back, the choice is still there.
    at.switch_page("views/data.py").run()
    at.switch_page(PAGES["performance"]).run()
    assert metrics(at)["Cases"] == "2"
    at.button(key="_filter_reset").click().run()
    assert metrics(at)["Cases"] == "4"
    assert at.selectbox(key="_filter_site").value is None


def test_activity_time_duration_and_variant_filters(workspace: Path) -> None:
    at = open_page("process_map")
    assert "Approve invoice" in at.get("graphviz_chart")[0].proto.spec
    at.multiselect(key="_filter_absent").select("Approve invoice").run()
    assert "Approve invoice" not in at.get("graphviz_chart")[0].proto.spec
    assert "3 of 4 cases" in texts(at.sidebar.caption)
    assert "without Approve invoice" in texts(at.caption)
    at.multiselect(key="_filter_absent").unselect("Approve invoice").run()

    at.switch_page(PAGES["performance"]).run()
    at.radio(key="_filter_time_mode").set_value("started in")
    at.date_input(key="_filter_time_from").set_value(date(2024, 2, 1)).run()
    assert metrics(at)["Cases"] == "3"
    at.date_input(key="_filter_time_to").set_value(date(2024, 2, 29)).run()
    assert metrics(at)["Cases"] == "1"
    assert "started in 2024-02-01 – 2024-02-29" in texts(at.caption)
    at.button(key="_filter_reset").click().run()
    assert metrics(at)["Cases"] == "4"

    at.number_input(key="_filter_duration_min").set_value(30.0).run()  # hours: i1, i2, i3
    assert metrics(at)["Cases"] == "3"
    at.radio(key="_filter_duration_unit").set_value("days").run()  # 30 days: none
    assert "No case passes the filters" in texts(at.warning)
    at.number_input(key="_filter_duration_min").set_value(5.0).run()  # i2 only
    assert metrics(at)["Cases"] == "1"
    at.button(key="_filter_reset").click().run()

    at.multiselect(key="_filter_ends").select("Post invoice").run()
    assert metrics(at)["Cases"] == "1"
    at.multiselect(key="_filter_ends").unselect("Post invoice")
    at.multiselect(key="_filter_starts").select("Create bill").run()
    assert metrics(at)["Cases"] == "4"
    at.multiselect(key="_filter_variants").select(variant_id("Create bill", "Post invoice", "Pay")).run()
    assert metrics(at)["Cases"] == "3"
    assert any(o.startswith("#1 (3 cases) Create bill → Post invoice → Pay")
               for o in at.multiselect(key="_filter_variants").options)


def test_filters_are_kept_per_process(workspace: Path) -> None:
    at = open_page("variants")
    at.multiselect(key="_filter_present").select("Approve invoice").run()
    assert frame_with(at, "cases")["cases"].sum() == 1
    at.selectbox(key="_process_pick").select("claims").run()
    assert not at.exception
    assert at.multiselect(key="_filter_present").value == []
    assert frame_with(at, "cases")["cases"].sum() == 1
    assert "Filtered" not in texts(at.caption)
    at.selectbox(key="_process_pick").select(PROCESS).run()
    assert at.multiselect(key="_filter_present").value == ["Approve invoice"]
    assert frame_with(at, "cases")["cases"].sum() == 1


def test_an_attribute_value_with_sql_stays_data(workspace: Path) -> None:
    at = open_page("performance")
    assert "site" not in at.selectbox(key="_filter_attribute_key").options
    at.selectbox(key="_filter_attribute_key").select("channel").run()
    assert MALICIOUS in at.selectbox(key="_filter_attribute_value").options
    at.selectbox(key="_filter_attribute_value").select(MALICIOUS).run()
    assert not at.exception
    assert metrics(at)["Cases"] == "1"
    assert f"channel = {MALICIOUS}" in texts(at.caption)
    con = connect(workspace)
    try:
        assert con.execute("SELECT count(*) FROM events").fetchone()[0] == 14
    finally:
        con.close()


@pytest.mark.parametrize("page", list(PAGES))
def test_an_empty_selection_shows_a_message(workspace: Path, page: str) -> None:
    at = open_page(page)
    at.multiselect(key="_filter_present").select("Approve invoice")
    at.multiselect(key="_filter_ends").select("Pay").run()
    assert not at.exception
    assert "No case passes the filters" in texts(at.warning)
    assert "0 of 4 cases" in texts(at.sidebar.caption)
    assert not at.dataframe and not at.metric


def counted(con, filters: Filters) -> int:
    """Count the passing cases and the calls (cached through state._cached)."""
    CALLS.append(filters)
    return case_count(con, filters)


CALLS: list[Filters] = []


def test_the_cache_is_keyed_by_the_filters(workspace: Path) -> None:
    state._cached.clear()
    CALLS.clear()
    central = Filters(process=PROCESS, attributes={"site": "Central"})
    approved = Filters(process=PROCESS, attributes={"site": "Central"}, activities_present=["Approve invoice"])

    def load(filters: Filters) -> int:
        return state._cached(__name__, "counted", str(workspace), (2, 2), (filters,))

    assert load(central) == 2
    assert load(approved) == 1
    assert load(Filters(process=PROCESS, attributes={"site": "North"})) == 2
    assert load(Filters(process=PROCESS, attributes={"site": "Central"})) == 2
    assert load(Filters(process=PROCESS, attributes={"site": MALICIOUS})) == 0
    assert load(central.model_copy()) == 2
    assert len(CALLS) == 4


def test_an_untouched_time_window_follows_new_events(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    log, path = tmp_path / "claims.csv", tmp_path / "ws.duckdb"
    log.write_text(CLAIMS_CSV, encoding="utf-8")
    import_file(log, ImportOptions(process="p"), workspace=path)
    monkeypatch.setenv("TWINFLOW_WORKSPACE", str(path))
    at = AppTest.from_file(MAIN, default_timeout=TIMEOUT).run()
    at.switch_page(PAGES["performance"]).run()
    at.radio(key="_filter_time_mode").set_value("started in").run()
    assert metrics(at)["Cases"] == "1"
    later = tmp_path / "later.csv"
    later.write_text(CLAIMS_CSV.replace("c1,", "c2,").replace("2024-01", "2024-06"), encoding="utf-8")
    import_file(later, ImportOptions(process="p"), workspace=path)
    at.run()
    assert at.date_input(key="_filter_time_to").value == date(2024, 6, 6)
    assert metrics(at)["Cases"] == "2"
    assert "Filtered" not in texts(at.caption)
