"""Source records of the synthetic network: Odoo 17 JSON and the mailbox (mbox, Maildir).

Small scale (one month, volume 0.1): determinism, Odoo's field conventions, and that the ground truth can be
rebuilt from the raw records alone.
"""

from __future__ import annotations

import email
import mailbox
import os
import re
import subprocess
import sys
from collections import Counter, defaultdict
from email.policy import default as POLICY
from pathlib import Path

import pytest

from synthetic.generate import generate
from synthetic.mailbox_export import is_approval, write_mail
from synthetic.odoo import LABELS, odoo_records, odoo_time, write_odoo

REPO = Path(__file__).resolve().parents[1]
ARGS = {"seed": 11, "months": 1, "volume": 0.1}
DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")


@pytest.fixture(scope="module")
def org():
    return generate(**ARGS)


@pytest.fixture(scope="module")
def records(org):
    return odoo_records(org)


@pytest.fixture(scope="module")
def written(org, tmp_path_factory):
    """The sources written in this process, and again by the CLI in a fresh interpreter with another hash seed."""
    base = tmp_path_factory.mktemp("sources")
    write_odoo(org, base / "a" / "odoo")
    write_mail(org, base / "a" / "mail")
    args = [f"--{k}={v}" for k, v in ARGS.items()]
    subprocess.run([sys.executable, "-m", "synthetic", *args, "--sources", "--out", str(base / "b")], check=True,
                   capture_output=True, cwd=REPO, env={**os.environ, "PYTHONHASHSEED": "12345"})
    return base / "a", base / "b"


def _files(root):
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_same_seed_same_bytes(written):
    a, b = written
    for sub in ("odoo", "mail"):
        fa, fb = _files(a / sub), _files(b / sub)
        assert fa.keys() == fb.keys()
        assert fa == fb
    assert "account.move.json" in _files(a / "odoo")
    names = sorted(_files(a / "mail" / "Maildir" / "cur"))
    assert names and all(re.fullmatch(r"\d{10}\.M\d{7}\.twinflow:2,S", n) for n in names)
    assert len(mailbox.Maildir(a / "mail" / "Maildir")) == len(mailbox.mbox(a / "mail" / "mail.mbox")) == len(names)


def _is_m2o(value) -> bool:
    return isinstance(value, list) and len(value) == 2 and isinstance(value[0], int) and isinstance(value[1], str)


def test_odoo_conventions(records):
    moves = records["account.move"]
    assert moves and all(m["move_type"] == "in_invoice" for m in moves)
    for model, rows in records.items():
        for r in rows:
            for key in ("create_date", "write_date", "date", "reviewed_date", "date_done", "date_approve",
                        "close_date", "assign_date", "date_order"):
                value = r.get(key)
                if value and model != "account.move":  # account.move.date is a date field
                    assert DATETIME.match(value), (model, key, value)
            for key in ("partner_id", "create_uid", "write_uid", "company_id", "currency_id", "subtype_id",
                        "author_id", "stage_id", "team_id", "user_id", "field_id", "done_by"):
                if r.get(key) not in (None, False):
                    assert _is_m2o(r[key]), (model, key, r[key])
    fields = {f["id"]: f for f in records["ir.model.fields"]}
    labels = {(f["model"], f["name"]): set(LABELS[(f["model"], f["name"])].values())
              for f in fields.values() if f["ttype"] == "selection"}
    messages = {m["id"]: m for m in records["mail.message"]}
    for tv in records["mail.tracking.value"]:
        f = fields[tv["field_id"][0]]
        msg = messages[tv["mail_message_id"][0]]
        assert tv["id"] in msg["tracking_value_ids"] and msg["model"] == f["model"]
        if f["ttype"] == "selection":
            for side in ("old", "new"):
                assert tv[f"{side}_value_char"] in labels[(f["model"], f["name"])] | {False}
        if f["ttype"] == "datetime" and tv["new_value_datetime"]:
            assert DATETIME.match(tv["new_value_datetime"])
        if f["ttype"] == "many2one" and tv["new_value_integer"]:
            assert isinstance(tv["new_value_char"], str)
    assert all(DATETIME.match(m["date"]) for m in messages.values())


def test_one_message_per_transaction(org, records):
    fields = {f["id"]: f["name"] for f in records["ir.model.fields"]}
    tracked = defaultdict(list)
    for tv in records["mail.tracking.value"]:
        tracked[tv["mail_message_id"][0]].append(fields[tv["field_id"][0]])
    messages = {m["id"]: m for m in records["mail.message"]}
    # The first posting assigns the number and posts the bill in one write: one message, two values.
    multi = [tracked[k] for k, m in messages.items() if m["model"] == "account.move" and len(tracked[k]) > 1]
    assert multi and all(sorted(t) == ["name", "state"] for t in multi)
    # Triage sets the stage and the team together.
    assert any(sorted(tracked[k]) == ["stage_id", "team_id"] for k, m in messages.items()
               if m["model"] == "helpdesk.ticket")
    # Exactly one tracking message per state-changing event of a bill (after its creation).
    ev = org.events_frame("supplier_invoices")
    changes = ev[(ev["object"] == "account.move") & ev["state_to"].notna() & (ev["activity"] != "Create bill")]
    bill_tracking = [k for k, m in messages.items() if m["model"] == "account.move" and tracked[k]]
    assert len(bill_tracking) == len(changes)
    assert len(multi) == len(org.cases_frame("supplier_invoices")) - (changes["state_to"] == "cancel").sum()


