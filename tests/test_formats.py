"""Formats, encodings, column mapping, time zones and lifecycle pairing."""

from __future__ import annotations

import gzip
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from ingest import ImportOptions, import_file
from tests.conftest import query, write_csv

ROWS = [
    {"Case ID": "k1", "Activity": "Änderung prüfen", "Complete Timestamp": "2024-06-01 10:00:00", "User": "zoë"},
    {"Case ID": "k1", "Activity": "Freigabe", "Complete Timestamp": "2024-06-01 12:00:00", "User": "jürgen"},
]


def events(ws: Path) -> list[tuple]:
    return query(ws, """
        SELECT case_id, activity, strftime(end_time AT TIME ZONE 'UTC', '%Y-%m-%d %H:%M:%S'), resource
        FROM events ORDER BY case_id, end_time, event_id""")


EXPECTED = [("k1", "Änderung prüfen", "2024-06-01 10:00:00", "zoë"), ("k1", "Freigabe", "2024-06-01 12:00:00",
                                                                     "jürgen")]


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_any_delimiter_is_detected(tmp_path, workspace, delimiter):
    import_file(write_csv(tmp_path / "log.csv", ROWS, delimiter=delimiter), ImportOptions(process="p"),
                workspace=workspace)
    assert events(workspace) == EXPECTED


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "cp1252", "latin-1"])
def test_encodings(tmp_path, workspace, encoding):
    import_file(write_csv(tmp_path / "log.csv", ROWS, delimiter=";", encoding=encoding),
                ImportOptions(process="p"), workspace=workspace)
    assert events(workspace) == EXPECTED


def test_declared_encoding_is_used(tmp_path, workspace):
    rows = [{"case_id": "1", "activity": "Έγκριση", "timestamp": "2024-06-01 10:00:00"}]
    import_file(write_csv(tmp_path / "log.csv", rows, encoding="iso-8859-7"),
                ImportOptions(process="p", encoding="iso-8859-7"), workspace=workspace)
    assert events(workspace)[0][1] == "Έγκριση"


def test_gzip_and_zip(tmp_path, workspace):
    plain = write_csv(tmp_path / "log.csv", ROWS)
    (tmp_path / "log2.csv.gz").write_bytes(gzip.compress(plain.read_bytes()))
    with zipfile.ZipFile(tmp_path / "log3.zip", "w") as z:
        z.write(plain, "export/log.csv")
        z.writestr("__MACOSX/._log.csv", "junk")
    for name, process in (("log2.csv.gz", "gz"), ("log3.zip", "zip")):
        result = import_file(tmp_path / name, ImportOptions(process=process), workspace=workspace)
        assert result.events_added == 2, name


def test_parquet_and_excel(tmp_path, workspace):
    frame = pd.DataFrame({
        "case_id": ["a", "a", "b"],
        "activity": ["Start", "End", "Start"],
        "timestamp": pd.to_datetime(["2024-01-01 08:00", "2024-01-01 09:30", "2024-01-02 07:00"]),
        "amount": [120.5, 120.5, 99.0],
    })
    frame.to_parquet(tmp_path / "log.parquet")
    frame.to_excel(tmp_path / "log.xlsx", index=False, sheet_name="Events")
    for name in ("log.parquet", "log.xlsx"):
        result = import_file(tmp_path / name, ImportOptions(process=name.split(".")[1],
                                                            timezone="Europe/Amsterdam"), workspace=workspace)
        assert result.events_added == 3, name
    rows = query(workspace, """SELECT process, strftime(min(end_time) AT TIME ZONE 'UTC', '%H:%M'), sum(amount)
                               FROM events GROUP BY process ORDER BY process""")
    # Naive 08:00 in Amsterdam (winter, UTC+1) is 07:00 UTC, whatever the file type.
    assert rows == [("parquet", "07:00", 340.0), ("xlsx", "07:00", 340.0)]


