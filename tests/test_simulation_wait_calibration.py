"""Hidden delays checked by simulation (simulation/discovery/wait_calibration.py). A generated log in which one
clerk receives each invoice and matches it once the supplier has answered, days later: the clerk is busy for
about a third of each wait with other invoices, which the wait's decomposition counts as a queue, but the twin's
single clerk, lightly loaded, forms none. Without the check the twin's waits fall short of the log's; with it
they match. The check is off by default in discovery (see the README for why): discover(..., calibrate_delays=True);
the validation turns it on where a backtest on the training cases says it pays (delay_check="auto")."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from simulation import Model
from simulation.discovery import discover
from simulation.engine import simulate
from tests.test_simulation_discover import _working_start, write_workspace
from tests.test_simulation_discover_waits import _add_working

ANSWER_H = 24.0  # median working hours until the supplier answers (three working days)
PER_WEEK = 30  # invoices a week: the clerk works about a third of the shift


def generate_invoices(seed: int = 5, n: int = 600) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return (events, cases): Receive then, after the supplier's answer, Match, both by the one clerk."""
    rng = np.random.default_rng(seed)
    t0 = datetime(2024, 3, 4, tzinfo=UTC)
    arrivals = t0 + pd.to_timedelta(np.cumsum(rng.exponential(7 * 86400 / PER_WEEK, n)), unit="s")
    jobs = [(a.floor("s").to_pydatetime(), i, "Receive") for i, a in enumerate(arrivals)]
    free, rows = t0, []
    while jobs:
        jobs.sort(key=lambda j: j[0])
        ready, i, activity = jobs.pop(0)
        duration = timedelta(minutes=float(rng.uniform(20, 40) if activity == "Match" else rng.uniform(3, 8)))
        start = _working_start(max(ready, free), duration)
        free = start + duration
        rows.append({"case_id": f"V{i:04d}", "activity": activity, "start_time": start, "end_time": free,
                     "resource": "clerk", "role": "clerk"})
        if activity == "Receive":
            jobs.append((_add_working(free, float(rng.lognormal(np.log(ANSWER_H), 0.4))), i, "Match"))
    cases = pd.DataFrame({"case_id": [f"V{i:04d}" for i in range(n)], "amount": np.nan, "site": "Main",
                          "attributes": "{}"})
    return pd.DataFrame(rows), cases


def mean_wait_h(events: pd.DataFrame) -> float:
    """Return the mean hours from each case's Receive end to its Match end."""
    ends = events.pivot_table(index="case_id", columns="activity", values="end_time", aggfunc="max")
    ends = ends.dropna()
    return float((pd.to_datetime(ends["Match"]) - pd.to_datetime(ends["Receive"])).dt.total_seconds().mean() / 3600)


def twin_wait_h(model: Model) -> float:
    """Return the mean wait of two replications of the model's twin."""
    return float(np.mean([mean_wait_h(simulate(model, seed=2, replication=r).events) for r in range(2)]))


@pytest.fixture(scope="module")
def invoices(tmp_path_factory: pytest.TempPathFactory) -> tuple[pd.DataFrame, Model, Model]:
    events, cases = generate_invoices()
    path = write_workspace(tmp_path_factory.mktemp("answers") / "answers.duckdb", events, cases, process="answers")
    return events, discover(path, "answers"), discover(path, "answers", calibrate_delays=True)


def test_without_the_check_the_twin_waits_too_little(invoices):
    events, plain, _ = invoices
    assert plain.activity("Match").delay_for("Receive") is not None, plain.notes["delays"]
    real, twin = mean_wait_h(events), twin_wait_h(plain)
    assert twin < 0.8 * real, (twin, real)


def test_the_check_scales_the_delay_until_the_twin_waits_as_the_log(invoices):
    events, plain, checked = invoices
    assert "Match after Receive" in checked.notes["delay calibration"]
    before = plain.activity("Match").delay_for("Receive").mean_value()
    after = checked.activity("Match").delay_for("Receive").mean_value()
    assert after > 1.2 * before, (before, after)
    real, twin = mean_wait_h(events), twin_wait_h(checked)
    assert abs(twin / real - 1) < 0.15, (twin, real)
    # Nothing else moves: the same activities, roles and routing.
    assert [a.name for a in checked.activities] == [a.name for a in plain.activities]
    assert checked.roles == plain.roles and checked.decisions == plain.decisions
    assert Model.from_yaml(checked.to_yaml()) == checked


def test_a_wait_the_twin_already_reproduces_is_left_alone(tmp_path):
    # Ten clerks share the work: each is busy a tenth as much during a wait, the decomposition leaves nearly all
    # of it to the delay, and the twin waits as the log does.
    events, cases = generate_invoices(seed=6)
    events["resource"] = [f"clerk {i % 10}" for i in range(len(events))]
    path = write_workspace(tmp_path / "spread.duckdb", events, cases, process="spread")
    model = discover(path, "spread", calibrate_delays=True)
    assert "no wait falls short" in model.notes["delay calibration"], model.notes["delay calibration"]


