"""The Scenario lab page, run headless with AppTest on a small synthetic workspace: the as-is, a scenario built
through the forms, a run with its results, saving and loading, and the messages for what cannot be done."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from simulation.spec import Scenario, Staffing
from simulation.store import list_models, list_results, load_model, load_scenario

ROOT = Path(__file__).resolve().parents[1]
MAIN = ROOT / "app" / "main.py"
PAGE = "views/scenario_lab.py"
PROCESS = "service_requests"
ROLE = "IT service desk agent"
TIMEOUT = 60


@pytest.fixture(scope="module")
def synthetic_workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return a workspace with one month of a small synthetic organisation (a few hundred cases per process)."""
    from synthetic import generate
    from synthetic.export import load_into_workspace

    path = tmp_path_factory.mktemp("lab") / "lab.duckdb"
    load_into_workspace(generate(seed=3, months=1, volume=0.2), path)
    return path


@pytest.fixture
def lab(synthetic_workspace: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    """Return the app on the Scenario lab page with the service requests chosen."""
    monkeypatch.setenv("TWINFLOW_WORKSPACE", str(synthetic_workspace))
    at = AppTest.from_file(MAIN, default_timeout=TIMEOUT).run()
    at.switch_page(PAGE).run()
    at.selectbox(key="_process_pick").select(PROCESS).run()
    assert not at.exception
    return at


def texts(elements) -> str:
    """Return the values of the elements joined in one string, for substring checks."""
    return "\n".join(str(e.value) for e in elements)


def add_scenario(at: AppTest, name: str) -> None:
    """Create an empty scenario through the form."""
    at.text_input(key="lab_new_name").input(name)
    at.form_submit_button(key="FormSubmitter:lab_new_scenario-Create").click().run()
    assert not at.exception


def add_staffing(at: AppTest, role: str, delta: int) -> None:
    """Add a Staffing change to the scenario being edited through its form."""
    at.selectbox(key="lab_change_kind").select("staffing").run()
    at.selectbox(key="lab_staffing_role").select(role)
    at.number_input(key="lab_staffing_delta").set_value(delta)
    at.form_submit_button(key="FormSubmitter:lab_form_staffing-Add to scenario").click().run()
    assert not at.exception


def test_page_shows_the_discovered_as_is(lab: AppTest) -> None:
    assert lab.title[0].value == "Scenario lab"
    metrics = {m.label: m.value for m in lab.metric}
    assert float(metrics["Cases per week"]) > 0
    assert int(metrics["Activities"]) >= 3
    roles = next(f.value for f in lab.dataframe if "headcount" in f.value.columns)
    assert ROLE in set(roles["role"]) and (roles["headcount"] > 0).all()
    # No rates configured: every role costs the default rate, and the page says that it is not a real wage.
    assert (roles["hourly_cost"] == 50).all()
    assert "Every role costs the default rate of 50.00 per hour" in texts(lab.caption)
    assert "You can still run the as-is alone" in texts(lab.info)
    assert [e for e in lab.get("download_button")], "model YAML download missing"


def test_staffing_change_run_and_results(lab: AppTest, synthetic_workspace: Path) -> None:
    add_scenario(lab, "two more agents")
    add_staffing(lab, ROLE, 2)
    assert not lab.error, texts(lab.error)
    [scenario] = lab.session_state["scenario_lab_scenarios"][PROCESS]
    [change] = scenario.changes
    assert isinstance(change, Staffing) and change.role == ROLE and change.headcount == 2 + 2
    assert f"**Staffing** of {ROLE}: headcount 4" in texts(lab.markdown)

    lab.number_input(key="lab_replications").set_value(2)
    lab.selectbox(key="lab_executor").select("threads")
    lab.button(key="lab_run").click().run()
    assert not lab.exception
    assert not lab.error, texts(lab.error)
    table = next(f.value for f in lab.dataframe if "as-is" in f.value.columns)
    assert {"as-is", "two more agents", "Δ two more agents"} <= set(table.columns)
    assert "cycle_time_median_h" in table.index and "±" in table.loc["cycle_time_median_h", "as-is"]
    assert "Over 2 replications" in texts(lab.markdown)
    # The KPI model chart of the as-is, headline KPIs with intervals, cycle times and waiting per activity.
    assert len(lab.get("vega_lite_chart")) >= 4
    assert "Median cycle time (h)" in {m.label for m in lab.metric}

    lab.button(key="lab_save_result").click().run()
    assert "Saved as" in texts(lab.success)
    assert len(list_results(synthetic_workspace, PROCESS)) >= 1
    lab.button(key="lab_saved_show").click().run()
    assert not lab.exception
    assert "saved result" in texts(lab.caption)


def test_save_then_load_a_scenario_round_trips(lab: AppTest, synthetic_workspace: Path) -> None:
    add_scenario(lab, "round trip")
    add_staffing(lab, ROLE, 1)
    built = lab.session_state["scenario_lab_scenarios"][PROCESS][0]
    lab.button(key="lab_save_scenario").click().run()
    assert load_scenario(synthetic_workspace, "round trip", PROCESS) == built
    lab.button(key="lab_remove_scenario").click().run()
    assert lab.session_state["scenario_lab_scenarios"][PROCESS] == []
    lab.selectbox(key="lab_load_pick").select("round trip")
    lab.run()
    # The picker says what the kept scenario changes before it is loaded.
    assert built.changes[0].describe() in texts(lab.caption)
    lab.button(key="lab_load").click().run()
    assert not lab.exception
    assert lab.session_state["scenario_lab_scenarios"][PROCESS] == [built]


def test_a_scenario_with_an_unknown_role_is_refused(lab: AppTest) -> None:
    lab.session_state["scenario_lab_scenarios"] = {
        PROCESS: [Scenario(name="ghost", changes=[Staffing(role="nobody", headcount=3)])]}
    lab.run()
    assert "unknown role 'nobody'" in texts(lab.error)
    lab.number_input(key="lab_replications").set_value(1)
    lab.selectbox(key="lab_executor").select("threads")
    lab.button(key="lab_run").click().run()
    assert not lab.exception
    # The scenario's own box and the run both name the unknown role, and nothing is stored as a result.
    assert sum("unknown role 'nobody'" in e.value for e in lab.error) == 2
    assert "scenario_lab_results" not in lab.session_state or PROCESS not in lab.session_state["scenario_lab_results"]


def test_an_invalid_uploaded_model_shows_one_error_line(lab: AppTest) -> None:
    lab.file_uploader(key="lab_model_upload").set_value(("model.yaml", b"name: x\nprocess: [1\n", "text/yaml"))
    lab.run()
    assert not lab.exception
    errors = [e.value for e in lab.error]
    assert len(errors) == 1 and errors[0].startswith("The uploaded model is not valid") and "\n" not in errors[0]
    # The discovered model stays in use.
    assert {m.label for m in lab.metric} >= {"Cases per week", "Activities"}


def test_an_unknown_time_zone_is_reported(lab: AppTest) -> None:
    lab.text_input(key="lab_timezone").input("Mars/Olympus").run()
    assert not lab.exception
    assert "cannot be modelled" in texts(lab.error)


def test_empty_workspace_shows_the_info_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TWINFLOW_WORKSPACE", str(tmp_path / "new.duckdb"))
    at = AppTest.from_file(MAIN, default_timeout=TIMEOUT).run()
    at.switch_page(PAGE).run()
    assert not at.exception
    assert "holds no events yet" in texts(at.info)


def test_the_as_is_hidden_delays_can_be_checked_by_a_backtest(lab: AppTest) -> None:
    notes = texts(lab.markdown)
    assert "**delay check**: hidden delays not checked (given)." in notes
    lab.selectbox(key="lab_delay_check").select("a backtest decides").run(timeout=180)
    assert not lab.exception
    notes = texts(lab.markdown)
    # The verdict of the backtest on the log's own last fifth, whichever way it goes, is in the model's notes.
    assert "**delay check**: hidden delays" in notes and "on the log's" in notes, notes[-2000:]
    assert {m.label for m in lab.metric} >= {"Cases per week", "Activities"}


def edit_table(at: AppTest, table: str, rows: dict[int, dict], added: list[dict] | None = None) -> None:
    """Edit rows of one of the as-is model's tables (roles, shifts, activities, routing) as a person would."""
    base = at.session_state[f"lab_model_{PROCESS}_editors"]
    at.session_state[f"{base}_{table}"] = {"edited_rows": rows, "added_rows": added or [], "deleted_rows": []}
    at.run()
    assert not at.exception


def test_the_as_is_can_be_reviewed_and_edited_before_the_run(lab: AppTest) -> None:
    # Pictures to review: people at work over the week, processing times, arrivals (Altair) and the routing graph.
    assert len(lab.get("graphviz_chart")) == 1 and len(lab.get("vega_lite_chart")) >= 3
    assert [t.label for t in lab.tabs][:6] == ["Roles", "Working hours", "Activities", "Routing", "Arrivals",
                                                "Cases"]
    people = int(next(m.value for m in lab.metric if m.label == "People"))
    roles = next(f.value for f in lab.dataframe if "headcount" in f.value.columns)
    row = int(roles.index[roles["role"] == ROLE][0])
    before = int(roles.loc[row, "headcount"])
    # A new calendar made in the shifts table, given to the role with two more people.
    edit_table(lab, "shifts", {}, [{"calendar": "evening desk", "days": "Mon,Tue,Wed,Thu,Fri", "start": "16:00",
                                    "end": "22:00"}])
    edit_table(lab, "roles", {row: {"headcount": before + 2, "calendar": "evening desk"}})
    assert not lab.error, texts(lab.error)
    banner = texts(lab.markdown)
    assert "The as-is model with 3 edits" in banner
    assert f"role {ROLE}: headcount {before} → {before + 2}" in banner and "calendar evening desk: new" in banner
    assert int(next(m.value for m in lab.metric if m.label == "People")) == people + 2
    # The run simulates the edited model, which carries its edits in its notes.
    lab.number_input(key="lab_replications").set_value(1)
    lab.selectbox(key="lab_executor").select("threads")
    lab.button(key="lab_run").click().run()
    assert not lab.exception and not lab.error, texts(lab.error)
    model = lab.session_state["scenario_lab_results"][PROCESS].experiment.model
    assert model.role(ROLE).headcount == before + 2 and model.role(ROLE).calendar == "evening desk"
    assert "calendar evening desk: new" in model.notes["edited"]
    # Undo: the editors start again from the discovered model.
    lab.button(key="lab_undo_edits").click().run()
    assert "The as-is model with" not in texts(lab.markdown)
    assert int(next(m.value for m in lab.metric if m.label == "People")) == people


def test_sla_targets_and_case_shares_are_edited_in_the_cases_tab(lab: AppTest) -> None:
    sla = next(f.value for f in lab.dataframe if "target_h" in f.value.columns)
    p1 = int(sla.index[sla["value"] == "P1"][0])
    categories = next(f.value for f in lab.dataframe if "share" in f.value.columns)
    high = categories[(categories["attribute"] == "priority") & (categories["site"] == "")]
    edit_table(lab, "sla", {p1: {"target_h": 2.0}})
    edit_table(lab, "categories", {int(high.index[0]): {"share": 0.0}})
    assert not lab.error, texts(lab.error)
    banner = texts(lab.markdown)
    assert f"SLA target P1: {float(sla.loc[p1, 'target_h']):g} h → 2 h" in banner
    assert f"attribute priority: {high['value'].iloc[0]} " in banner and "The as-is model with 2 edits" in banner


def test_an_edit_the_model_cannot_take_is_refused_and_the_model_kept(lab: AppTest) -> None:
    routing = next(f.value for f in lab.dataframe if "probability" in f.value.columns)
    free = routing[(routing["rule"] == "") & (routing["probability"] < 1)]
    row = int(free.index[0])
    edit_table(lab, "routing", {row: {"probability": float(free.loc[row, "probability"]) / 2}})
    [error] = lab.error
    assert "This edit cannot be taken" in error.value and "the probabilities now sum to" in error.value
    assert "The as-is model with" not in texts(lab.markdown)


def test_an_edited_model_is_kept_in_the_workspace_and_started_from_again(lab: AppTest,
                                                                          synthetic_workspace: Path) -> None:
    roles = next(f.value for f in lab.dataframe if "headcount" in f.value.columns)
    row = int(roles.index[roles["role"] == ROLE][0])
    before = int(roles.loc[row, "headcount"])
    edit_table(lab, "roles", {row: {"headcount": before + 4}})
    people = int(next(m.value for m in lab.metric if m.label == "People"))
    lab.text_input(key="lab_keep_name").input("four more agents").run()
    lab.button(key="lab_keep_model").click().run()
    assert not lab.exception
    kept = list_models(synthetic_workspace, PROCESS)
    assert "four more agents" in set(kept["name"])
    assert f"role {ROLE}: headcount {before} → {before + 4}" in kept.set_index("name").loc["four more agents", "edits"]
    # Started from again: the kept model, edits included, with nothing left pending in the editors.
    lab.selectbox(key="lab_model_source").set_value("four more agents").run()
    assert not lab.exception and not lab.error, texts(lab.error)
    assert int(next(m.value for m in lab.metric if m.label == "People")) == people
    assert "The as-is model with" not in texts(lab.markdown)
    assert lab.text_input(key="lab_timezone").disabled
    assert load_model(synthetic_workspace, "four more agents", PROCESS).role(ROLE).headcount == before + 4


def test_routing_probabilities_are_edited_and_the_graph_follows(lab: AppTest) -> None:
    routing = next(f.value for f in lab.dataframe if "probability" in f.value.columns)
    free = routing[routing["rule"] == ""]
    # A decision with two branches by chance, of different probabilities: swapping them keeps the sum at 1.
    decision = next(d for d, g in free.groupby("decision") if len(g) == 2 and g["probability"].nunique() == 2)
    a, b = free[free["decision"] == decision].index[:2]
    edit_table(lab, "routing", {int(a): {"probability": float(routing.loc[b, "probability"])},
                                int(b): {"probability": float(routing.loc[a, "probability"])}})
    assert not lab.error, texts(lab.error)
    assert f"routing after {routing.loc[a, 'after']}: " in texts(lab.markdown)
    dot = lab.get("graphviz_chart")[0].proto.spec
    edge = f'"{routing.loc[a, "after"]}" -> "{routing.loc[a, "to"]}" [label="{routing.loc[b, "probability"]:.0%}"'
    assert edge in dot, dot
