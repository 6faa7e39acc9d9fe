"""The mining commands of the `twinflow` CLI: maps, variants, bottlenecks, rework, KPIs, compliance,
conformance and automation candidates.

Each command takes a process and the shared filters as options, and prints a table (or writes CSV or JSON).
app/cli.py registers them; they call mining/ only.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import json
import sys
import typing
from collections.abc import Callable, Iterator
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import duckdb
import pandas as pd
import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

import mining
from ingest import connect, workspace_path
from mining import compliance, kpis
from mining.automation import automation_candidates, default_automation_config
from mining.bottlenecks import default_config as bottleneck_config
from mining.process_map import EXPORT_FORMATS, METRICS, render

out = Console(soft_wrap=True, width=None if sys.stdout.isatty() else 200)
err = Console(stderr=True, soft_wrap=True)


class Output(StrEnum):
    """How a command prints its result."""

    table = "table"
    csv = "csv"
    json = "json"


Process = Annotated[str, typer.Argument(help="Process name (see `twinflow info`).")]
WorkspaceOpt = Annotated[Path | None, typer.Option(
    "--workspace", "-w", help="Workspace file (default: $TWINFLOW_WORKSPACE or data/workspace.duckdb).")]
Site = Annotated[str | None, typer.Option(help="Only cases of this site.")]
Department = Annotated[str | None, typer.Option(help="Only cases of this department.")]
Attr = Annotated[list[str] | None, typer.Option(
    "--attr", help="Only cases whose attribute KEY has VALUE, as KEY=VALUE (repeatable).")]
From = Annotated[datetime | None, typer.Option("--from", help="Time window start (UTC unless an offset is given).")]
To = Annotated[datetime | None, typer.Option("--to", help="Time window end, exclusive.")]
Mode = Annotated[str, typer.Option(help="Cases that 'started', 'ended' or were 'active' in the window.")]
With = Annotated[list[str] | None, typer.Option("--with", help="Only cases containing this activity (repeatable).")]
Without = Annotated[list[str] | None, typer.Option("--without", help="Only cases without this activity.")]
MinHours = Annotated[float | None, typer.Option("--min-hours", help="Shortest case duration, hours.")]
MaxHours = Annotated[float | None, typer.Option("--max-hours", help="Longest case duration, hours.")]
Format = Annotated[Output, typer.Option("--output", "-o", help="table, csv or json.")]
OutFile = Annotated[Path | None, typer.Option("--out", help="Write to this file instead of the terminal.")]


def filters_from_options(process: str, site: str | None = None, department: str | None = None,
                         attr: list[str] | None = None, time_from: datetime | None = None,
                         time_to: datetime | None = None, time_mode: str = "active",
                         with_: list[str] | None = None, without: list[str] | None = None,
                         min_hours: float | None = None, max_hours: float | None = None) -> mining.Filters:
    """Return the Filters the command-line options describe, or exit with a one-line error."""
    attributes: dict[str, str] = {}
    for item in attr or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            fail(f"--attr takes KEY=VALUE, not {item!r}")
        attributes[key] = value
    if site is not None:
        attributes["site"] = site
    if department is not None:
        attributes["department"] = department
    try:
        return mining.Filters(
            process=process, attributes=attributes, time_from=time_from, time_to=time_to, time_mode=time_mode,
            activities_present=with_ or [], activities_absent=without or [],
            duration_min_s=None if min_hours is None else min_hours * 3600,
            duration_max_s=None if max_hours is None else max_hours * 3600)
    except ValidationError as exc:
        fail("; ".join(e["msg"] for e in exc.errors()))
        raise  # unreachable: fail exits


# The filter options every mining command takes: name -> (annotation, default); `filtered` adds them.
FILTER_OPTIONS: dict[str, tuple[object, object]] = {
    "site": (Site, None), "department": (Department, None), "attr": (Attr, None), "time_from": (From, None),
    "time_to": (To, None), "time_mode": (Mode, "active"), "with_": (With, None), "without": (Without, None),
    "min_hours": (MinHours, None), "max_hours": (MaxHours, None),
}


def filtered(command: Callable[..., None]) -> Callable[..., None]:
    """Return `command` taking the shared filter options instead of its `filters` parameter (a mining.Filters
    built from them and the `process` argument)."""
    hints = typing.get_type_hints(command, include_extras=True)
    own = [p.replace(annotation=hints[p.name]) for p in inspect.signature(command).parameters.values()
           if p.name != "filters"]
    extra = [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation)
             for name, (annotation, default) in FILTER_OPTIONS.items()]

    @functools.wraps(command)
    def run(**kwargs: object) -> None:
        options = {name: kwargs.pop(name, default) for name, (_, default) in FILTER_OPTIONS.items()}
        command(**kwargs, filters=filters_from_options(str(kwargs["process"]), **options))

    # typer reads the parameters from the signature: the command's own, then the filter options.
    del run.__wrapped__  # type: ignore[attr-defined]
    run.__signature__ = inspect.Signature(own + extra)  # type: ignore[attr-defined]
    return run


def fail(message: str) -> None:
    """Print a one-line error and exit with status 1."""
    err.print(f"[red]error:[/red] {message}", highlight=False)
    raise typer.Exit(1)


def existing_workspace(workspace: Path | None) -> Path:
    """Return the workspace's path, or exit with a one-line error when there is no workspace there."""
    path = workspace_path(workspace)
    if not path.exists():
        fail(f"no workspace at {path} (import a file or run `twinflow demo`)")
    return path


