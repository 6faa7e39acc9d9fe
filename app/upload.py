"""The import form: upload an event log (or name a file on this machine) and import it into the workspace."""

from __future__ import annotations

import tempfile
from pathlib import Path

import duckdb
import streamlit as st
from pydantic import ValidationError
from streamlit.runtime.uploaded_file_manager import UploadedFile

from app import state
from ingest import ImportFailed, ImportOptions, ImportResult, import_file

UPLOAD_TYPES = ["csv", "tsv", "txt", "gz", "zip", "xes", "parquet", "xlsx"]
# Form label -> canonical field of ImportOptions.mapping.
MAPPING_FIELDS = {"Case id": "case_id", "Activity": "activity", "Timestamp (end)": "end_time",
                  "Start time": "start_time", "Resource": "resource"}
_OUTCOME_KEY = "_import_outcome"


def default_process(file_name: str) -> str:
    """Return the process name for a file: its name without extensions (as `twinflow import` does)."""
    return Path(file_name).name.split(".")[0]


def import_log(source: Path, options: ImportOptions, workspace: Path) -> ImportResult:
    """Import one file into the workspace with a progress bar and return the result."""
    with st.status(f"Importing {source.name} into {options.process!r}", expanded=True) as status:
        bar = st.progress(0.0, text="starting")

        def progress(fraction: float, message: str) -> None:
            bar.progress(min(max(fraction, 0.0), 1.0), text=message)

        try:
            result = import_file(source, options, workspace=workspace, progress=progress)
        except BaseException:
            status.update(label=f"Import of {source.name} failed", state="error", expanded=False)
            raise
        status.update(label=f"Imported {source.name}", state="complete", expanded=False)
    return result


def import_upload(uploaded: UploadedFile, options: ImportOptions, workspace: Path) -> ImportResult:
    """Import an uploaded file and return the result."""
    with tempfile.TemporaryDirectory(prefix="twinflow-upload-") as tmp:
        # Keep the original name: the loader tells the file type from its suffixes, and records the name.
        path = Path(tmp) / Path(uploaded.name).name
        path.write_bytes(uploaded.getbuffer())
        return import_log(path, options, workspace)


def import_form(workspace: Path) -> None:
    """Render the import form; on submit import the file, then rerun so every table shows the new data."""
    with st.form("import", border=True):
        uploaded = st.file_uploader("Event log file", type=UPLOAD_TYPES,
                                    help="CSV/TSV/TXT, XES, Parquet or Excel; .gz and single-file .zip work too.",
                                    key="import_file")
        local = st.text_input("Or import a file from a path on this machine",
                              placeholder="/path/to/eventlog.csv.gz", key="import_path")
        left, right = st.columns([3, 1])
        process = left.text_input("Process name", placeholder="default: the file name without extensions",
                                  key="import_process")
        timezone = right.text_input("Time zone", value="UTC",
                                    help="IANA zone of timestamps without an offset, e.g. Europe/Amsterdam.",
                                    key="import_timezone")
        st.caption("Column mapping: leave blank to detect the columns from their names.")
        mapping = {}
        for column, (label, field) in zip(st.columns(len(MAPPING_FIELDS)), MAPPING_FIELDS.items(), strict=True):
            mapping[field] = column.text_input(label, placeholder="detect", key=f"import_map_{field}")
        pseudonymise = st.checkbox("Pseudonymise the resource column",
                                   help="Replace names by stable pseudonyms before anything is stored.",
                                   key="import_pseudonymise")
        submitted = st.form_submit_button("Import", type="primary", icon=":material/upload:")
    if submitted:
        _submit(workspace, uploaded, local.strip(), process.strip(), timezone.strip() or "UTC",
                {f: c.strip() for f, c in mapping.items() if c.strip()}, pseudonymise)
    _show_outcome(workspace)


def _submit(workspace: Path, uploaded: UploadedFile | None, local: str, process: str, timezone: str,
            mapping: dict[str, str], pseudonymise: bool) -> None:
    if uploaded is not None and local:
        st.error("Upload a file or give a path, not both.")
        return
    if uploaded is None and not local:
        st.warning("Choose a file to upload, or give the path of a file on this machine.")
        return
    source = Path(local).expanduser() if local else None
    name = uploaded.name if uploaded is not None else source.name
    try:
        options = ImportOptions(process=process or default_process(name), mapping=mapping, timezone=timezone,
                                pseudonymise=["resource"] if pseudonymise else [])
        result = import_upload(uploaded, options, workspace) if uploaded is not None else \
            import_log(source, options, workspace)
    except (ImportFailed, ValueError) as exc:
        st.error(f"Import failed: {_one_line(exc)}")
        return
    except duckdb.IOException as exc:
        # Another program (e.g. `twinflow import`) holds the workspace's write lock.
        st.error(f"Import failed: the workspace is in use ({str(exc).splitlines()[0]})")
        return
    st.session_state[_OUTCOME_KEY] = {"workspace": str(workspace), "result": result.model_dump(), "fresh": True}
    state.select_process(result.process)
    st.rerun()


def _show_outcome(workspace: Path) -> None:
    outcome = st.session_state.get(_OUTCOME_KEY)
    if not outcome or outcome["workspace"] != str(workspace):
        return
    result = ImportResult(**outcome["result"])
    if outcome.pop("fresh", False):
        # The form sits at the bottom of the page: a toast tells the user wherever they have scrolled to.
        st.toast(result.summary(), icon=":material/check_circle:")
    if result.already_imported:
        st.info(result.summary())
        return
    st.success(result.summary())
    if result.rejects_by_reason:
        st.dataframe({"reason": list(result.rejects_by_reason), "rows": list(result.rejects_by_reason.values())},
                     hide_index=True, width="content",
                     column_config={"reason": "Quarantined because", "rows": st.column_config.NumberColumn(
                         "Rows", format="localized")})


def _one_line(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
    return " ".join(str(exc).split())
