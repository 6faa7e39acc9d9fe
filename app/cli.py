"""The `twinflow` command line: import files, show what a workspace holds, build the demo, start the app, and
the mining commands of app/cli_mining.py (map, variants, bottlenecks, rework, kpis, compliance, automation,
conformance)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Annotated

import duckdb
import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

import mining
from app import cli_mining, cli_simulation, cli_simulation_validate
from ingest import ImportFailed, ImportOptions, connect, import_file, workspace_path
from synthetic.demo import build_demo

cli = typer.Typer(
    name="twinflow",
    help="Process mining and simulation workbench for healthcare administration.",
    no_args_is_help=True,
    add_completion=False,
)
out = Console(soft_wrap=True, width=None if sys.stdout.isatty() else 200)
err = Console(stderr=True, soft_wrap=True)

WorkspaceOption = Annotated[
    Path | None,
    typer.Option("--workspace", "-w", help="Workspace file (default: $TWINFLOW_WORKSPACE or data/workspace.duckdb)."),
]


def _progress() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                    TimeElapsedColumn(), console=err, transient=True, disable=not err.is_terminal)


def _open(path: Path) -> duckdb.DuckDBPyConnection:
    """Return a connection to the workspace, or exit with a one-line error when it cannot be opened."""
    try:
        return connect(path)
    except (duckdb.Error, RuntimeError) as exc:
        err.print(f"[red]error:[/red] cannot open workspace {path}: {str(exc).splitlines()[0]}", highlight=False)
        raise typer.Exit(1) from None


def _bar_callback(bar: Progress, name: str):
    """Return a loader progress callback that moves a rich progress bar."""
    task = bar.add_task(name, total=1.0)
    return lambda fraction, message: bar.update(task, completed=fraction, description=message)


@cli.command("import")
def import_command(
    paths: Annotated[list[Path], typer.Argument(
        help="Event log files: CSV/TSV (.gz, .zip), XES (.gz), Parquet, Excel.")],
    process: Annotated[str | None, typer.Option("--process", "-p", help="Process name (default: file name).")] = None,
    workspace: WorkspaceOption = None,
    case_id: Annotated[str | None, typer.Option(help="Column holding the case id.")] = None,
    activity: Annotated[str | None, typer.Option(help="Column holding the activity.")] = None,
    timestamp: Annotated[str | None, typer.Option(help="Column holding the (end) timestamp.")] = None,
    start: Annotated[str | None, typer.Option(help="Column holding the start timestamp.")] = None,
    resource: Annotated[str | None, typer.Option(help="Column holding the resource (person or system).")] = None,
    role: Annotated[str | None, typer.Option(help="Column holding the role.")] = None,
    lifecycle: Annotated[str | None, typer.Option(help="Column holding the lifecycle transition.")] = None,
    amount: Annotated[str | None, typer.Option(help="Column holding the amount.")] = None,
    currency: Annotated[str | None, typer.Option(help="Column holding the currency.")] = None,
    site: Annotated[str | None, typer.Option(help="Column holding the site or company.")] = None,
    department: Annotated[str | None, typer.Option(help="Column holding the department.")] = None,
    case_attribute: Annotated[list[str] | None, typer.Option(
        help="Column that describes the case (repeatable).")] = None,
    timezone: Annotated[str, typer.Option(help="IANA zone of timestamps without an offset.")] = "UTC",
    time_format: Annotated[str | None, typer.Option(
        help="strptime format of naive timestamps (detected if unset).")] = None,
    delimiter: Annotated[str | None, typer.Option(help="CSV delimiter (detected if unset).")] = None,
    encoding: Annotated[str | None, typer.Option(help="Text encoding (UTF-8, else cp1252, if unset).")] = None,
    sheet: Annotated[str | None, typer.Option(help="Excel sheet name (default: the first).")] = None,
    pseudonymise: Annotated[list[str] | None, typer.Option(
        help="Field or column to pseudonymise (repeatable), e.g. resource.")] = None,
    empty_case_id: Annotated[str | None, typer.Option(
        help="Case id for rows with an empty one (default: reject them).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the results as JSON.")] = False,
) -> None:
    """Import event-log files into the workspace: one transaction per file, bad rows quarantined."""
    mapping = {k: v for k, v in {
        "case_id": case_id, "activity": activity, "end_time": timestamp, "start_time": start,
        "resource": resource, "role": role, "lifecycle": lifecycle, "amount": amount, "currency": currency,
        "site": site, "department": department}.items() if v}
    results = []
    con = _open(workspace_path(workspace))
    try:
        for path in paths:
            try:
                options = ImportOptions(
                    process=process or path.name.split(".")[0], mapping=mapping, timezone=timezone,
                    time_format=time_format, delimiter=delimiter, encoding=encoding, sheet=sheet,
                    case_attributes=case_attribute or [], pseudonymise=pseudonymise or [],
                    empty_case_id=empty_case_id)
                with _progress() as bar:
                    result = import_file(path, options, con=con, progress=_bar_callback(bar, path.name))
            except (ImportFailed, ValueError) as exc:
                err.print(f"[red]error:[/red] {exc}", highlight=False)
                raise typer.Exit(1) from None
            results.append(result)
            if not as_json:
                out.print(result.summary(), highlight=False)
                for reason, rows in result.rejects_by_reason.items():
                    out.print(f"  rejected {rows:,}: {reason}", highlight=False)
    finally:
        con.close()
    if as_json:
        out.print_json(json.dumps([r.model_dump() for r in results]))


@cli.command()
def info(
    workspace: WorkspaceOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """Show what the workspace holds: processes, imports and quarantined rows."""
    path = cli_mining.existing_workspace(workspace)
    con = _open(path)
    try:
        procs = mining.processes(con)
        imports = mining.imports(con)
        rejects = mining.quality_report(con).rejects_by_reason
    finally:
        con.close()
    if as_json:
        payload = {"workspace": str(path), "processes": procs.to_dict("records"),
                   "imports": len(imports), "rejects": rejects.to_dict("records")}
        out.print_json(json.dumps(payload, default=str))
        return
    out.print(f"workspace {path}: {len(procs)} processes, {len(imports)} imports", highlight=False)
    table = Table("process", "cases", "events", "activities", "resources", "first event", "last event",
                  "with start")
    for row in procs.itertuples(index=False):
        table.add_row(row.process, f"{row.cases:,}", f"{row.events:,}", str(row.activities), str(row.resources),
                      str(row.first_event)[:19], str(row.last_event)[:19], f"{row.share_with_start:.0%}")
    out.print(table)
    if len(rejects):
        out.print("quarantined rows:")
        for row in rejects.itertuples(index=False):
            out.print(f"  {row.process}: {row.rows:,} {row.reason}", highlight=False)


@cli.command()
def demo(workspace: WorkspaceOption = None) -> None:
    """Build the demo workspace from the logs shipped in data/ (adds nothing if they are there already)."""
    with _progress() as bar:
        results = build_demo(workspace, progress=_bar_callback(bar, "demo"))
    for result in results:
        out.print(result.summary(), highlight=False)


@cli.command()
def app(
    workspace: WorkspaceOption = None,
    port: Annotated[int, typer.Option(help="Port to serve on.")] = 8501,
    host: Annotated[str, typer.Option(
        help="Address to bind; keep 127.0.0.1 unless you mean to share it.")] = "127.0.0.1",
) -> None:
    """Start the Streamlit app on the workspace (bound to 127.0.0.1 by default)."""
    env = dict(os.environ)
    env["TWINFLOW_WORKSPACE"] = str(workspace_path(workspace).resolve())
    script = Path(__file__).resolve().parent / "main.py"
    out.print(f"twinflow app: http://{host}:{port}  (workspace {env['TWINFLOW_WORKSPACE']})", highlight=False)
    command = [sys.executable, "-m", "streamlit", "run", str(script), "--server.address", host,
               "--server.port", str(port), "--server.headless", "true", "--browser.gatherUsageStats", "false",
               "--server.maxUploadSize", "2048", "--client.toolbarMode", "minimal"]
    raise typer.Exit(subprocess.call(command, env=env))


cli_mining.register(cli)
cli_simulation.register(cli)
cli_simulation_validate.register(cli)


def main() -> None:
    """Run the CLI."""
    cli()


if __name__ == "__main__":
    main()