def test_bill_history_rebuilds_from_odoo_alone(org, records):
    """From account.move + mail.message + mail.tracking.value (+ users, fields) rebuild every bill's state changes."""
    user_of_partner = {u["partner_id"][0]: u["name"] for u in records["res.users"]}
    field_name = {f["id"]: f["name"] for f in records["ir.model.fields"]}
    raw = {field: {label: value for value, label in LABELS[("account.move", field)].items()}
           for field in ("state", "payment_state")}
    tracking = defaultdict(list)
    for tv in records["mail.tracking.value"]:
        tracking[tv["mail_message_id"][0]].append(tv)
    rebuilt = defaultdict(list)
    for m in sorted(records["mail.message"], key=lambda m: (m["date"], m["id"])):
        if m["model"] != "account.move":
            continue
        for tv in tracking[m["id"]]:
            name = field_name[tv["field_id"][0]]
            if name in raw:
                rebuilt[m["res_id"]].append((m["date"], user_of_partner[m["author_id"][0]],
                                             raw[name][tv["old_value_char"]], raw[name][tv["new_value_char"]]))
    # Ground truth: a bill is found by vendor, vendor reference and creation time (drafts have no number).
    cases = org.cases_frame("supplier_invoices").set_index("case_id")
    ev = org.events_frame("supplier_invoices")
    ev = ev[ev["object"] == "account.move"]
    created = ev[ev["activity"] == "Create bill"].set_index("case_id")
    key_to_case = {(cases.loc[c, "vendor"], cases.loc[c, "vendor_invoice_ref"], odoo_time(row["end_time"])): c
                   for c, row in created.iterrows()}
    assert len(key_to_case) == len(created)
    seen = set()
    for move in records["account.move"]:
        case_id = key_to_case[(move["partner_id"][1], move["ref"], move["create_date"])]
        seen.add(case_id)
        assert move["create_uid"][1] == created.loc[case_id, "resource"]
        truth = ev[(ev["case_id"] == case_id) & ev["state_to"].notna() & (ev["activity"] != "Create bill")]
        expected = [(odoo_time(r.end_time), "OdooBot" if r.resource == "odoo-bot" else r.resource, r.state_from,
                     r.state_to) for r in truth.itertuples()]
        assert rebuilt[move["id"]] == expected, case_id
        if move["state"] == "posted":
            assert move["name"] == cases.loc[case_id, "bill_number"]
    assert seen == set(cases.index)


def test_activities_and_reviews(org, records):
    ev = org.events_frame("onboarding")
    activity_events = ev[ev["start_time"].notna() & ~ev["activity"].isin(
        ["Create employee record", "Postpone start date"])]
    done = [m for m in records["mail.message"] if m["subtype_id"][1] == "Activities"]
    assert len(done) == len(activity_events)
    assert all(m["mail_activity_type_id"] and m["model"] == "hr.employee" for m in done)
    assert records["mail.activity"] == []  # every activity is done at the end of the run
    bills = org.events_frame("supplier_invoices")
    approvals = bills[bills["activity"].str.startswith("Approve invoice")]
    accepted = [m for m in records["mail.message"] if m["model"] == "account.move"
                and m["subtype_id"][1] == "Tier Validation Accepted"]
    assert len(accepted) == len(approvals)
    reviews = [r for r in records["tier.review"] if r["model"] == "account.move"]
    assert reviews and all(r["status"] == "approved" and r["done_by"] for r in reviews)


def test_open_work_at_a_cutoff(org):
    cut = org.events_frame("onboarding")["end_time"].quantile(0.5)
    partial = odoo_records(org, cutoff=cut.to_pydatetime())
    for rows in partial.values():
        for r in rows:
            assert r.get("create_date", "") <= odoo_time(cut)
    assert partial["mail.activity"], "activities scheduled before the cut-off and done after it stay open"
    assert all(a["res_model"] == "hr.employee" and a["state"] in ("overdue", "today", "planned")
               for a in partial["mail.activity"])


@pytest.fixture(scope="module")
def mails(written):
    """The messages of the mbox alone, parsed with the modern e-mail policy."""
    return [email.message_from_bytes(m.as_bytes(), policy=POLICY) for m in mailbox.mbox(written[0] / "mail" /
                                                                                          "mail.mbox")]


