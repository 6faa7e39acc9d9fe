"""Odoo 17 source records of a generated network, as `search_read` would return them, one list per model.

The records are derived from the ground-truth events (who did what, when, state before and after); a connector
must rebuild the event log from them the hard way, as with a real Odoo database:

- chatter: one `mail.message` per transaction, its `mail.tracking.value` rows hold every tracked field changed in
  that write (selection values as their labels, many2one as id + display name, datetimes naive UTC);
- approvals are OCA `tier.review` rows (reviews of an earlier round are deleted when validation restarts after a
  reset to draft; the "A review was accepted" messages stay);
- onboarding tasks are `mail.activity` rows while open; done activities are deleted and leave an "Activities"
  notification message;
- many2one fields are `[id, display_name]`, empty values `False`, datetimes 'YYYY-MM-DD HH:MM:SS' (UTC, naive).

`odoo_records(org, cutoff=None)` returns {model: [record, ...]}; events after `cutoff` (a UTC datetime or ISO text)
are not in the database yet, so open work shows as open activities, pending reviews and intermediate states.
`write_odoo(org, dir)` writes `<model>.json` per model, deterministic bytes.
"""

from __future__ import annotations

import json
import unicodedata
from collections import defaultdict
from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd

from synthetic.generate import GeneratedOrg
from synthetic.organisation import EXTERNAL, SYSTEMS

COMPANY_ID = 1
EUR = [1, "EUR"]
# Fixed ids of mail.message.subtype records (the first three are Odoo's own; the others are module subtypes).
SUBTYPES = {"Discussions": 1, "Note": 2, "Activities": 3, "Paid": 10, "RFQ Approved": 20, "RFQ Confirmed": 21,
            "RFQ Sent": 22, "Ticket Created": 30, "Stage Changed": 31, "Tier Validation Requested": 40,
            "Tier Validation Accepted": 41, "Tier Validation Rejected": 42}
ACTIVITY_TYPES = {"To-Do": 4, "Upload Document": 5}
# Selection labels (Odoo stores the label of a selection value in mail.tracking.value).
LABELS = {
    ("account.move", "state"): {"draft": "Draft", "posted": "Posted", "cancel": "Cancelled"},
    ("account.move", "payment_state"): {"not_paid": "Not Paid", "in_payment": "In Payment", "paid": "Paid",
                                        "partial": "Partially Paid", "reversed": "Reversed"},
    ("purchase.order", "state"): {"draft": "RFQ", "sent": "RFQ Sent", "to approve": "To Approve",
                                  "purchase": "Purchase Order", "done": "Locked", "cancel": "Cancelled"},
    ("purchase.request", "state"): {"draft": "Draft", "to_approve": "To be approved", "approved": "Approved",
                                    "rejected": "Rejected", "in_progress": "In progress", "done": "Done"},
    ("stock.picking", "state"): {"draft": "Draft", "waiting": "Waiting Another Operation", "confirmed": "Waiting",
                                 "assigned": "Ready", "done": "Done", "cancel": "Cancelled"},
}
# Tracked fields: (model, field) -> (ir.model.fields id, description, ttype).
FIELDS = {
    ("account.move", "name"): (1001, "Number", "char"),
    ("account.move", "state"): (1002, "Status", "selection"),
    ("account.move", "payment_state"): (1003, "Payment Status", "selection"),
    ("purchase.order", "state"): (2001, "Status", "selection"),
    ("purchase.order", "date_approve"): (2002, "Confirmation Date", "datetime"),
    ("purchase.request", "state"): (3001, "Status", "selection"),
    ("stock.picking", "state"): (4001, "Status", "selection"),
    ("stock.picking", "date_done"): (4002, "Date of Transfer", "datetime"),
    ("helpdesk.ticket", "stage_id"): (5001, "Stage", "many2one"),
    ("helpdesk.ticket", "team_id"): (5002, "Helpdesk Team", "many2one"),
    ("helpdesk.ticket", "user_id"): (5003, "Assigned to", "many2one"),
}
CHASERS = ("Send approval reminder", "Escalate approval")  # n8n's timers on waiting approvals
TEAMS = {"Service Desk": 1, "IT": 2, "Facilities": 3, "HR": 4, "Procurement": 5}
TEAM_NAMES = {"Service Desk": "Service Desk", "IT": "IT Support", "Facilities": "Facilities", "HR": "HR Services",
              "Procurement": "Procurement"}
STAGES = {"New": 1, "Triaged": 2, "In Progress": 3, "Solved": 4, "Closed": 5}
PRIORITY = {"P1": "3", "P2": "2", "P3": "1", "P4": "0"}
TIER_DEFINITIONS = {"department head": 1, "finance controller": 2, "CFO": 3, "buyer": 4}
# Onboarding events that are not activities (portal, registry, LMS, the record itself, the start date).
NOT_ACTIVITIES = {"Offer accepted", "Create employee record", "Documents received", "Credential verification received",
                  "Complete mandatory training", "Postpone start date", "First working day"}
