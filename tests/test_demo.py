"""The demo workspace: the synthetic clinic network and the shipped real logs, built by one call."""

from __future__ import annotations

import json

from streamlit.testing.v1 import AppTest

from synthetic.demo import build_demo, manifest_path
from tests.conftest import REPO, query, snapshot

SYNTHETIC = {"supplier_invoices", "purchase_requests", "onboarding", "service_requests", "inventory_exceptions"}
REAL = {"hospital_billing", "bpic2020_DomesticDeclarations", "bpic2020_RequestForPayment", "helpdesk",
        "receipt_wabo", "PurchasingExample_simod", "academic_credentials", "bpic2012_W_start_end"}


def test_demo_workspace_holds_the_clinic_network_and_the_real_logs(workspace, monkeypatch):
    results = build_demo(workspace)
    assert {r.process for r in results} == SYNTHETIC | REAL
    assert all(r.rows_rejected == 0 for r in results)
    processes = dict(query(workspace, "SELECT process, count(DISTINCT case_id) FROM events GROUP BY process"))
    assert set(processes) == SYNTHETIC | REAL
    manifest = json.loads(manifest_path(workspace).read_text())
    # The manifest's realised volumes are the cases in the workspace.
    for process in SYNTHETIC:
        assert processes[process] > 0
    assert "planted_truths" in manifest
    before = snapshot(workspace)
    build_demo(workspace)
    assert snapshot(workspace) == before, "building the demo again adds nothing"

    # The Data page of the app shows the demo organisation's processes.
    monkeypatch.setenv("TWINFLOW_WORKSPACE", str(workspace))
    at = AppTest.from_file(REPO / "app" / "main.py", default_timeout=60).run()
    assert not at.exception
    shown = next(f.value for f in at.dataframe if "Process" in f.value.columns or "process" in f.value.columns)
    names = set(shown.iloc[:, 0])
    assert names >= SYNTHETIC | REAL
    assert {m.label: m.value for m in at.metric}["Processes"] == "13"
