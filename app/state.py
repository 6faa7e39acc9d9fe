"""Session state shared by the pages: the current workspace, connections to it and cached queries."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import pandas as pd
import streamlit as st

import mining
from ingest import connect, workspace_path

T = TypeVar("T")

WORKSPACE_KEY = "workspace"
PROCESS_KEY = "process"
# Sidebar filter choices per process ({process: {filter: value}}), see app/filters.py.
FILTERS_KEY = "filters"
_PICK_KEY = "_workspace_pick"
_TYPED_KEY = "_workspace_typed"
_NOTICE_KEY = "_workspace_notice"
_PROCESS_PICK_KEY = "_process_pick"


def current_workspace() -> Path:
    """Return the workspace file this session works on (default: $TWINFLOW_WORKSPACE)."""
    if WORKSPACE_KEY not in st.session_state:
        st.session_state[WORKSPACE_KEY] = str(workspace_path().expanduser().resolve())
    return Path(st.session_state[WORKSPACE_KEY])


def sibling_workspaces(path: Path) -> list[Path]:
    """Return the .duckdb files in the folder of `path`, sorted, with `path` itself always included."""
    folder = path.parent
    found = set(folder.glob("*.duckdb")) if folder.is_dir() else set()
    return sorted(found | {path})


def workspace_switcher() -> Path:
    """Render the sidebar workspace switcher and return the workspace chosen."""
    current = current_workspace()
    with st.sidebar:
        st.subheader("Workspace")
        st.code(str(current), language=None, wrap_lines=True)
        if not current.exists():
            st.caption("This file does not exist yet: importing a file creates it.")
        # The pick mirrors the current workspace on every run, so a typed path shows up as selected too.
        st.session_state[_PICK_KEY] = str(current)
        st.selectbox("Switch to a workspace in this folder", [str(p) for p in sibling_workspaces(current)],
                     key=_PICK_KEY, format_func=lambda p: Path(p).name, on_change=_picked)
        st.text_input("Or open a workspace file", key=_TYPED_KEY, on_change=_typed,
                      placeholder="/path/to/workspace.duckdb",
                      help="A .duckdb file; a new one is created when you import a file into it.")
        if notice := st.session_state.pop(_NOTICE_KEY, None):
            st.warning(notice)
    return current


def _picked() -> None:
    _switch(Path(st.session_state[_PICK_KEY]))


def _typed() -> None:
    typed = st.session_state[_TYPED_KEY].strip()
    # Clear the box so the sidebar shows the workspace in use, not a stale entry.
    st.session_state[_TYPED_KEY] = ""
    if not typed:
        return
    path = Path(typed).expanduser().resolve()
    if path.is_dir():
        st.session_state[_NOTICE_KEY] = f"{path} is a folder: give the path of a .duckdb file."
    elif path.suffix != ".duckdb":
        st.session_state[_NOTICE_KEY] = f"{path.name} is not a .duckdb file."
    else:
        _switch(path)


def _switch(path: Path) -> None:
    st.session_state[WORKSPACE_KEY] = str(path)
    st.session_state.pop(PROCESS_KEY, None)
    # Another workspace may hold a process of the same name with other activities and values.
    st.session_state.pop(FILTERS_KEY, None)


def page_process(title: str) -> str:
    """Render a page's title and process selector and return the process; stop on an empty workspace."""
    st.title(title)
    procs = load(mining.processes) if current_workspace().exists() else None
    if procs is None or procs.empty:
        st.info("This workspace holds no events yet: import an event log on the Data page first.",
                icon=":material/inbox:")
        st.stop()
    return process_selector(procs)


def process_selector(procs: pd.DataFrame, label: str = "Process") -> str:
    """Render the selector of the processes in `procs` (mining.processes) and return the process chosen; every page
    shares the choice, and before any choice it is the one with the most events (a workspace's main process, not the
    first by name)."""
    processes = procs["process"].tolist()
    # The choice lives under a plain key: Streamlit drops a widget's state on pages that do not draw it.
    if st.session_state.get(PROCESS_KEY) not in processes:
        st.session_state[PROCESS_KEY] = procs.loc[procs["events"].idxmax(), "process"]
    st.session_state[_PROCESS_PICK_KEY] = st.session_state[PROCESS_KEY]
    return st.selectbox(label, processes, key=_PROCESS_PICK_KEY, on_change=_process_picked)


def _process_picked() -> None:
    st.session_state[PROCESS_KEY] = st.session_state[_PROCESS_PICK_KEY]


def select_process(process: str) -> None:
    """Make `process` the chosen process from the next run on."""
    st.session_state[PROCESS_KEY] = process


@contextmanager
def connection(path: Path | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """Yield a connection to the workspace, closed afterwards so imports (also from the CLI) can write."""
    path = path or current_workspace()
    try:
        con = connect(path)
    except duckdb.IOException as exc:
        st.error(f"Cannot open the workspace {path}: {str(exc).splitlines()[0]}")
        st.stop()
    try:
        yield con
    finally:
        con.close()


def workspace_version(path: Path | None = None) -> tuple[int, int]:
    """Return (number of imports, latest import id): it changes with every import that commits."""
    path = path or current_workspace()
    if not path.exists():
        return (0, 0)
    return _version(str(path), _file_stamp(path))


def _file_stamp(path: Path) -> tuple:
    # A commit rewrites the database file or its write-ahead log: while neither changes, neither does the
    # version, and a stat is much cheaper than opening the workspace for every cached query of a run.
    stamp = []
    for file in (path, path.with_name(path.name + ".wal")):
        try:
            info = file.stat()
        except FileNotFoundError:
            stamp.append(None)
        else:
            stamp.append((info.st_mtime_ns, info.st_size))
    return tuple(stamp)


@st.cache_data(show_spinner=False, max_entries=64)
def _version(path: str, stamp: tuple) -> tuple[int, int]:
    with connection(Path(path)) as con:
        return mining.workspace_version(con)


def load(query: Callable[..., T], *args: Any) -> T:
    """Return `query(con, *args)` on the current workspace, cached until the workspace changes."""
    path = current_workspace()
    return _cached(query.__module__, query.__qualname__, str(path), workspace_version(path), args)


@st.cache_data(show_spinner=False, max_entries=256)
def _cached(module: str, name: str, path: str, version: tuple[int, int], args: tuple) -> Any:
    # Keyed by the function's name, the workspace and its version: an import invalidates every entry.
    query = getattr(importlib.import_module(module), name)
    with connection(Path(path)) as con:
        return query(con, *args)