MODELS = ("res.partner", "res.users", "ir.model.fields", "account.move", "purchase.request", "purchase.order",
          "stock.picking", "hr.employee", "mail.activity", "helpdesk.ticket", "tier.review", "mail.message",
          "mail.tracking.value")


def odoo_time(ts: pd.Timestamp | datetime) -> str:
    """Return Odoo's datetime text: naive UTC 'YYYY-MM-DD HH:MM:SS'."""
    return pd.Timestamp(ts).tz_convert("UTC").strftime("%Y-%m-%d %H:%M:%S")


def mailbox_name(login: str) -> str:
    """Return the ASCII local part of a staff member's e-mail address for a login (ı -> i, é -> e, ...)."""
    text = unicodedata.normalize("NFKD", login.replace("ı", "i").replace("ø", "o").replace("ß", "ss"))
    return text.encode("ascii", "ignore").decode() or "staff"


def invoice_subject(vendor: str, ref: str, po: str | None) -> str:
    """Return the subject of a vendor's invoice e-mail (the vendor's language, its invoice number, the PO)."""
    word = "Rechnung" if "GmbH" in vendor else "Factuur" if "B.V." in vendor else "Invoice"
    return f"{word} {ref}" + (f" / PO {po}" if po else "")


def clinic_domain(org: GeneratedOrg) -> str:
    """Return the e-mail domain of the clinic network (from its first site's town)."""
    town = org.organisation.sites[0].name.split()[0].lower()
    return f"{town}-zorg.example"


