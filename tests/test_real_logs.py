"""Every real log shipped in data/real imports with the counts its README lists."""

from __future__ import annotations

import pytest

from ingest import ImportOptions, import_file
from ingest.demo import LOG_OPTIONS, process_name
from tests.conftest import REAL_LOGS, query

# (cases, events, activities) from data/real/README.md; start/end logs: one event per activity instance.
EXPECTED = {
    "hospital_billing.csv.gz": (10_000, 49_951, 16),
    "bpic2020_DomesticDeclarations.xes.gz": (10_357, 55_628, 14),
    "bpic2020_RequestForPayment.xes.gz": (6_760, 36_072, 16),
    "helpdesk.xes.gz": (4_580, 21_348, 14),
    "receipt_wabo.csv.gz": (1_434, 8_577, 27),
    "PurchasingExample_simod.csv.gz": (608, 9_119, 21),
    "academic_credentials.csv.gz": (954, 4_928, 16),
    "bpic2012_W_start_end.csv.gz": (8_616, 59_302, 6),
}
START_AND_END = {"PurchasingExample_simod.csv.gz", "academic_credentials.csv.gz", "bpic2012_W_start_end.csv.gz"}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_real_log_counts(name, workspace):
    path = REAL_LOGS / name
    result = import_file(path, ImportOptions(process=process_name(path), **LOG_OPTIONS.get(name, {})),
                         workspace=workspace)
    cases, events, activities = EXPECTED[name]
    assert result.rows_rejected == 0, result.rejects_by_reason
    got = query(workspace, """
        SELECT count(DISTINCT case_id), count(*), count(DISTINCT activity), count(start_time),
               count(DISTINCT event_id)
        FROM events""")[0]
    assert got[:3] == (cases, events, activities)
    assert got[4] == events, "event ids must be unique"
    assert got[3] == (events if name in START_AND_END else 0)
    assert query(workspace, "SELECT count(*) FROM cases")[0][0] == cases


def test_hospital_billing_empty_case_is_quarantined_by_default(workspace):
    result = import_file(REAL_LOGS / "hospital_billing.csv.gz", ImportOptions(process="billing"),
                         workspace=workspace)
    assert result.rows_rejected == 1
    assert result.rejects_by_reason == {"missing case id": 1}
    assert result.rows_accepted == 49_950
    raw = query(workspace, "SELECT raw FROM rejects")[0][0]
    assert '"activity":"NEW"' in raw and '"timestamp":"2012-12-14 22:52:38"' in raw


def test_start_end_log_keeps_offsets_as_utc(workspace):
    import_file(REAL_LOGS / "PurchasingExample_simod.csv.gz", ImportOptions(process="purchasing"),
                workspace=workspace)
    # First row of the file: case 1 "Create Request for Quotation", 12:37+02:00 -> 10:37 UTC.
    row = query(workspace, """
        SELECT strftime(start_time AT TIME ZONE 'UTC', '%Y-%m-%d %H:%M'),
               strftime(end_time AT TIME ZONE 'UTC', '%Y-%m-%d %H:%M')
        FROM events WHERE case_id = '1' AND activity = 'Create Request for Quotation'""")
    assert row == [("2011-01-01 10:37", "2011-01-01 10:45")]