def test_mbox_threads_and_keys(org, mails):
    msgs = mails
    by_id = {m["Message-ID"]: m for m in msgs}
    assert len(by_id) == len(msgs)
    for m in msgs:
        assert re.search(r"[+-]0[12]00$", m["Date"])
        parent_id = m["In-Reply-To"]
        if parent_id is None:
            continue
        parent = by_id[parent_id]
        refs = m["References"].split()
        assert refs[-1] == parent_id and all(r in by_id for r in refs)
        assert m["Subject"].split(" ", 1)[0] in ("Re:", "RE:", "AW:", "Antw:", "Fwd:")
        assert m["Subject"].split(" ", 1)[1] == re.sub(r"^(Re|RE|AW|Antw|Fwd): ", "", parent["Subject"])
    cases = org.cases_frame("supplier_invoices")
    by_message = {mid: i for i, mid in enumerate(cases["message_id"])}
    invoices = [m for m in msgs if m["To"].addresses[0].username == "ap" and m["In-Reply-To"] is None]
    assert len(invoices) == len(cases)
    duplicated_refs = set(cases.loc[cases["duplicate_of"].notna(), "vendor_invoice_ref"])
    ref_cases = Counter(cases["vendor_invoice_ref"])
    for m in invoices:
        ref = re.search(r"F\d{4}-\d+", m["Subject"]).group(0)
        case = cases.iloc[by_message[m["Message-ID"]]]
        assert case["vendor_invoice_ref"] == ref and case["vendor_email"] == m["From"].addresses[0].addr_spec
        attachments = list(m.iter_attachments())
        assert [a.get_filename() for a in attachments] == [f"{ref}.pdf"]
        assert attachments[0].get_content_type() == "application/pdf"
        assert ref_cases[ref] == 1 or ref in duplicated_refs  # a key maps to one case, except resent duplicates


def test_bills_link_to_their_emails(records, mails):
    """Each bill's chatter holds the vendor's e-mail under its Message-ID, with the mbox's subject and date."""
    by_id = {m["Message-ID"]: m for m in mails}
    moves = {m["id"]: m for m in records["account.move"]}
    linked = [m for m in records["mail.message"] if m["model"] == "account.move" and m["message_type"] == "email"]
    assert sorted(m["res_id"] for m in linked) == sorted(moves)
    for m in linked:
        mail = by_id[m["message_id"]]
        assert mail["Subject"] == m["subject"] and moves[m["res_id"]]["ref"] in mail["Subject"]
        assert odoo_time(mail["Date"].datetime) == m["date"] <= moves[m["res_id"]]["create_date"]


def test_approval_mail_counts(org, mails):
    msgs = mails
    by_id = {m["Message-ID"]: m for m in msgs}
    requests = [m for m in msgs if m["Subject"].startswith("Approval requested:")]
    replies = [m for m in msgs if m["In-Reply-To"] in by_id
               and by_id[m["In-Reply-To"]]["Subject"].startswith("Approval requested:")]
    chasers = [m for m in replies if m.get_content().startswith(("Reminder:", "Escalation:"))]
    decisions = [m for m in replies if m not in chasers]
    truth = org.events
    activities = truth.column("activity").to_pylist()
    assert len(chasers) == activities.count("Send approval reminder") + activities.count("Escalate approval")
    approvals = [a for a in activities if is_approval(a)]
    assert len(requests) == len(decisions) == len(approvals)
    rejected = sum(1 for m in decisions if m.get_content().startswith("Rejected"))
    assert rejected == activities.count("Reject purchase request")
    orders = [m for m in msgs if re.search(r"Order \(Ref P\d{5}\)$", m["Subject"]) and m["In-Reply-To"] is None]
    sent = activities.count("Send RFQ") + activities.count("Send purchase order")
    assert len(orders) == sent


def test_reminder_and_escalation_mails_thread_to_their_request():
    from synthetic.mailbox_export import mail_threads
    from synthetic.params import GeneratorParams

    params = GeneratorParams(reminders={"reminder_after_hours": 8, "escalation_after_hours": 8})
    small = generate(**ARGS, params=params)
    acts = small.events.column("activity").to_pylist()
    threads = mail_threads(small)
    reminders = [m for m in threads if m.body.startswith("Reminder:")]
    escalations = [m for m in threads if m.body.startswith("Escalation:")]
    assert escalations and len(reminders) == acts.count("Send approval reminder")
    assert len(escalations) == acts.count("Escalate approval")
    for m in reminders + escalations:
        assert m.parent is not None and m.parent.subject.startswith("Approval requested:")
        assert m.references == [m.parent.message_id] and m.when > m.parent.when
        assert "notifications@" in m.sender
    assert all(m.subject.startswith("Re: ") and m.to == m.parent.to for m in reminders)
    assert all(m.subject.startswith("Fwd: ") and m.cc == m.parent.to and "> Your approval" in m.body
               for m in escalations)