class _Builder:
    def __init__(self, org: GeneratedOrg, cutoff: pd.Timestamp | None, events: pd.DataFrame) -> None:
        self.org = org
        self.rounds = _rounds(events)
        self.received: dict[str, pd.Timestamp] = {}
        self.reviews: dict[tuple[str, int], list[dict]] = {}
        self.receipts: dict[str, str] = {}  # PO name -> the receipt its confirmation creates
        self.departments = {(d.name, d.site.name): k + 1 for k, d in enumerate(org.organisation.departments)}
        self.cutoff = cutoff
        self.out: dict[str, list[dict]] = {m: [] for m in MODELS}
        self.by_key: dict[tuple[str, str], dict] = {}
        self.next_ids: dict[str, int] = defaultdict(lambda: 1)
        self.company = [COMPANY_ID, org.organisation.sites[0].name.split()[0] + " Zorggroep"]
        self.domain = clinic_domain(org)
        self.users: dict[str, list] = {}
        self.partners: dict[str, list] = {}
        self._people()

    def new_id(self, model: str) -> int:
        k = self.next_ids[model]
        self.next_ids[model] = k + 1
        return k

    def _partner(self, name: str, email: str | bool, is_company: bool = False, supplier: bool = False) -> list:
        pid = self.new_id("res.partner")
        self.out["res.partner"].append({
            "id": pid, "name": name, "display_name": name, "email": email, "is_company": is_company,
            "supplier_rank": 1 if supplier else 0, "company_id": False, "active": True})
        return [pid, name]

    def _user(self, key: str, name: str, login: str, share: bool = False, email: str | None = None) -> None:
        email = email or (f"{mailbox_name(login)}@{self.domain}" if "@" not in login else login)
        partner = self._partner(name, email)
        uid = self.new_id("res.users")
        self.out["res.users"].append({"id": uid, "name": name, "login": login, "partner_id": partner,
                                      "email": email, "share": share, "active": True, "company_id": self.company})
        self.users[key] = [uid, name]
        self.partners[key] = partner

    def _people(self) -> None:
        org = self.org.organisation
        self._partner(self.company[1], f"info@{self.domain}", is_company=True)  # partner 1: the company
        self._user("odoo-bot", "OdooBot", "__system__", email=f"odoobot@{self.domain}")  # user 1, partner 2
        self._user("__admin__", "Administrator", "admin")
        for system in sorted(s for s in SYSTEMS if s != "odoo-bot"):
            self._user(system, system, f"{system}@{self.domain}", share=system.endswith("portal"))
        for p in org.people:
            self._user(p.name, p.name, p.login)
        for v in org.vendors:
            self.partners[v.name] = self._partner(v.name, v.email, is_company=True, supplier=True)
        for ext in sorted(EXTERNAL):
            self.partners[ext] = self._partner(ext, f"verification@{ext}.example", is_company=True)
        for (model, field), (fid, desc, ttype) in FIELDS.items():
            self.out["ir.model.fields"].append({"id": fid, "name": field, "model": model, "field_description": desc,
                                                "ttype": ttype, "display_name": f"{desc} ({model})"})

    def dept_id(self, name: str, site: str) -> int:
        return self.departments.get((name, site), 0)

    def uid(self, resource: str) -> list:
        return self.users.get(resource) or self.users["odoo-bot"]

    def author(self, resource: str) -> list:
        return self.partners.get(resource) or self.partners["odoo-bot"]

    # ---- records and chatter

    def record(self, model: str, key: str, values: dict, ev: dict) -> dict:
        rec = {"id": self.new_id(model), **values, "company_id": self.company,
               "create_uid": self.uid(ev["resource"]), "create_date": odoo_time(ev["end_time"])}
        rec["write_uid"], rec["write_date"] = rec["create_uid"], rec["create_date"]
        self.out[model].append(rec)
        self.by_key[(model, key)] = rec
        return rec

    def touch(self, rec: dict, ev: dict) -> None:
        rec["write_uid"], rec["write_date"] = self.uid(ev["resource"]), odoo_time(ev["end_time"])

    def message(self, model: str, rec: dict, ev: dict, body: str, subtype: str = "Note",
                message_type: str = "notification", tracking: list[tuple] = (), **extra) -> dict | None:
        """Post one chatter message; `tracking` = [(field, old, new)] with raw values (labels looked up)."""
        values = []
        for field, old, new in tracking:
            if old != new:
                values.append((field, old, new))
        if tracking and not values and not body:
            return None
        mid = self.new_id("mail.message")
        name = rec.get("name") or rec.get("display_name") or ""
        msg = {"id": mid, "model": model, "res_id": rec["id"], "record_name": name, "message_type": message_type,
               "subtype_id": [SUBTYPES[subtype], subtype], "author_id": self.author(ev["resource"]),
               "date": odoo_time(ev["end_time"]), "body": body, "subject": extra.pop("subject", False),
               "tracking_value_ids": [], "mail_activity_type_id": extra.pop("activity_type", False),
               "message_id": extra.pop("message_id", False), "parent_id": False}
        email = self.out["res.partner"][msg["author_id"][0] - 1]["email"]
        msg["email_from"] = f'"{msg["author_id"][1]}" <{email}>'
        for field, old, new in values:
            tid = self.new_id("mail.tracking.value")
            fid, desc, ttype = FIELDS[(model, field)]
            # Odoo 17 keeps field_info only for fields since removed from the model.
            tv = {"id": tid, "field_id": [fid, f"{desc} ({model})"], "field_info": False,
                  "mail_message_id": [mid, name], "currency_id": False}
            for side, value in (("old", old), ("new", new)):
                for kind in ("char", "integer", "float", "datetime", "text"):
                    tv[f"{side}_value_{kind}"] = False
                if ttype == "selection":
                    tv[f"{side}_value_char"] = LABELS[(model, field)].get(value, value) if value else False
                elif ttype == "many2one":
                    tv[f"{side}_value_integer"] = value[0] if value else 0
                    tv[f"{side}_value_char"] = value[1] if value else False
                elif ttype == "datetime":
                    tv[f"{side}_value_datetime"] = value or False
                else:
                    tv[f"{side}_value_char"] = value or False
            msg["tracking_value_ids"].append(tid)
            self.out["mail.tracking.value"].append(tv)
        self.out["mail.message"].append(msg)
        return msg

    # ---- tier validation (OCA base_tier_validation)

    def request_reviews(self, model: str, rec: dict, ev: dict, roles: list[str]) -> None:
        """Create the tier.review rows of a validation round (deleting an earlier round's rows)."""
        rows = self.reviews[(model, rec["id"])] = []  # restarting validation deletes the earlier round
        for seq, role in enumerate(roles, start=1):
            holders = [self.users[p.name][0] for p in self.org.organisation.staff(role) if p.name in self.users]
            rows.append({
                "id": self.new_id("tier.review"), "model": model, "res_id": rec["id"], "sequence": seq,
                "definition_id": [TIER_DEFINITIONS.get(role, 9), f"{model}: {role} approval"],
                "status": "pending" if seq == 1 else "waiting", "reviewer_ids": sorted(holders),
                "requested_by": self.uid(ev["resource"]), "done_by": False, "reviewed_date": False,
                "create_date": odoo_time(ev["end_time"]), "company_id": self.company})
        if roles:
            who = self.uid(ev["resource"])[1]
            self.message(model, rec, ev, f"<p>A review has been requested by {who}.</p>",
                         subtype="Tier Validation Requested")

    def review(self, model: str, rec: dict, ev: dict, approved: bool, tracking: list[tuple] = ()) -> None:
        rows = [r for r in self.reviews.get((model, rec["id"]), []) if r["status"] in ("pending", "waiting")]
        if rows:
            row = rows[0]
            row["status"] = "approved" if approved else "rejected"
            row["done_by"] = self.uid(ev["resource"])
            row["reviewed_date"] = odoo_time(ev["end_time"])
            if row["done_by"][0] not in row["reviewer_ids"]:
                row["reviewer_ids"] = sorted([*row["reviewer_ids"], row["done_by"][0]])
            if len(rows) > 1 and approved:
                rows[1]["status"] = "pending"
        who = self.uid(ev["resource"])[1]
        verb = "accepted" if approved else "rejected"
        self.message(model, rec, ev, f"<p>A review was {verb} by {who}.</p>",
                     subtype=f"Tier Validation {'Accepted' if approved else 'Rejected'}", tracking=tracking)
        self.touch(rec, ev)