def test_the_command_line_checks_the_delays_when_asked(tmp_path):
    from typer.testing import CliRunner

    from app.cli import cli

    events, cases = generate_invoices()
    path = write_workspace(tmp_path / "answers.duckdb", events, cases, process="answers")
    plain, checked = tmp_path / "plain.yaml", tmp_path / "checked.yaml"
    assert CliRunner().invoke(cli, ["discover", "answers", "-w", str(path), "--out", str(plain)]).exit_code == 0
    result = CliRunner().invoke(cli, ["discover", "answers", "-w", str(path), "--out", str(checked),
                                      "--delay-check", "on"])
    assert result.exit_code == 0, result.output
    before = Model.from_yaml(plain.read_text()).activity("Match").delay_for("Receive").mean_value()
    after = Model.from_yaml(checked.read_text()).activity("Match").delay_for("Receive").mean_value()
    assert after > 1.2 * before, (before, after)
    assert Model.from_yaml(plain.read_text()).notes["delay check"] == "hidden delays not checked (given)."
    wrong = CliRunner().invoke(cli, ["discover", "answers", "-w", str(path), "--delay-check", "maybe"])
    assert wrong.exit_code != 0 and "--delay-check must be off, on or auto" in wrong.output


def test_discovery_checks_the_delays_when_the_logs_own_backtest_says_it_pays(tmp_path):
    from simulation.training_backtest import discover_with_delay_check

    events, cases = generate_invoices()
    path = write_workspace(tmp_path / "answers.duckdb", events, cases, process="answers")
    steps: list[float] = []
    model = discover_with_delay_check(path, "answers", "auto", progress=lambda f, m: steps.append(f))
    note = model.notes["delay check"]
    assert note.startswith("hidden delays checked by simulation: backtested on the log's last 20%"), note
    assert "Match after Receive" in model.notes["delay calibration"]
    assert steps[0] == 0.0 and steps == sorted(steps) and steps[-1] == 1.0
    # Where ten clerks share the work, the check changes nothing, so the model is discovery's own.
    events, cases = generate_invoices(seed=6)
    events["resource"] = [f"clerk {i % 10}" for i in range(len(events))]
    path = write_workspace(tmp_path / "spread.duckdb", events, cases, process="spread")
    spread = discover_with_delay_check(path, "spread", "auto")
    assert "changes nothing (no wait falls short)" in spread.notes["delay check"], spread.notes["delay check"]
    assert spread.activities == discover(path, "spread").activities


def test_the_validation_checks_the_delays_where_the_training_cases_say_it_pays(tmp_path):
    from simulation.validation import validate

    events, cases = generate_invoices()
    path = write_workspace(tmp_path / "answers.duckdb", events, cases, process="answers")
    auto = validate(path, "answers", replications=2, window=None)
    plain = validate(path, "answers", replications=2, window=None, delay_check=False)
    assert auto.delays_checked and not plain.delays_checked
    note = next(n for n in auto.notes if n.startswith("hidden delays"))
    assert "checked by simulation: backtested" in note, note
    score = float(note.split(" times ")[0].rsplit(" ", 1)[1])
    assert score < 1, note
    assert "hidden delays not checked (given)." in plain.notes
    # The backtest's verdict holds on the real test period: the waits after Receive, and so the cases' cycle
    # times, come closer to the log's.
    by = {name: r.measures.set_index("measure")["twin_mean"] for name, r in (("auto", auto), ("plain", plain))}
    assert by["auto"]["relative_event"] < 0.7 * by["plain"]["relative_event"], by
    assert by["auto"]["cycle_time"] < 0.7 * by["plain"]["cycle_time"], by
    with pytest.raises(ValueError, match="delay_check"):
        validate(path, "answers", replications=1, window=None, delay_check="sometimes")


def test_the_validation_leaves_delays_alone_where_the_check_changes_nothing(tmp_path):
    from simulation.validation import validate

    events, cases = generate_invoices(seed=6)
    events["resource"] = [f"clerk {i % 10}" for i in range(len(events))]
    path = write_workspace(tmp_path / "spread.duckdb", events, cases, process="spread")
    result = validate(path, "spread", replications=1, window=None)
    assert not result.delays_checked
    note = next(n for n in result.notes if n.startswith("hidden delays"))
    assert "changes nothing" in note and "no wait falls short" in note, note


def test_the_validate_command_takes_the_delay_check(tmp_path):
    from typer.testing import CliRunner

    from tests.test_simulation_validation import _cli

    events, cases = generate_invoices()
    path = write_workspace(tmp_path / "answers.duckdb", events, cases, process="answers")
    runner = CliRunner()
    base = ["validate", "answers", "-w", str(path), "--window", "all", "--replications", "1"]
    off = runner.invoke(_cli(), [*base, "--delay-check", "off"])
    assert off.exit_code == 0, off.output
    assert "hidden delays not checked (given)" in " ".join(off.output.split())
    wrong = runner.invoke(_cli(), [*base, "--delay-check", "maybe"])
    assert wrong.exit_code != 0 and "--delay-check must be auto, on or off" in wrong.output
