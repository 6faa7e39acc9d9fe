"""The import guarantees: idempotent, atomic, bad rows quarantined with a reason, bad files refused cleanly."""

from __future__ import annotations

import gzip
import os
import random
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from ingest import ImportFailed, ImportOptions, import_file
from ingest.loader import FAULT_ENV
from tests.conftest import REAL_LOGS, REPO, query, snapshot, write_csv

GOOD = [
    {"case_id": "c1", "activity": "Receive invoice", "timestamp": "2024-03-01 09:00:00", "resource": "ann"},
    {"case_id": "c1", "activity": "Approve", "timestamp": "2024-03-01 10:30:00", "resource": "bob"},
    {"case_id": "c2", "activity": "Receive invoice", "timestamp": "2024-03-02 08:15:00", "resource": "ann"},
    {"case_id": "c2", "activity": "Approve", "timestamp": "2024-03-04 16:45:00", "resource": "carl"},
]


def opts(process: str = "ap", **kw) -> ImportOptions:
    return ImportOptions(process=process, **kw)


# --- idempotence -------------------------------------------------------------------------------------------

def test_reimporting_the_same_file_adds_nothing(tmp_path, workspace):
    path = write_csv(tmp_path / "log.csv", GOOD)
    first = import_file(path, opts(), workspace=workspace)
    before = snapshot(workspace)
    second = import_file(path, opts(), workspace=workspace)
    assert first.events_added == 4
    assert second.already_imported and second.events_added == 0
    assert snapshot(workspace) == before


def test_overlapping_export_adds_only_new_events(tmp_path, workspace):
    import_file(write_csv(tmp_path / "jan.csv", GOOD[:3]), opts(), workspace=workspace)
    # A later export repeats the earlier rows (in another order) and adds one.
    result = import_file(write_csv(tmp_path / "feb.csv", [GOOD[3], GOOD[1], GOOD[0], GOOD[2]]), opts(),
                         workspace=workspace)
    assert (result.events_added, result.events_duplicate) == (1, 3)
    assert query(workspace, "SELECT count(*), count(DISTINCT event_id) FROM events") == [(4, 4)]


def test_identical_rows_within_a_file_are_kept_apart(tmp_path, workspace):
    path = write_csv(tmp_path / "dup.csv", [GOOD[0], GOOD[0], GOOD[1]])
    assert import_file(path, opts(), workspace=workspace).events_added == 3
    shutil.copy(path, tmp_path / "dup_again.csv")
    assert import_file(tmp_path / "dup_again.csv", opts(), workspace=workspace).events_added == 0


def test_event_ids_do_not_depend_on_row_order(tmp_path):
    rows = [{"case_id": f"c{i % 7}", "activity": f"a{i % 3}", "timestamp": f"2024-01-01 10:{i % 60:02d}:00",
             "resource": "r"} for i in range(200)]
    shuffled = rows[:]
    random.Random(1).shuffle(shuffled)
    ids = []
    for name, data in (("a", rows), ("b", shuffled)):
        ws = tmp_path / f"{name}.duckdb"
        import_file(write_csv(tmp_path / f"{name}.csv", data), opts(), workspace=ws)
        ids.append(sorted(r[0] for r in query(ws, "SELECT event_id FROM events")))
    assert ids[0] == ids[1]


# --- atomicity ----------------------------------------------------------------------------------------------

def test_killed_import_leaves_the_workspace_as_it_was(tmp_path, workspace):
    import_file(write_csv(tmp_path / "first.csv", GOOD), opts(), workspace=workspace)
    before = snapshot(workspace)
    script = (
        "from ingest import import_file, ImportOptions\n"
        f"import_file({str(REAL_LOGS / 'receipt_wabo.csv.gz')!r}, ImportOptions(process='receipt'), "
        f"workspace={str(workspace)!r})\n"
    )
    env = {**os.environ, FAULT_ENV: "after-events"}
    proc = subprocess.run([sys.executable, "-c", script], env=env, cwd=REPO, capture_output=True, timeout=120)
    assert proc.returncode == -9, proc.stderr.decode()[-2000:]  # SIGKILL inside the write transaction
    assert snapshot(workspace) == before
    # And the workspace still works: the same import now succeeds in full.
    result = import_file(REAL_LOGS / "receipt_wabo.csv.gz", opts("receipt"), workspace=workspace)
    assert result.events_added == 8_577


# --- bad rows -----------------------------------------------------------------------------------------------

def test_bad_rows_are_quarantined_with_their_reason(tmp_path, workspace):
    rows = [
        {"case_id": "c1", "activity": "A", "start_time": "", "end_time": "2024-01-01 10:00:00"},
        {"case_id": "", "activity": "A", "start_time": "", "end_time": "2024-01-01 10:00:00"},
        {"case_id": "c2", "activity": " ", "start_time": "", "end_time": "2024-01-01 10:00:00"},
        {"case_id": "c3", "activity": "A", "start_time": "", "end_time": "yesterday"},
        {"case_id": "c4", "activity": "A", "start_time": "", "end_time": "2023-02-30 10:00:00"},
        {"case_id": "c5", "activity": "A", "start_time": "", "end_time": "1066-10-14 09:00:00"},
        {"case_id": "c6", "activity": "A", "start_time": "2024-01-02 10:00:00", "end_time": "2024-01-01 10:00:00"},
        {"case_id": "c7", "activity": "A", "start_time": "", "end_time": ""},
        {"case_id": "c8", "activity": "A", "start_time": "2024-01-01 09:00:00", "end_time": "2024-01-01 10:00:00"},
    ]
    result = import_file(write_csv(tmp_path / "bad.csv", rows), opts(), workspace=workspace)
    assert (result.rows_read, result.rows_accepted, result.rows_rejected) == (9, 2, 7)
    assert result.rejects_by_reason == {
        "missing case id": 1, "missing activity": 1, "unparseable timestamp": 2, "missing timestamp": 1,
        "implausible timestamp (before 1900 or after 2100)": 1, "end before start": 1,
    }
    rejected = dict(query(workspace, "SELECT row_number, reason FROM rejects"))
    assert rejected[4] == "unparseable timestamp" and rejected[7] == "end before start"
    raw = query(workspace, "SELECT raw FROM rejects WHERE row_number = 5")[0][0]
    assert "2023-02-30 10:00:00" in raw