def _events(org: GeneratedOrg) -> pd.DataFrame:
    """Return every event in one frame, in Odoo's transaction order (end time, process, log order)."""
    frames = []
    for k, process in enumerate(org.processes):
        ev = org.events_frame(process)[["process", "case_id", "activity", "start_time", "end_time", "resource",
                                        "object", "document", "state_from", "state_to", "attributes"]]
        for col in ("activity", "resource", "object", "state_from", "state_to", "process"):
            ev[col] = ev[col].astype(object)
        ev["process_rank"] = k
        ev["row"] = range(len(ev))
        frames.append(ev)
    ev = pd.concat(frames, ignore_index=True)
    ev = ev.sort_values(["end_time", "process_rank", "row"], kind="stable").reset_index(drop=True)
    ev["attrs"] = [json.loads(a) if isinstance(a, str) else {} for a in ev["attributes"]]
    for col in ("state_from", "state_to", "object", "document"):
        ev[col] = ev[col].where(ev[col].notna(), None)
    return ev


def case_rows(org: GeneratedOrg, process: str) -> dict[str, dict]:
    """Return the cases of a process as {case_id: {column: value}} (missing values as None)."""
    frame = org.cases_frame(process).set_index("case_id")
    frame = frame.astype(object).where(frame.notna(), None)
    return frame.to_dict("index")


def odoo_records(org: GeneratedOrg, cutoff: datetime | str | None = None) -> dict[str, list[dict]]:
    """Return the Odoo 17 records of a generated network, by model name (see the module docstring)."""
    cut = None if cutoff is None else pd.Timestamp(cutoff)
    if cut is not None and cut.tzinfo is None:
        cut = cut.tz_localize("UTC")
    events = _events(org)
    b = _Builder(org, cut, events)
    cases = {p: case_rows(org, p) for p in org.processes}
    activity_created = _activity_creation(events)
    vendors_by_name = {v.name: v for v in org.organisation.vendors}
    start = org.clock.origin - timedelta(days=30)
    for row in events.itertuples(index=False):
        ev = row._asdict()
        if cut is not None and ev["end_time"] > cut:
            continue
        case = cases[ev["process"]][ev["case_id"]]
        handler = _HANDLERS.get(ev["process"])
        if handler:
            handler(b, ev, case, vendors_by_name, start)
    b.out["tier.review"] = [r for rows in b.reviews.values() for r in rows]
    _open_activities(b, events, activity_created, cut, cases.get("onboarding"))
    for model in MODELS:
        b.out[model].sort(key=lambda r: r["id"])
    return b.out


# ---- supplier invoices


def _bpo(b: _Builder, case: dict, start: datetime) -> None:
    """Create the blanket PO and its receipt an invoice refers to (they predate the generated period)."""
    po = case["po_number"]
    if not po or ("purchase.order", po) in b.by_key:
        return
    ev = {"resource": "odoo-bot", "end_time": pd.Timestamp(start)}
    b.record("purchase.order", po, {
        "name": po, "partner_id": b.partners[case["vendor"]], "state": "purchase", "amount_total": 0.0,
        "currency_id": EUR, "date_order": odoo_time(start), "date_approve": odoo_time(start), "user_id": False,
        "origin": False, "invoice_status": "to invoice"}, ev)
    b.record("stock.picking", case["receipt_number"], {
        "name": case["receipt_number"], "picking_type_code": "incoming", "origin": po, "state": "assigned",
        "scheduled_date": odoo_time(start), "date_done": False, "partner_id": b.partners[case["vendor"]]}, ev)


