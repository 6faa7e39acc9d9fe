"""The manifest: the true generating parameters and every planted problem with what it produced.

It is the oracle for later tests: mining should find each planted problem (same users, same counts, same
cases), and simulation discovery should recover the parameters (arrival rates per hour of the week,
processing-time distributions, routing probabilities, resources and their calendars). Everything in it is
plain JSON, written in a fixed order, so a seed gives identical bytes.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

import numpy as np

from synthetic.arrivals import HourGrid, by_hour_of_week
from synthetic.engine import Simulation
from synthetic.params import WEEKDAYS, GeneratorParams
from synthetic.processes.base import ESCALATION, REMINDER, ProcessModel
from synthetic.tables import recorded

MANIFEST_VERSION = 1


def _round(x: float, digits: int = 4) -> float:
    return float(round(float(x), digits))


def arrivals_summary(model: ProcessModel, params: GeneratorParams, grid: HourGrid, rates: np.ndarray,
                     scale: float, constant: float) -> dict:
    """Return the true arrival process of a process and the counts it realised."""
    spec = getattr(params, model.name).arrivals
    how = spec.hour_of_week()
    return {
        "scale": _round(scale, 6),
        "cases_per_year": _round(spec.per_year * scale, 3),
        "rate_constant": _round(constant, 6),
        "expected_cases": _round(rates.sum(), 3),
        "realised_cases": len(model.cases),
        "hour_of_week_weights": [_round(w, 8) for w in how],
        "month_factors": [_round(m, 6) for m in spec.months()],
        "month_end_days": spec.month_end_days, "month_end_factor": spec.month_end_factor,
        "holiday_factor": spec.holiday_factor,
        "typical_rate_per_hour_by_hour_of_week": [_round(constant * w, 6) for w in how],
        "expected_by_hour_of_week": [_round(x, 4) for x in by_hour_of_week(grid, rates)],
        "hours_by_hour_of_week": np.bincount(grid.hour_of_week, minlength=168).tolist(),
        "note": "expected arrivals in a local clock hour = rate_constant * hour_of_week_weights[how] * "
                "month_factors[month] * month_end_factor (in the last month_end_days days of a month) * "
                "holiday_factor (on public holidays); how = local weekday * 24 + local hour, Monday 00:00 = 0; "
                "typical_rate_per_hour_by_hour_of_week leaves out the month, month-end and holiday factors",
    }


def approval_waits(models: list[ProcessModel]) -> dict[str, dict]:
    """Return per approver: approvals done, and mean and median hours from the case's previous event to the start.

    Only processes without parallel branches (invoices and purchase requests), so the previous event is the one
    that enabled the approval.
    """
    waits: dict[str, list[float]] = {}
    for model in models:
        cols = recorded(model.rec)
        vocab = model.rec.vocab
        chaser = np.array([v in (REMINDER, ESCALATION) for v in vocab.values] + [False])  # [-1]: None
        keep = ~chaser[cols["activity"]]  # reminders and escalations do not enable the approval
        cols = {k: v[keep] for k, v in cols.items()}
        approve = np.array([v.startswith("Approve") for v in vocab.values])
        same_case = np.concatenate([[False], cols["case"][1:] == cols["case"][:-1]])
        prev_end = np.concatenate([[np.nan], cols["end"][:-1]])
        selected = approve[cols["activity"]] & same_case & ~np.isnan(cols["start"])
        wait_hours = (cols["start"] - prev_end)[selected] / 60.0
        for r, w in zip(cols["resource"][selected].tolist(), wait_hours.tolist(), strict=True):
            waits.setdefault(vocab.values[r], []).append(w)
    return {name: {"approvals": len(w), "mean_wait_hours": _round(np.mean(w), 3),
                   "median_wait_hours": _round(np.median(w), 3)}
            for name, w in sorted(waits.items())}


def _activity_counts(model: ProcessModel) -> dict[str, int]:
    vocab = model.rec.vocab
    counts = Counter(vocab.values[a] for a in model.rec.activity)
    return dict(sorted(counts.items()))


def _performers(model: ProcessModel) -> dict[str, dict[str, int]]:
    """Return activity -> role -> number of events (who performs what, as realised)."""
    vocab, org = model.rec.vocab, model.sim.org
    counts = Counter(zip(model.rec.activity, model.rec.resource, strict=True))
    out: dict[str, Counter] = {}
    for (a, r), n in counts.items():
        out.setdefault(vocab.values[a], Counter())[org.role_of(vocab.values[r])] += n
    return {a: dict(sorted(c.items())) for a, c in sorted(out.items())}


def planted_truths(sim: Simulation, params: GeneratorParams, models: dict[str, ProcessModel]) -> dict:
    """Return each planted problem: its setting, the people involved, and what the simulation realised."""
    org, truths, plant = sim.org, sim.truths, params.planted
    ids = {k: [r["case_id"] for r in v] for k, v in truths.items()}
    bottleneck = org.planted["bottleneck"]
    waits = approval_waits([models["supplier_invoices"], models["purchase_requests"]])
    ranked = sorted(((v["mean_wait_hours"], k) for k, v in waits.items() if v["approvals"] >= 10), reverse=True)
    worker = sim.workers[bottleneck.name]
    rework = truths.get("invoice_rework", [])
    misrouted = truths.get("misrouted_tickets", [])
    credential = truths.get("credential_verification", [])
    cred_days = np.array([r["days"] for r in credential]) if credential else np.array([np.nan])
    postponed = truths.get("onboarding_postponed", [])
    duplicates = truths.get("duplicate_invoices", [])
    chased = truths.get("approval_reminders", [])
    novice = org.planted["novice_triage"]
    inv = models["supplier_invoices"]
    inv_cols = recorded(inv.rec)
    coded = inv_cols["activity"] == inv.rec.vocab.index.get("Code to cost centre", -2)
    code_with_po = int(np.asarray(inv.has_po, dtype=bool)[inv_cols["case"][coded]].sum())

    def volume(ref) -> int:
        return _activity_counts(models[ref.process]).get(ref.activity, 0)

    return {
        "approval_bottleneck": {
            "description": "one department head approves in one early-morning block, slowly, never on "
                           "their weekday off, and has no deputy for absences (every other head has one); "
                           "invoices and purchase requests of their department queue up",
            "deputy": None,
            "person": bottleneck.name, "login": bottleneck.login, "site": bottleneck.site.name,
            "department": bottleneck.department, "absent_weekday": plant.bottleneck.absent_weekday,
            "speed_factor": plant.bottleneck.speed_factor, "shift_pattern": bottleneck.pattern,
            "working_hours": params.organisation.shift_patterns[bottleneck.pattern].model_dump(mode="json"),
            "activities": ["Approve invoice (department head)", "Approve request (department head)",
                           "Approve urgent purchase", "Approve IT access"],
            "tasks_done": worker.tasks, "busy_hours": _round(worker.busy_minutes / 60, 2),
            "approval_waits": waits.get(bottleneck.name, {}),
            "largest_mean_wait": ranked[0][1] if ranked else None,
            "approver_waits_ranked": [{"person": k, "mean_wait_hours": w} for w, k in ranked[:8]],
        },
        "invoice_rework": {
            "description": "posted invoices reset to draft because the budget holder disputes the cost centre, "
                           "then coded, approved and posted again; mostly invoices without a PO",
            "loop": ["Post invoice", "Reset to draft", "Code to cost centre", "Approve invoice (department head)",
                     "Post invoice"],
            "p_no_po": plant.rework.p_no_po, "p_with_po": plant.rework.p_with_po,
            "max_loops": plant.rework.max_loops,
            "cases": len(rework), "cases_without_po": sum(1 for r in rework if not r["has_po"]),
            "cases_with_po": sum(1 for r in rework if r["has_po"]),
            "resets": sum(r["resets"] for r in rework),
            "invoices_without_po": int(len(inv.has_po) - sum(inv.has_po)),
            "case_ids": ids.get("invoice_rework", []),
        },
        "sod_self_approved_po": {
            "description": "a buyer approves a purchase order they created (four-eyes required above "
                           f"{params.purchase_requests.po_approval_above:.0f} EUR)",
            "rule": "resource of 'Create purchase order' = resource of 'Approve purchase order' in a case",
            "user": org.planted["self_approver"].name, "rate": plant.self_approval.rate,
            "count": len(truths.get("self_approved_po", [])), "case_ids": ids.get("self_approved_po", []),
        },
        "sod_bill_creator_posts": {
            "description": "an AP clerk posts a vendor bill they created",
            "rule": "resource of 'Create bill' = resource of a 'Post invoice' in a case",
            "user": org.planted["self_poster"].name, "rate": plant.self_posting.rate,
            "count": len(truths.get("self_posted_bills", [])), "case_ids": ids.get("self_posted_bills", []),
        },
        "misrouted_service_requests": {
            "description": "triage assigns the wrong team; an agent of that team reassigns the ticket",
            "rule": "the team set by 'Triage ticket' differs from the ticket category; followed by "
                    "'Reassign ticket'",
            "rate_by_category": plant.misrouting.rate_by_category, "wrong_team": plant.misrouting.wrong_team,
            "novice": novice.name, "novice_factor": plant.misrouting.novice_factor,
            "count": len(misrouted),
            "by_category": dict(sorted(Counter(r["category"] for r in misrouted).items())),
            "by_triage_agent": dict(sorted(Counter(r["triaged_by"] for r in misrouted).items())),
            "case_ids": ids.get("misrouted_tickets", []),
        },
        "credential_verification_tail": {
            "description": "the external register takes days, sometimes months (manual inquiry); new hires' "
                           "start dates are postponed while they wait",
            "from_activity": "Request credential verification", "to_activity": "Credential verification received",
            "delay": plant.credential_tail.delay.model_dump(mode="json"),
            "p_manual_inquiry": plant.credential_tail.p_manual_inquiry,
            "inquiry_extra": plant.credential_tail.inquiry_extra.model_dump(mode="json"),
            "count": len(credential), "manual_inquiries": sum(1 for r in credential if r["manual_inquiry"]),
            "median_days": _round(np.median(cred_days), 3), "p95_days": _round(np.percentile(cred_days, 95), 3),
            "p95_over_median": _round(np.percentile(cred_days, 95) / np.median(cred_days), 3),
            "postponed_cases": len({r["case_id"] for r in postponed}),
            "postponed_waiting_for_credential": len({r["case_id"] for r in postponed
                                                     if "credential verification" in r["waiting_for"]}),
        },
        "automation_candidates": [
            {**ref.model_dump(mode="json"), "events": volume(ref),
             **({"events_meeting_condition": code_with_po} if ref.activity == "Code to cost centre" else {})}
            for ref in plant.automation.candidates],
        "keep_human": [{**ref.model_dump(mode="json"), "events": volume(ref)} for ref in plant.automation.keep_human],
        "duplicate_invoices": {
            "description": "the same supplier invoice sent twice; most are caught by 'Check duplicate', the rest "
                           "are paid twice",
            "count": len(duplicates), "detected": sum(1 for r in duplicates if r["detected"]),
            "undetected_case_ids": [r["case_id"] for r in duplicates if not r["detected"]],
            "pairs": [[r["case_id"], r["duplicate_of"]] for r in duplicates],
        },
        "approval_reminders": {
            "description": "n8n reminds the approver when an approval (supplier invoices, purchase requests) has "
                           "not started reminder_after_hours after it became due, and escalates to the finance "
                           "controller (the CFO for the finance controller's own approvals) escalation_after_hours "
                           "later; deterministic timers, elapsed time",
            "activities": [REMINDER, ESCALATION], "resource": "n8n",
            "reminder_after_hours": params.reminders.reminder_after_hours,
            "escalation_after_hours": params.reminders.escalation_after_hours,
            "reminders": sum(1 for r in chased if r["activity"] == REMINDER),
            "escalations": sum(1 for r in chased if r["activity"] == ESCALATION),
            "by_process": {name: dict(sorted(Counter(r["activity"] for r in chased if r["process"] == name).items()))
                           for name in ("supplier_invoices", "purchase_requests")},
            "by_approver_role": dict(sorted(Counter(r["approver_role"] for r in chased
                                                    if r["activity"] == REMINDER).items())),
            "escalated_case_ids": sorted({r["case_id"] for r in chased if r["activity"] == ESCALATION}),
        },
        "requests_via_portal": {"count": len(truths.get("requests_via_portal", [])),
                                "case_ids": ids.get("requests_via_portal", [])},
    }


def build_manifest(*, seed: int, params: GeneratorParams, sim: Simulation, models: dict[str, ProcessModel],
                   arrivals: dict[str, dict], events: int) -> dict:
    """Return the whole manifest as a JSON-ready dict."""
    org = sim.org
    workload = {name: {"tasks": w.tasks, "busy_hours": _round(w.busy_minutes / 60, 2)}
                for name, w in sim.workers.items()}
    return {
        "manifest_version": MANIFEST_VERSION,
        "generator": "twinflow synthetic clinic network",
        "seed": seed,
        "period": {"start": params.start, "months": params.months, "timezone": params.timezone,
                   "origin_utc": sim.clock.origin.isoformat(), "weekdays": list(WEEKDAYS)},
        "scale": {"sites": params.sites, "volume": params.volume, "load": _round(org.load, 6)},
        "delegated_approvals": sim.delegated,
        "counts": {"events": events, **{name: {"cases": len(m.cases), "events": len(m.rec),
                                               "activities": _activity_counts(m)} for name, m in models.items()}},
        "processes": {name: {"performers": _performers(m), "timing_notes": m.timing_notes,
                             "documents": m.documents} for name, m in models.items()},
        "arrivals": arrivals,
        "planted_truths": planted_truths(sim, params, models),
        "organisation": org.as_json(),
        "workload": workload,
        "parameters": params.model_dump(mode="json"),
    }


def dumps(manifest: dict) -> str:
    """Return the manifest as indented JSON text (stable: same dict, same text)."""
    return json.dumps(manifest, indent=1, ensure_ascii=False) + "\n"


def write_manifest(manifest: dict, path: str | os.PathLike) -> Path:
    """Write the manifest as JSON and return its path."""
    path = Path(path)
    path.write_text(dumps(manifest), encoding="utf-8")
    return path