def test_explicit_mapping_and_case_attributes(tmp_path, workspace):
    rows = [{"ticket": "T1", "step": "Open", "when": "01.02.2024 08:00", "agent": "x", "prio": "high",
             "kost": "12.5", "note": "first"},
            {"ticket": "T1", "step": "Close", "when": "13.02.2024 08:00", "agent": "y", "prio": "high",
             "kost": "n/a", "note": ""}]
    result = import_file(write_csv(tmp_path / "t.csv", rows), ImportOptions(
        process="tickets", mapping={"case_id": "ticket", "activity": "step", "end_time": "when",
                                    "resource": "agent", "amount": "kost"},
        case_attributes=["prio"]), workspace=workspace)
    assert result.rows_accepted == 2
    assert events(workspace) == [("T1", "Open", "2024-02-01 08:00:00", "x"), ("T1", "Close", "2024-02-13 08:00:00",
                                                                              "y")]
    attrs = query(workspace, "SELECT amount, attributes FROM events ORDER BY end_time")
    assert attrs[0] == (12.5, '{"note":"first"}')
    assert attrs[1] == (None, '{"kost":"n/a"}')  # an amount that is no number is kept, as text
    assert query(workspace, "SELECT attributes FROM cases") == [('{"prio":"high"}',)]


def test_unknown_mapped_column_is_a_clear_error(tmp_path, workspace):
    with pytest.raises(ValueError, match="'nope' given for case_id is not in the file"):
        import_file(write_csv(tmp_path / "t.csv", ROWS), ImportOptions(process="p", mapping={"case_id": "nope"}),
                    workspace=workspace)


@pytest.mark.parametrize("text, tz, utc", [
    ("2024-06-01 10:00:00", "Europe/Amsterdam", "2024-06-01 08:00:00"),     # summer: UTC+2
    ("2024-01-15 10:00:00", "Europe/Amsterdam", "2024-01-15 09:00:00"),     # winter: UTC+1
    ("2024-06-01T10:00:00+05:30", "Europe/Amsterdam", "2024-06-01 04:30:00"),  # offset wins over zone
    ("2024-06-01T10:00:00Z", "America/New_York", "2024-06-01 10:00:00"),
    ("2024-06-01 10:00:00", "UTC", "2024-06-01 10:00:00"),
])
def test_time_zones(tmp_path, workspace, text, tz, utc):
    rows = [{"case_id": "1", "activity": "a", "timestamp": text}]
    import_file(write_csv(tmp_path / "t.csv", rows), ImportOptions(process="p", timezone=tz), workspace=workspace)
    assert events(workspace)[0][2] == utc


def test_day_first_and_month_first_are_told_apart_by_the_data(tmp_path):
    for name, stamps, expected in (
        ("dayfirst", ["03/04/2024 10:00", "25/04/2024 10:00"], "2024-04-03"),
        ("monthfirst", ["03/04/2024 10:00", "04/25/2024 10:00"], "2024-03-04"),
    ):
        ws = tmp_path / f"{name}.duckdb"
        rows = [{"case_id": str(i), "activity": "a", "timestamp": s} for i, s in enumerate(stamps)]
        import_file(write_csv(tmp_path / f"{name}.csv", rows), ImportOptions(process="p"), workspace=ws)
        assert events(ws)[0][2].startswith(expected), name


def test_unknown_time_zone_is_refused(tmp_path, workspace):
    with pytest.raises(ValueError, match="unknown time zone"):
        import_file(write_csv(tmp_path / "t.csv", ROWS), ImportOptions(process="p", timezone="Mars/Olympus"),
                    workspace=workspace)


XES_LIFECYCLE = """<?xml version="1.0" encoding="UTF-8"?>
<log xes.version="1.0" xmlns="http://www.xes-standard.org/">
  <trace><string key="concept:name" value="c1"/><string key="site" value="Central"/>
    <event><string key="concept:name" value="Review"/><string key="lifecycle:transition" value="start"/>
      <date key="time:timestamp" value="2024-01-01T09:00:00+01:00"/><string key="org:resource" value="ann"/></event>
    <event><string key="concept:name" value="Review"/><string key="lifecycle:transition" value="start"/>
      <date key="time:timestamp" value="2024-01-01T09:30:00+01:00"/><string key="org:resource" value="bob"/></event>
    <event><string key="concept:name" value="Review"/><string key="lifecycle:transition" value="complete"/>
      <date key="time:timestamp" value="2024-01-01T10:00:00+01:00"/><string key="org:resource" value="ann"/></event>
    <event><string key="concept:name" value="Review"/><string key="lifecycle:transition" value="complete"/>
      <date key="time:timestamp" value="2024-01-01T11:00:00+01:00"/><string key="org:resource" value="bob"/></event>
    <event><string key="concept:name" value="Pay"/><string key="lifecycle:transition" value="schedule"/>
      <date key="time:timestamp" value="2024-01-01T11:30:00+01:00"/></event>
    <event><string key="concept:name" value="Pay"/><string key="lifecycle:transition" value="complete"/>
      <date key="time:timestamp" value="2024-01-01T12:00:00+01:00"/><float key="amount" value="99.5"/></event>
    <event><string key="concept:name" value="Archive"/><string key="lifecycle:transition" value="start"/>
      <date key="time:timestamp" value="2024-01-01T13:00:00+01:00"/></event>
  </trace>
  <trace><string key="concept:name" value="c2"/>
    <event><string key="concept:name" value="Review"/><string key="lifecycle:transition" value="complete"/>
      <date key="time:timestamp" value="2024-01-02T10:00:00+01:00"/></event>
    <event><string key="concept:name" value="Review"/><string key="lifecycle:transition" value="start"/>
      <date key="time:timestamp" value="2024-01-02T11:00:00+01:00"/></event>
    <event><string key="concept:name" value="Review"/><string key="lifecycle:transition" value="complete"/>
      <date key="time:timestamp" value="2024-01-02T12:00:00+01:00"/></event>
  </trace>
</log>
"""