def _invoice(b: _Builder, ev: dict, case: dict, vendors: dict, start: datetime) -> None:
    act, obj = ev["activity"], ev["object"]
    if obj == "mail.message":  # the e-mail reaches the AP mailbox; the clerk attaches it to the bill later
        b.received[ev["case_id"]] = ev["end_time"]
    elif obj == "account.move":
        key = case["bill_number"]
        if act == "Create bill":
            _bpo(b, case, start)
            amount = float(case["amount"])
            untaxed = round(amount / 1.21, 2)
            rec = b.record("account.move", key, {
                "name": "/", "ref": case["vendor_invoice_ref"], "move_type": "in_invoice",
                "partner_id": b.partners[case["vendor"]], "invoice_date": case["invoice_date"],
                "date": case["invoice_date"], "invoice_date_due": case["due_date"], "amount_total": amount,
                "amount_untaxed": untaxed, "amount_tax": round(amount - untaxed, 2), "currency_id": EUR,
                "state": "draft", "payment_state": "not_paid", "invoice_origin": case["po_number"] or False,
                "journal_id": [2, "Vendor Bills"], "invoice_user_id": b.uid(ev["resource"])}, ev)
            b.message("account.move", rec, ev, "<p>Vendor Bill Created</p>")
            received = b.received.get(ev["case_id"])
            if received is not None:  # the original e-mail, logged with its own date and Message-ID
                b.message("account.move", rec, {"resource": case["vendor"], "end_time": received},
                          f"<p>Please find attached invoice {case['vendor_invoice_ref']}.</p>", subtype="Discussions",
                          message_type="email", message_id=case["message_id"],
                          subject=invoice_subject(case["vendor"], case["vendor_invoice_ref"], case["po_number"]))
            return
        rec = b.by_key.get(("account.move", key))
        if rec is None:
            return
        if act == "Code to cost centre":
            b.touch(rec, ev)
            roles = _pending_roles(b, ev)
            b.request_reviews("account.move", rec, ev, roles)
        elif act.startswith("Approve invoice"):
            b.review("account.move", rec, ev, approved=True)
        elif act in CHASERS:
            _chaser_note(b, "account.move", rec, ev)
        elif act == "Resolve price mismatch":
            b.message("account.move", rec, ev, f"<p>Price differs from {case['po_number']}; asked "
                      f"{case['vendor']} to confirm the price.</p>", message_type="comment")
            b.touch(rec, ev)
        elif ev["state_to"] is not None:
            field = "payment_state" if act in ("Release payment", "Pay invoice") else "state"
            tracking = [(field, rec[field], ev["state_to"])]
            if act == "Post invoice" and rec["name"] == "/":
                tracking.insert(0, ("name", "/", key))
                rec["name"] = key
            subtype = "Paid" if field == "payment_state" and ev["state_to"] == "paid" else "Note"
            b.message("account.move", rec, ev, "", subtype=subtype, tracking=tracking)
            rec[field] = ev["state_to"]
            b.touch(rec, ev)
    elif obj == "purchase.order" and case["po_number"]:
        rec = b.by_key.get(("purchase.order", case["po_number"]))
        if rec is not None:
            b.message("purchase.order", rec, ev, f"<p>Price confirmed with {case['vendor']} for invoice "
                      f"{case['vendor_invoice_ref']}.</p>", message_type="comment")
    elif obj == "stock.picking" and case["receipt_number"]:
        _picking_done(b, ev, case["receipt_number"])


def _chaser_note(b: _Builder, model: str, rec: dict, ev: dict) -> None:
    """Log n8n's approval reminder or escalation as a note in the record's chatter (no field changes)."""
    attrs = ev["attrs"]
    if ev["activity"] == "Send approval reminder":
        text = f"Reminder sent: approval ({attrs.get('approver_role', '')}) still pending."
    else:
        text = f"Approval ({attrs.get('approver_role', '')}) escalated to {attrs.get('escalated_to', '')}."
    b.message(model, rec, ev, f"<p>{text}</p>", message_type="comment")


def _pending_roles(b: _Builder, ev: dict) -> list[str]:
    """Return the approval roles of this round: the approvals of the case until its next posting."""
    return b.rounds.get((ev["case_id"], ev["end_time"]), [])


def _picking_done(b: _Builder, ev: dict, name: str) -> None:
    rec = b.by_key.get(("stock.picking", name))
    if rec is None:
        return
    done = odoo_time(ev["end_time"])
    b.message("stock.picking", rec, ev, "", tracking=[("state", rec["state"], "done"),
                                                     ("date_done", rec["date_done"], done)])
    rec["state"], rec["date_done"] = "done", done
    b.touch(rec, ev)


# ---- purchase requests and inventory exceptions


