"""The `twinflow validate` command: validation of the digital twin on a held-out test period, with the measures
of published simulation-discovery research next to a naive reference (see simulation/validation.py).

app/cli.py registers it with `register(cli)`.
"""

from __future__ import annotations

import math
from typing import Annotated

import duckdb
import pandas as pd
import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from app.cli_mining import Format, Output, Process, WorkspaceOpt, emit, err, fail, out, process_workspace


def _progress() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                    TimeElapsedColumn(), console=err, transient=True, disable=not err.is_terminal)


def _plain(df: pd.DataFrame) -> pd.DataFrame:
    # JSON has no NaN: a spread over one replication is reported as null.
    return df.astype(object).map(lambda v: None if isinstance(v, float) and math.isnan(v) else v)


def validate_command(
    process: Process, workspace: WorkspaceOpt = None,
    test_share: Annotated[float, typer.Option("--test-share", help="Share of the cases, the last by start, held "
                                                                   "out as the test period (0-1).")] = 0.2,
    replications: Annotated[int, typer.Option("--replications", help="Simulated logs averaged.")] = 3,
    seed: Annotated[int, typer.Option(help="Random seed of the simulation.")] = 0,
    timezone: Annotated[str | None, typer.Option(help="Time zone of the log's working hours (default: as the "
                                                      "discovery finds).")] = None,
    window: Annotated[str, typer.Option(help="Training cases the twin is discovered on: 'auto' (the window that "
                                             "validates best on the training cases themselves), 'all', or the "
                                             "days before the cut.")] = "auto",
    delay_check: Annotated[str, typer.Option("--delay-check", help="Check the hidden delays by simulation "
                                             "(discover --calibrate-delays): 'auto' (when that validates better "
                                             "on the training cases themselves), 'on' or 'off'.")] = "auto",
    censor: Annotated[bool, typer.Option("--censor/--no-censor", help="Compare only what the log could have "
                                         "recorded by its extraction moment (like-for-like; not the published "
                                         "protocol): simulated events ending after the log's last recorded event "
                                         "are dropped before measuring.")] = False,
    output: Format = Output.table,
) -> None:
    """Validate the twin: discover on the first cases, simulate the test period, compare with reality."""
    from simulation.validation import validate

    if not 0 < test_share < 1:
        fail(f"--test-share must be between 0 and 1, not {test_share}")
    if replications < 1:
        fail(f"--replications must be at least 1, not {replications}")
    days: float | str | None = None if window == "all" else window
    if window not in ("auto", "all"):
        try:
            days = float(window)
        except ValueError:
            fail(f"--window must be auto, all or a number of days, not {window!r}")
    checks = {"auto": "auto", "on": True, "off": False}
    if delay_check not in checks:
        fail(f"--delay-check must be auto, on or off, not {delay_check!r}")
    with process_workspace(workspace, process) as con:
        try:
            with _progress() as bar:
                task = bar.add_task("validating", total=1.0)
                result = validate(con, process, test_share=test_share, replications=replications, seed=seed,
                                  timezone=timezone, window=days, censor=censor,
                                  delay_check=checks[delay_check],
                                  progress=lambda f, m: bar.update(task, completed=f, description=m))
        except (ValueError, duckdb.Error) as exc:
            fail(str(exc).splitlines()[0])
            raise  # unreachable: fail exits
    table = result.measures[["measure", "unit", "twin_mean", "twin_sd", "naive", "twin_better", "between_twins"]]
    if output is Output.table:
        for note in result.notes:
            out.print(note, highlight=False)
        view = ", like-for-like: cut at the extraction moment" if result.censored_at is not None else ""
        emit(table, output, title=f"{process}: twin vs naive on the test period{view} (distances, lower = better)")
        better = int(table["twin_better"].sum())
        out.print(f"twin better than naive on {better} of {len(table)} measures (between_twins: the twin against "
                  f"itself, consecutive replications: its own noise); "
                  f"{sum(v for k, v in result.timings.items() if k.endswith('_s')):.1f} s", highlight=False)
    else:
        emit(_plain(table), output)


def register(cli: typer.Typer) -> None:
    """Add the `validate` command to the `twinflow` command line."""
    cli.command("validate")(validate_command)