@pytest.mark.parametrize("compressed", [False, True])
def test_xes_start_complete_pairs_become_activity_instances(tmp_path, workspace, compressed):
    path = tmp_path / ("log.xes.gz" if compressed else "log.xes")
    data = XES_LIFECYCLE.encode()
    path.write_bytes(gzip.compress(data) if compressed else data)
    result = import_file(path, ImportOptions(process="x"), workspace=workspace)
    rows = query(workspace, """
        SELECT case_id, activity, strftime(start_time AT TIME ZONE 'UTC', '%H:%M'),
               strftime(end_time AT TIME ZONE 'UTC', '%H:%M'), resource
        FROM events ORDER BY case_id, end_time""")
    assert rows == [
        # Overlapping instances of one activity pair first-in-first-out.
        ("c1", "Review", "08:00", "09:00", "ann"),
        ("c1", "Review", "08:30", "10:00", "bob"),
        ("c1", "Pay", None, "11:00", None),
        # A complete without a start is an instance with an unknown start.
        ("c2", "Review", None, "09:00", None),
        ("c2", "Review", "10:00", "11:00", None),
    ]
    assert result.rejects_by_reason == {"lifecycle transition is not the start or end of an activity": 1,
                                        "start without a matching end": 1}
    assert result.rows_read == 10 and result.rows_accepted == 8
    # The trace attribute "site" is a common attribute: a typed column of the case and its events.
    assert query(workspace, "SELECT case_id, site FROM cases ORDER BY case_id") == [("c1", "Central"), ("c2", None)]
    assert query(workspace, "SELECT DISTINCT site FROM events WHERE case_id = 'c1'") == [("Central",)]


def test_csv_with_lifecycle_column_pairs_too(tmp_path, workspace):
    rows = [{"case": "1", "activity": "A", "lifecycle": "start", "timestamp": "2024-01-01T08:00:00"},
            {"case": "1", "activity": "A", "lifecycle": "complete", "timestamp": "2024-01-01T09:00:00"},
            {"case": "1", "activity": "B", "lifecycle": "COMPLETE", "timestamp": "2024-01-01T10:00:00"}]
    import_file(write_csv(tmp_path / "l.csv", rows), ImportOptions(process="p"), workspace=workspace)
    assert query(workspace, "SELECT activity, start_time IS NOT NULL FROM events ORDER BY end_time") == [
        ("A", True), ("B", False)]


def test_source_columns_named_like_internal_ones(tmp_path, workspace):
    rows = [{"case_id": "1", "activity": "a", "timestamp": "2024-01-01T10:00:00", "reason": "r", "_row": "x",
             "kind": "k", "raw": "w"},
            {"case_id": "", "activity": "a", "timestamp": "2024-01-01T10:00:00", "reason": "r2", "_row": "y",
             "kind": "k", "raw": "w"}]
    result = import_file(write_csv(tmp_path / "t.csv", rows), ImportOptions(process="p"), workspace=workspace)
    assert (result.rows_accepted, result.rows_rejected) == (1, 1)
    attributes = query(workspace, "SELECT attributes FROM events")[0][0]
    assert '"reason":"r"' in attributes and '"kind":"k"' in attributes and '"raw":"w"' in attributes
    assert '"reason":"r2"' in query(workspace, "SELECT raw FROM rejects")[0][0]