def _po_confirm(b: _Builder, rec: dict, ev: dict, state: str) -> None:
    tracking = [("state", rec["state"], state)]
    # purchase.order._track_subtype: approved after double validation, else confirmed; sending an RFQ
    if state == "purchase":
        subtype = "RFQ Approved" if rec["state"] == "to approve" else "RFQ Confirmed"
    else:
        subtype = {"to approve": "RFQ Confirmed", "sent": "RFQ Sent"}.get(state, "Note")
    if state == "purchase":
        rec["date_approve"] = odoo_time(ev["end_time"])
    b.message("purchase.order", rec, ev, "", subtype=subtype, tracking=tracking)
    rec["state"] = state
    b.touch(rec, ev)
    receipt = b.receipts.get(rec["name"])
    if state == "purchase" and receipt and ("stock.picking", receipt) not in b.by_key:
        b.record("stock.picking", receipt, {
            "name": receipt, "picking_type_code": "incoming", "origin": rec["name"], "state": "assigned",
            "scheduled_date": odoo_time(ev["end_time"]), "date_done": False, "partner_id": rec["partner_id"]}, ev)


def _new_po(b: _Builder, ev: dict, name: str, vendor: str | None, amount, origin: str, receipt: str | None) -> dict:
    created = {**ev, "end_time": ev["start_time"] if pd.notna(ev["start_time"]) else ev["end_time"]}
    rec = b.record("purchase.order", name, {
        "name": name, "partner_id": b.partners.get(vendor, False) if vendor else False, "state": "draft",
        "amount_total": float(amount) if amount == amount and amount is not None else 0.0, "currency_id": EUR,
        "date_order": odoo_time(created["end_time"]), "date_approve": False, "user_id": b.uid(ev["resource"]),
        "origin": origin, "invoice_status": "no"}, created)
    if isinstance(receipt, str):
        b.receipts[name] = receipt
    b.message("purchase.order", rec, created, "<p>Request for Quotation Created</p>")
    return rec


def _email_message(b: _Builder, model: str, rec: dict, ev: dict, subject: str, body: str) -> None:
    b.message(model, rec, ev, body, subtype="Discussions", message_type="email", subject=subject)


def _purchase(b: _Builder, ev: dict, case: dict, vendors: dict, start: datetime) -> None:
    act, obj = ev["activity"], ev["object"]
    if obj == "purchase.request":
        key = case["pr_number"]
        if act == "Submit purchase request":
            rec = b.record("purchase.request", key, {
                "name": key, "state": "draft", "requested_by": b.uid(ev["resource"]), "assigned_to": False,
                "date_start": str(pd.Timestamp(ev["end_time"]).tz_convert(b.org.params.timezone).date()),
                "origin": False, "description": f"{case['category']} purchase for {case['department']}",
                "estimated_cost": float(case["amount"])}, ev)
            b.message("purchase.request", rec, ev, "<p>Purchase Request created</p>")
            b.request_reviews("purchase.request", rec, ev, b.rounds.get((ev["case_id"], ev["end_time"]), []))
            b.message("purchase.request", rec, ev, "", tracking=[("state", "draft", "to_approve")])
            rec["state"] = "to_approve"
            return
        rec = b.by_key.get(("purchase.request", key))
        if rec is None:
            return
        tracking = [("state", rec["state"], ev["state_to"])] if ev["state_to"] else []
        if act in CHASERS:
            _chaser_note(b, "purchase.request", rec, ev)
        elif act.startswith("Approve request") or act == "Reject purchase request":
            b.review("purchase.request", rec, ev, approved=act != "Reject purchase request", tracking=tracking)
        elif tracking:
            b.message("purchase.request", rec, ev, "", tracking=tracking)
            b.touch(rec, ev)
        else:
            text = {"Check budget": f"Budget check: {ev['attrs'].get('result', '')}.",
                    "Approve budget exception": "Budget exception approved."}.get(act, act)
            b.message("purchase.request", rec, ev, f"<p>{text}</p>", message_type="comment")
        if ev["state_to"]:
            rec["state"] = ev["state_to"]
    elif obj == "purchase.order":
        key = case["po_number"]
        rec = b.by_key.get(("purchase.order", key))
        if act == "Send RFQ" or (act == "Create purchase order" and rec is None):
            rec = _new_po(b, ev, key, case["vendor"], case["amount"], case["pr_number"], case["receipt_number"])
        if act == "Send RFQ":
            _email_message(b, "purchase.order", rec, ev, f"{b.company[1]} Order (Ref {key})",
                           f"<p>Request for quotation {key}.</p>")
            _po_confirm(b, rec, ev, "sent")
        elif act in ("Create purchase order", "Approve purchase order"):
            _po_confirm(b, rec, ev, ev["state_to"])
        elif act == "Send purchase order":
            _email_message(b, "purchase.order", rec, ev, f"{b.company[1]} Order (Ref {key})",
                           f"<p>Purchase order {key} amounting to {case['amount']:.2f} EUR.</p>")
        elif act in ("Receive quotations", "Confirm purchase order"):
            text = "Our quotation" if act == "Receive quotations" else "We confirm your order"
            _email_message(b, "purchase.order", rec, ev, f"Re: {b.company[1]} Order (Ref {key})",
                           f"<p>{text} {key}.</p>")
        elif act == "Select supplier":
            b.message("purchase.order", rec, ev, f"<p>Selected supplier {case['vendor']}.</p>",
                      message_type="comment")
    elif obj == "stock.picking" and isinstance(case["receipt_number"], str):
        _picking_done(b, ev, case["receipt_number"])