@contextlib.contextmanager
def process_workspace(workspace: Path | None, process: str) -> Iterator[duckdb.DuckDBPyConnection]:
    """Yield a read-only connection to the workspace holding `process`, closed afterwards; exit with a one-line
    error when there is no such workspace or process."""
    path = existing_workspace(workspace)
    try:
        con = connect(path, read_only=True)
    except duckdb.Error as exc:
        fail(f"cannot open workspace {path}: {str(exc).splitlines()[0]}")
    known = mining.processes(con)["process"].tolist()
    if process not in known:
        con.close()
        fail(f"no process {process!r} in {path}; known: {', '.join(known) or 'none'}")
    try:
        yield con
    finally:
        con.close()


def emit(df: pd.DataFrame, fmt: Output, out_file: Path | None = None, title: str | None = None) -> None:
    """Print `df` as a table, CSV or JSON records (or write it to `out_file`)."""
    if fmt is Output.csv:
        text = df.to_csv(index=False)
    elif fmt is Output.json:
        text = json.dumps(df.to_dict("records"), default=str, indent=1)
    else:
        if out_file is not None:
            fail("--out needs --output csv or json")
        table = Table(*[str(c) for c in df.columns], title=title)
        for row in df.itertuples(index=False):
            table.add_row(*[_cell(v) for v in row])
        out.print(table)
        return
    if out_file is None:
        print(text, end="" if text.endswith("\n") else "\n")
    else:
        out_file.write_text(text, encoding="utf-8")
        err.print(f"wrote {out_file}", highlight=False)


def _cell(value: object) -> str:
    if isinstance(value, float):
        return "" if pd.isna(value) else f"{value:,.3g}" if abs(value) < 1000 else f"{value:,.0f}"
    if isinstance(value, list | tuple):
        return " → ".join(map(str, value))
    return "" if value is None else str(value)


@filtered
def map_command(
    process: Process, workspace: WorkspaceOpt = None,
    metric: Annotated[str, typer.Option(help=f"Edge labels: {', '.join(METRICS)}.")] = "frequency",
    activities: Annotated[float, typer.Option(help="Share of activities kept, 0-1.")] = 1.0,
    paths: Annotated[float, typer.Option(help="Share of paths kept, 0-1.")] = 1.0,
    fmt: Annotated[str, typer.Option("--format", help="dot, svg or png.")] = "dot",
    out_file: OutFile = None,
    *, filters: mining.Filters,
) -> None:
    """Draw the process map (directly-follows graph) as DOT, SVG or PNG."""
    if fmt not in ("dot", *EXPORT_FORMATS):
        fail(f"--format must be dot, svg or png, not {fmt!r}")
    if fmt == "png" and out_file is None:
        fail("PNG is binary: give --out FILE")
    with process_workspace(workspace, process) as con:
        try:
            pm = mining.process_map(mining.dfg(con, filters), activities, paths, metric)
        except ValueError as exc:
            fail(str(exc))
    dot = mining.to_dot(pm)
    try:
        data = dot.encode() if fmt == "dot" else render(dot, fmt)
    except (RuntimeError, ValueError) as exc:
        fail(str(exc))
    if out_file is None:
        print(data.decode(), end="")
    else:
        out_file.write_bytes(data)
        err.print(f"wrote {out_file}", highlight=False)


@filtered
def variants_command(
    process: Process, workspace: WorkspaceOpt = None,
    top: Annotated[int, typer.Option(help="Show this many variants.")] = 20,
    output: Format = Output.table, out_file: OutFile = None,
    *, filters: mining.Filters,
) -> None:
    """List the most frequent variants with their cases, coverage and median duration."""
    with process_workspace(workspace, process) as con:
        found = mining.variants(con, filters, top=top)
    emit(found, output, out_file, title=f"{process}: top variants")


@filtered
def bottlenecks_command(
    process: Process, workspace: WorkspaceOpt = None,
    by: Annotated[str, typer.Option(help="Ranking to print: activities, transitions or resources.")] = "activities",
    timezone: Annotated[str, typer.Option(help="Zone in which weekdays are read.")] = "UTC",
    min_events: Annotated[int, typer.Option(
        help="Fewest events behind a statement about a segment, weekday or date-driven step.")] = 20,
    output: Format = Output.table, out_file: OutFile = None,
    *, filters: mining.Filters,
) -> None:
    """Print the bottleneck findings and the ranking of activities, transitions or resources by waiting."""
    if by not in ("activities", "transitions", "resources"):
        fail(f"--by must be activities, transitions or resources, not {by!r}")
    with process_workspace(workspace, process) as con:
        try:
            config = bottleneck_config(process, timezone).model_copy(update={"min_events": min_events})
            found = mining.bottlenecks(con, filters, config)
        except duckdb.Error as exc:
            fail(str(exc).splitlines()[0])
    ranking: pd.DataFrame = getattr(found, by)
    if output is Output.table:
        for i, finding in enumerate(found.findings, 1):
            out.print(f"{i:>2}. {finding}", highlight=False)
        ranking = ranking.drop(columns=["finding", "why"], errors="ignore")
    emit(ranking, output, out_file, title=f"{process}: {by} by waiting for people")


