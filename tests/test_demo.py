"""The demo workspace: the synthetic clinic network and the shipped real logs, built by one call."""

from __future__ import annotations

import json

from synthetic.demo import build_demo, manifest_path
from tests.conftest import query, snapshot

SYNTHETIC = {"supplier_invoices", "purchase_requests", "onboarding", "service_requests", "inventory_exceptions"}
REAL = {"hospital_billing", "bpic2020_DomesticDeclarations", "bpic2020_RequestForPayment", "helpdesk",
        "receipt_wabo", "PurchasingExample_simod", "academic_credentials", "bpic2012_W_start_end"}


def test_demo_workspace_holds_the_clinic_network_and_the_real_logs(workspace):
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