def _inventory(b: _Builder, ev: dict, case: dict, vendors: dict, start: datetime) -> None:
    act, obj = ev["activity"], ev["object"]
    if obj == "purchase.order":
        key = case["po_number"]
        rec = b.by_key.get(("purchase.order", key))
        if rec is None:
            rec = _new_po(b, ev, key, None, case["amount"], case["orderpoint"], case["receipt_number"])
            b.request_reviews("purchase.order", rec, ev, b.rounds.get((ev["case_id"], ev["end_time"]), []))
        if act.startswith("Approve urgent purchase"):
            b.review("purchase.order", rec, ev, approved=True)
        elif ev["state_to"]:
            _po_confirm(b, rec, ev, ev["state_to"])
    elif obj == "stock.picking":
        _picking_done(b, ev, case["receipt_number"])


# ---- service requests


def _ticket(b: _Builder, ev: dict, case: dict, vendors: dict, start: datetime) -> None:
    act = ev["activity"]
    key = case["ticket_number"]

    def team(name: str) -> list:
        return [TEAMS[name], TEAM_NAMES[name]]

    if act == "Submit ticket":
        rec = b.record("helpdesk.ticket", key, {
            "name": f"{case['category']} request from {case['department']}", "ticket_ref": str(int(key[2:])),
            "team_id": team("Service Desk"), "stage_id": [STAGES["New"], "New"], "user_id": False,
            "priority": PRIORITY.get(case["priority"], "1"), "partner_id": False,
            "partner_name": f"Employee {case['requester_employee']}", "assign_date": False, "close_date": False,
            "kanban_state": "normal"}, ev)
        b.message("helpdesk.ticket", rec, ev, "<p>Ticket Created</p>", subtype="Ticket Created")
        return
    rec = b.by_key.get(("helpdesk.ticket", key))
    if rec is None:
        return
    tracking = []
    stage = [STAGES[ev["state_to"]], ev["state_to"]] if ev["state_to"] else rec["stage_id"]
    tracking.append(("stage_id", rec["stage_id"], stage))
    if "assigned_team" in ev["attrs"] or "team_to" in ev["attrs"]:
        tracking.append(("team_id", rec["team_id"], team(ev["attrs"].get("team_to") or ev["attrs"]["assigned_team"])))
    if act == "Assign ticket":
        tracking.append(("user_id", rec["user_id"], b.uid(ev["resource"])))
        rec["assign_date"] = rec["assign_date"] or odoo_time(ev["end_time"])
    subtype = "Stage Changed" if stage != rec["stage_id"] else "Note"
    b.message("helpdesk.ticket", rec, ev, "", subtype=subtype, tracking=tracking)
    for field, _, new in tracking:
        rec[field] = new
    if ev["state_to"] == "Closed":
        rec["close_date"] = odoo_time(ev["end_time"])
    b.touch(rec, ev)


# ---- onboarding: hr.employee, activities


def _activity_creation(events: pd.DataFrame) -> dict[int, pd.Timestamp]:
    """Return, per onboarding activity event (by frame index), when its activity was scheduled: the onboarding
    plan schedules one activity of each kind when the employee record is created; a repeated task (documents
    checked again, missing documents requested) is scheduled at the end of the case's latest earlier event."""
    out = {}
    sub = events[events["process"] == "onboarding"]
    for _, grp in sub.groupby("case_id", sort=False):
        ends, seen, plan = [], set(), None
        for idx, row in grp.iterrows():
            if row["activity"] == "Create employee record":
                plan = row["end_time"]
            elif row["activity"] not in NOT_ACTIVITIES and pd.notna(row["start_time"]):
                before = [e for e in ends if e <= row["start_time"]]
                first = row["activity"] not in seen and plan is not None
                out[idx] = plan if first else max(before) if before else row["start_time"]
                seen.add(row["activity"])
            ends.append(row["end_time"])
    return out


def _activity_type(activity: str) -> list:
    return [ACTIVITY_TYPES["Upload Document"], "Upload Document"] if "document" in activity.lower() else [
        ACTIVITY_TYPES["To-Do"], "To-Do"]