@filtered
def rework_command(
    process: Process, workspace: WorkspaceOpt = None,
    output: Format = Output.table, out_file: OutFile = None,
    *, filters: mining.Filters,
) -> None:
    """List the activities that are rework (repeats and corrections), most cases first."""
    with process_workspace(workspace, process) as con:
        found = mining.rework(con, filters)
    emit(found, output, out_file, title=f"{process}: rework")


@filtered
def kpis_command(
    process: Process, workspace: WorkspaceOpt = None,
    output: Format = Output.table, out_file: OutFile = None,
    *, filters: mining.Filters,
) -> None:
    """Print the KPIs of the process (definitions: see the KPIs page or mining/kpis.py)."""
    with process_workspace(workspace, process) as con:
        found = kpis.kpi_summary(con, filters, kpis.default_config(process))
    emit(found, output, out_file, title=f"{process}: KPIs")


@filtered
def compliance_command(
    process: Process, workspace: WorkspaceOpt = None,
    violations: Annotated[bool, typer.Option("--violations", help="List every violating case.")] = False,
    output: Format = Output.table, out_file: OutFile = None,
    *, filters: mining.Filters,
) -> None:
    """Check the default compliance rules of the process and print violations per rule."""
    rules = compliance.DEFAULT_RULES.get(process, [])
    if not rules:
        fail(f"no compliance rules are configured for {process!r}")
    with process_workspace(workspace, process) as con:
        if violations:
            found = pd.concat([compliance.check(con, filters, r).assign(rule=r.name) for r in rules],
                              ignore_index=True)
        else:
            found = compliance.compliance_summary(con, filters, rules)
    emit(found, output, out_file, title=f"{process}: compliance")


@filtered
def automation_command(
    process: Process, workspace: WorkspaceOpt = None,
    output: Format = Output.table, out_file: OutFile = None,
    *, filters: mining.Filters,
) -> None:
    """Rank the activities as automation candidates: value, feasibility, control class and the reason."""
    with process_workspace(workspace, process) as con:
        found = automation_candidates(con, filters, default_automation_config(process))
    if output is Output.table:
        found = found[["rank", "activity", "recommendation", "control_class", "value", "feasibility", "reason"]]
    emit(found, output, out_file, title=f"{process}: automation candidates")


@filtered
def conformance_command(
    process: Process, workspace: WorkspaceOpt = None,
    model: Annotated[Path | None, typer.Option(
        help="Reference model (.bpmn or .pnml); default: the inductive-miner model of the filtered cases.")] = None,
    noise: Annotated[float, typer.Option(help="Noise threshold of the discovered model, 0-1.")] = 0.2,
    method: Annotated[str, typer.Option(help="alignments or token_replay.")] = "alignments",
    cases: Annotated[bool, typer.Option("--cases", help="Print the fitness of every case instead.")] = False,
    output: Format = Output.table, out_file: OutFile = None,
    *, filters: mining.Filters,
) -> None:
    """Check every case against a reference model: fitness per case and the deviations with their cases."""
    from mining.conformance import conformance_to_discovered, conformance_to_file

    if method not in ("alignments", "token_replay"):
        fail(f"--method must be alignments or token_replay, not {method!r}")
    if model is not None and model.suffix.lower() not in (".bpmn", ".pnml"):
        fail(f"--model must be a .bpmn or .pnml file, not {model.name}")
    if model is not None and not model.is_file():
        fail(f"no model file {model}")
    with process_workspace(workspace, process) as con:
        try:
            if model is None:
                result = conformance_to_discovered(con, filters, noise, method)
            else:
                result = conformance_to_file(con, filters, model.read_bytes(), model.suffix.lower()[1:], method)
        except Exception as exc:  # noqa: BLE001 - an unusable model or an empty selection, as one line
            fail(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
    if cases:
        emit(result.cases, output, out_file, title=f"{process}: fitness per case")
        return
    if output is Output.table:
        out.print(f"{len(result.cases):,} cases, mean fitness {result.fitness:.4f}, {result.fit_share:.1%} fit",
                  highlight=False)
    emit(result.deviations.assign(case_ids=result.deviations.case_ids.map(list)) if output is not Output.table
         else result.deviations.drop(columns=["case_ids"]), output, out_file, title=f"{process}: deviations")


COMMANDS = {
    "map": map_command, "variants": variants_command, "bottlenecks": bottlenecks_command,
    "rework": rework_command, "kpis": kpis_command, "compliance": compliance_command,
    "automation": automation_command, "conformance": conformance_command,
}


def register(cli: typer.Typer) -> None:
    """Add the mining commands to the `twinflow` command line."""
    for name, command in COMMANDS.items():
        cli.command(name)(command)