def test_unreadable_csv_lines_are_quarantined_with_the_line(tmp_path, workspace):
    path = tmp_path / "ragged.csv"
    path.write_text("case_id,activity,timestamp\nc1,A,2024-01-01T10:00:00\nc1,B,2024-01-01T11:00:00,extra\n"
                    "c2,A\nc2,B,2024-01-02T11:00:00\n")
    result = import_file(path, opts(), workspace=workspace)
    assert (result.rows_accepted, result.rows_rejected) == (2, 2)
    lines = query(workspace, "SELECT row_number, raw FROM rejects ORDER BY row_number")
    assert lines == [(3, "c1,B,2024-01-01T11:00:00,extra"), (4, "c2,A")]


# --- bad files ----------------------------------------------------------------------------------------------

def _truncated_gz(path: Path, data: bytes) -> Path:
    packed = gzip.compress(data)
    path.write_bytes(packed[: len(packed) // 2])
    return path


BAD_FILES = {
    "binary.csv": lambda p: p.write_bytes(random.Random(3).randbytes(20_000)) and p,
    "empty.csv": lambda p: p.write_bytes(b"") or p,
    "truncated.csv.gz": lambda p: _truncated_gz(p, b"case_id,activity,timestamp\n" + b"c,a,2024-01-01\n" * 50_000),
    "truncated.xes.gz": lambda p: _truncated_gz(
        p, (REAL_LOGS / "helpdesk.xes.gz").read_bytes() and gzip.decompress((REAL_LOGS / "helpdesk.xes.gz")
                                                                            .read_bytes())),
    "malformed.xes": lambda p: p.write_text('<log><trace><string key="concept:name" value="1"/>'
                                            '<event><string key="concept:name" value="a"></event></trace></log>'),
    "notxml.xes": lambda p: p.write_text("case,activity\n1,a\n"),
    "two.zip": lambda p: _zip(p, {"a.csv": "case_id,activity,timestamp\n", "b.csv": "x\n"}),
    "notzip.zip": lambda p: p.write_bytes(b"PK\x03\x04garbage"),
    "broken.parquet": lambda p: p.write_bytes(b"PAR1 not really"),
    "broken.xlsx": lambda p: p.write_bytes(b"not a workbook"),
    "log.json": lambda p: p.write_text("{}"),
    "nocolumns.csv": lambda p: p.write_text("a,b,c\n1,2,3\n"),
}


def _zip(path: Path, members: dict[str, str]) -> Path:
    with zipfile.ZipFile(path, "w") as z:
        for name, text in members.items():
            z.writestr(name, text)
    return path


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_a_bad_file_fails_with_one_line_and_changes_nothing(tmp_path, workspace, name):
    import_file(write_csv(tmp_path / "good.csv", GOOD), opts(), workspace=workspace)
    before = snapshot(workspace)
    path = tmp_path / name
    BAD_FILES[name](path)
    with pytest.raises((ImportFailed, ValueError)) as info:
        import_file(path, opts("other"), workspace=workspace)
    message = str(info.value)
    assert "\n" not in message and name in message, message
    assert snapshot(workspace) == before


def test_bad_file_messages_name_the_problem(tmp_path, workspace):
    expectations = {
        "binary.csv": "binary", "truncated.csv.gz": "gzip", "truncated.xes.gz": "gzip",
        "malformed.xes": "malformed XML", "two.zip": "exactly one", "nocolumns.csv": "no case id",
        "empty.csv": "empty",
    }
    for name, needle in expectations.items():
        path = tmp_path / name
        BAD_FILES[name](path)
        with pytest.raises((ImportFailed, ValueError), match=needle):
            import_file(path, opts(), workspace=workspace)


def test_cli_reports_a_bad_file_in_one_line(tmp_path, workspace):
    path = tmp_path / "binary.csv"
    BAD_FILES["binary.csv"](path)
    proc = subprocess.run([sys.executable, "-m", "app.cli", "import", str(path), "-w", str(workspace)],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert proc.stderr.strip().count("\n") == 0
    assert proc.stderr.startswith("error: binary.csv: not a text file")


def test_progress_is_reported_in_order_up_to_done(workspace):
    seen: list[float] = []
    import_file(REAL_LOGS / "helpdesk.xes.gz", opts("helpdesk"), workspace=workspace,
                progress=lambda fraction, message: seen.append(fraction))
    assert seen == sorted(seen) and seen[0] == 0.0 and seen[-1] == 1.0
    assert len(seen) >= 6