def _onboarding(b: _Builder, ev: dict, case: dict, vendors: dict, start: datetime) -> None:
    act = ev["activity"]
    key = case["employee_number"]
    if act == "Create employee record":
        rec = b.record("hr.employee", key, {
            "name": case["employee_name"], "job_title": case["position"], "barcode": key,
            "department_id": [b.dept_id(case["department"], case["site"]), f"{case['site']} / {case['department']}"],
            "parent_id": False, "coach_id": False, "work_email": False, "active": True,
            "employee_type": "employee", "first_contract_date": case["planned_start_date"]}, ev)
        b.message("hr.employee", rec, ev, "<p>Employee created</p>")
        return
    rec = b.by_key.get(("hr.employee", key))
    if rec is None or act == "Offer accepted":
        return
    if act in NOT_ACTIVITIES:
        if act == "Postpone start date":
            a = ev["attrs"]
            body = f"<p>Start date postponed from {a.get('from')} to {a.get('to')}.</p>"
            rec["first_contract_date"] = a.get("to")
        elif act == "First working day":
            body = "<p>First working day.</p>"
            rec["work_email"] = _work_email(case["employee_name"], b.domain)
        else:
            body = f"<p>{act}.</p>"
        b.message("hr.employee", rec, ev, body, message_type="comment" if ev["resource"] in b.users else "email")
        b.touch(rec, ev)
        return
    typ = _activity_type(act)
    body = (f'<div><p><span class="fa fa-check fa-fw"></span><span>{typ[1]}</span> done</p>'
            f'<div class="o_mail_note_title"><strong>{act}</strong></div></div>')
    b.message("hr.employee", rec, ev, body, subtype="Activities", activity_type=typ)


def _work_email(name: str, domain: str) -> str:
    parts = name.lower().split()
    return f"{parts[0][0]}.{''.join(parts[1:])}@{domain}"


def _open_activities(b: _Builder, events: pd.DataFrame, created: dict, cut: pd.Timestamp | None,
                     cases: dict[str, dict] | None) -> None:
    """Add the activities scheduled before the cut-off and not done by then (Odoo deletes done activities)."""
    if cut is None or cases is None:
        return
    today = cut.date()
    for idx, when in created.items():
        row = events.loc[idx]
        if not (when <= cut < row["end_time"]):
            continue
        rec = b.by_key.get(("hr.employee", cases[row["case_id"]]["employee_number"]))
        if rec is None:
            continue
        deadline = (when + timedelta(days=5)).date()
        state = "overdue" if deadline < today else "today" if deadline == today else "planned"
        b.out["mail.activity"].append({
            "id": b.new_id("mail.activity"), "res_model": "hr.employee", "res_id": rec["id"],
            "res_name": rec["name"], "activity_type_id": _activity_type(row["activity"]),
            "summary": row["activity"], "date_deadline": deadline.isoformat(), "user_id": b.uid(row["resource"]),
            "state": state, "create_date": odoo_time(when), "create_uid": b.users["odoo-bot"]})


_HANDLERS = {"supplier_invoices": _invoice, "purchase_requests": _purchase, "inventory_exceptions": _inventory,
             "service_requests": _ticket, "onboarding": _onboarding}


def _rounds(events: pd.DataFrame) -> dict[tuple[str, pd.Timestamp], list[str]]:
    """Return the approval roles requested at each review-requesting event (case id, end time)."""
    out = {}
    triggers = {"Code to cost centre", "Submit purchase request", "Request urgent purchase"}
    for case_id, grp in events[events["activity"].isin(triggers) | events["activity"].str.startswith(
            ("Approve invoice", "Approve request", "Reject purchase request", "Approve urgent purchase"))].groupby(
            "case_id", sort=False):
        current = None
        for _, row in grp.iterrows():
            if row["activity"] in triggers:
                current = out.setdefault((case_id, row["end_time"]), [])
            elif current is not None:
                current.append(_approval_role(row["activity"]))
    return out


def _approval_role(activity: str) -> str:
    for role in ("finance controller", "CFO"):
        if role in activity:
            return role
    return "department head"


def write_odoo(org: GeneratedOrg, directory: str | Path, cutoff: datetime | str | None = None) -> list[Path]:
    """Write one `<model>.json` per model (a JSON list of records, sorted keys) and return the paths."""
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for model, records in odoo_records(org, cutoff).items():
        path = out / f"{model}.json"
        path.write_text(json.dumps(records, sort_keys=True, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        paths.append(path)
    return paths


__all__ = ["MODELS", "case_rows", "clinic_domain", "invoice_subject", "mailbox_name", "odoo_records", "odoo_time",
           "write_odoo"]
