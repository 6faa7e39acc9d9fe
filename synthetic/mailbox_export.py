"""E-mail threads of a generated network as a mail server would hold them: an mbox file and a Maildir.

Only events that plausibly are e-mails become messages:

- supplier invoices arriving at the AP mailbox (From the vendor, a PDF attachment named after the vendor's
  invoice number; a duplicate is the same invoice sent again under a new Message-ID), price queries to the
  vendor (Resolve price mismatch) and the buyer's confirmation (Confirm price with supplier), as replies;
- approval requests (one per approval decision, sent when the approval became due: the end of the case's
  previous event) and the approver's reply "Approved" / "Rejected" (one per approval event of the ground truth);
- n8n's reminders (one per 'Send approval reminder' event: From the Odoo notifications address, To the approver,
  a reply to the request) and escalations (one per 'Escalate approval' event: To the finance controller, Cc the
  approver, "Fwd:" of the request with the request quoted, threaded under the request);
- RFQs and purchase orders sent to suppliers (purchase requests), the supplier's quotation and confirmation
  as replies;
- credential verification requests to the external register and its answer (onboarding).

Headers are real: unique deterministic Message-IDs, In-Reply-To and References chain replies, Date in the
site's time zone (+0100 / +0200), reply prefixes as the sender's mail client writes them (Re:, RE:, AW:, Antw:).
No header names the case or the activity: a connector has to use the business keys in subjects and bodies.
Bytes are deterministic for a seed: MIME boundaries derive from the Message-ID, the mbox 'From ' line from the
message date, and Maildir names (cur/<epoch>.<seq>.twinflow:2,S) from the date and the message's rank.
"""

from __future__ import annotations

import email.utils
import hashlib
import json
import mailbox
import time
import zlib
from dataclasses import dataclass, field
from email.charset import QP, Charset
from email.header import Header
from email.message import Message
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from pathlib import Path

import pandas as pd

from synthetic.generate import GeneratedOrg
from synthetic.odoo import case_rows, clinic_domain, invoice_subject, mailbox_name

CHASERS = ("Send approval reminder", "Escalate approval")
APPROVAL_PREFIXES = ("Approve invoice", "Approve request", "Reject purchase request", "Approve purchase order",
                     "Approve urgent purchase", "Approve IT access", "Approve budget exception")
FAKE_PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
HOST = "twinflow"
_QP = Charset("utf-8")
_QP.body_encoding = QP


def is_approval(activity: str) -> bool:
    """Return whether an activity is an approval decision (each one is answered by an e-mail)."""
    return activity.startswith(APPROVAL_PREFIXES)


@dataclass
class Mail:
    """One e-mail before it is rendered: headers, text, optional attachment."""

    when: pd.Timestamp
    sender: str
    to: str
    subject: str
    body: str
    message_id: str
    parent: Mail | None = None
    cc: str | None = None
    attachment: str | None = None
    references: list[str] = field(default_factory=list)


def _by_case(org: GeneratedOrg, process: str) -> list[tuple[str, list]]:
    """Return the events of a process grouped by case (cases in id order, events in log order)."""
    frame = org.events_frame(process)[["case_id", "activity", "start_time", "end_time", "resource", "attributes"]]
    groups: dict[str, list] = {}
    for ev in frame.itertuples(index=False):
        groups.setdefault(ev.case_id, []).append(ev)
    return sorted(groups.items())


def _prefix(address: str) -> str:
    """Return the reply prefix the sender's mail client writes (German/Dutch Outlook for some)."""
    k = zlib.crc32(address.encode()) % 10
    return "AW:" if k < 2 else "Antw:" if k < 4 else "RE:" if k < 5 else "Re:"


def _strip(subject: str) -> str:
    for p in ("Re: ", "RE: ", "AW: ", "Antw: ", "Fwd: "):
        if subject.startswith(p):
            return subject[len(p):]
    return subject


class _Threads:
    def __init__(self, org: GeneratedOrg) -> None:
        self.org = org
        self.domain = clinic_domain(org)
        self.tz = org.params.timezone
        self.mails: list[Mail] = []
        self.people = {p.name: p for p in org.organisation.people}
        self.vendors = {v.name: v for v in org.organisation.vendors}
        self.company = org.organisation.sites[0].name.split()[0] + " Zorggroep"

    def address(self, resource: str) -> str:
        p = self.people.get(resource)
        if p is not None:
            return email.utils.formataddr((p.name, f"{mailbox_name(p.login)}@{self.domain}"))
        v = self.vendors.get(resource)
        if v is not None:
            return email.utils.formataddr((v.name, v.email))
        if resource == "credential-registry":
            return email.utils.formataddr(("BIG-register verificatie", "verificatie@credential-registry.example"))
        return email.utils.formataddr((f"{self.company} (Odoo)", f"notifications@{self.domain}"))

    def new_id(self, when: pd.Timestamp, key: str, host: str | None = None) -> str:
        digest = hashlib.sha1(f"{key}|{when.isoformat()}|{len(self.mails)}".encode()).hexdigest()[:12]
        return f"<{when.strftime('%Y%m%d%H%M%S')}.{digest}@{host or 'mail.' + self.domain}>"

    def send(self, when: pd.Timestamp, sender: str, to: str, subject: str, body: str, parent: Mail | None = None,
             message_id: str | None = None, attachment: str | None = None, cc: str | None = None,
             prefix: str | None = None) -> Mail:
        if parent is not None:
            subject = f"{prefix or _prefix(sender)} {_strip(parent.subject)}"
        host = sender.rsplit("@", 1)[1].rstrip(">")
        mid = message_id or self.new_id(when, subject, "mail." + host if not host.startswith("mail.") else host)
        refs = [*parent.references, parent.message_id] if parent is not None else []
        mail = Mail(when, sender, to, subject, body, mid, parent, cc, attachment, refs)
        self.mails.append(mail)
        return mail

    # ---- per process

    def invoices(self) -> None:
        cases = case_rows(self.org, "supplier_invoices")
        ap = email.utils.formataddr(("Crediteurenadministratie", f"ap@{self.domain}"))
        for case_id, grp in _by_case(self.org, "supplier_invoices"):
            c = cases[case_id]
            vendor = self.address(c["vendor"])
            ref = c["vendor_invoice_ref"]
            po = c["po_number"]
            thread = None
            query = None
            for ev in grp:
                if ev.activity == "Receive invoice":
                    order = f" (purchase order {c['po_number']})" if po else ""
                    thread = self.send(ev.end_time, vendor, ap, invoice_subject(c["vendor"], ref, po),
                                       f"Dear customer,\n\nPlease find attached invoice {ref} dated "
                                       f"{c['invoice_date']} for EUR {c['amount']:,.2f}{order}.\nPayment terms: "
                                       f"{c['payment_terms_days']} days.\n\nKind regards,\n{c['vendor']}\n",
                                       message_id=c["message_id"], attachment=f"{ref}.pdf")
                elif ev.activity == "Resolve price mismatch" and thread is not None:
                    query = self.send(ev.end_time, self.address(ev.resource), vendor, "",
                                      f"Hello,\n\nThe prices on invoice {ref} do not match purchase order "
                                      f"{c['po_number']}. Could you please confirm the prices?\n\nRegards,\n"
                                      f"{ev.resource}\n", parent=thread)
                elif ev.activity == "Confirm price with supplier" and query is not None:
                    self.send(ev.end_time, self.address(ev.resource), vendor, "",
                              f"Thank you, the prices for {c['po_number']} are confirmed; invoice {ref} can be "
                              f"processed.\n\n{ev.resource}\n", parent=query, cc=ap)

    def purchases(self) -> None:
        cases = case_rows(self.org, "purchase_requests")
        for case_id, grp in _by_case(self.org, "purchase_requests"):
            c = cases[case_id]
            vendor = self.address(c["vendor"])
            po = c["po_number"]
            rfq = order = None
            for ev in grp:
                subject = f"{self.company} Order (Ref {po})"
                if ev.activity == "Send RFQ":
                    rfq = self.send(ev.end_time, self.address(ev.resource), vendor, subject,
                                    f"Dear {c['vendor']},\n\nHere is in attachment a request for quotation {po}."
                                    f"\n\nIf you have any questions, please do not hesitate to contact us.\n\n"
                                    f"Best regards,\n{ev.resource}\n", attachment=f"Request for Quotation - {po}.pdf")
                elif ev.activity == "Receive quotations" and rfq is not None:
                    self.send(ev.end_time, vendor, rfq.sender, "", f"Please find our quotation for {po} attached.\n",
                              parent=rfq, attachment=f"Quotation {po}.pdf")
                elif ev.activity == "Send purchase order":
                    order = self.send(ev.end_time, self.address(ev.resource), vendor, subject,
                                      f"Dear {c['vendor']},\n\nHere is in attachment a purchase order {po} amounting "
                                      f"in EUR {c['amount']:,.2f}.\n\nBest regards,\n{ev.resource}\n",
                                      attachment=f"Purchase Order - {po}.pdf")
                elif ev.activity == "Confirm purchase order" and order is not None:
                    self.send(ev.end_time, vendor, order.sender, "",
                              f"We confirm your order {po}. Delivery will follow.\n", parent=order)

    def credentials(self) -> None:
        cases = case_rows(self.org, "onboarding")
        registry = self.address("credential-registry")
        for case_id, grp in _by_case(self.org, "onboarding"):
            c = cases[case_id]
            request = None
            for ev in grp:
                if ev.activity == "Request credential verification":
                    request = self.send(ev.end_time, self.address(ev.resource), registry,
                                        f"Verificatieverzoek {c['employee_name']} ({c['position']})",
                                        f"Graag verificatie van de registratie van {c['employee_name']}, "
                                        f"{c['position']}, personeelsnummer {c['employee_number']}.\n")
                elif ev.activity == "Credential verification received" and request is not None:
                    self.send(ev.end_time, registry, request.sender, "",
                              f"De registratie van {c['employee_name']} is geverifieerd: geregistreerd.\n",
                              parent=request)

    def approvals(self) -> None:
        for process in self.org.processes:
            cases = case_rows(self.org, process)
            key_column = {"supplier_invoices": "bill_number", "purchase_requests": "pr_number",
                          "inventory_exceptions": "po_number", "onboarding": "employee_number"}.get(process)
            if key_column is None:
                continue
            for case_id, grp in _by_case(self.org, process):
                c = cases[case_id]
                done, chasers = [], []
                for ev in grp:
                    if ev.activity in CHASERS:
                        chasers.append(ev)  # n8n's reminders and escalations of the next approval
                        continue
                    if is_approval(ev.activity):
                        began = ev.start_time if pd.notna(ev.start_time) else ev.end_time
                        before = [e for e in done if e.end_time <= began]
                        self._approval(process, c, key_column, before[-1] if before else ev, ev, chasers)
                        chasers = []
                    done.append(ev)

    def _approval(self, process: str, c: pd.Series, key_column: str, previous, ev, chasers: list) -> None:
        key = c[key_column]
        requester = self.address(previous.resource)
        approver = self.address(ev.resource)
        if process == "supplier_invoices":
            what = f"vendor bill {key} from {c['vendor']} ({c['vendor_invoice_ref']})"
        elif process == "purchase_requests":
            what = f"purchase request {c['pr_number']}"
            if ev.activity == "Approve purchase order":
                what += f" / purchase order {c['po_number']}"
        elif process == "inventory_exceptions":
            what = f"urgent purchase {key} ({c['item']})"
        else:
            what = f"IT access for {c['employee_name']} ({key})"
        amount = f", EUR {c['amount']:,.2f}" if pd.notna(c.get("amount")) else ""
        if "budget" in ev.activity:
            label, ref = "budget exception", key
        elif ev.activity == "Approve purchase order":
            label, ref = "purchase order", c["po_number"]
        else:
            label = {"supplier_invoices": "vendor bill", "purchase_requests": "purchase request",
                     "inventory_exceptions": "urgent purchase", "onboarding": "IT access"}[process]
            ref = key
        subject = f"Approval requested: {label} {ref}"
        request = self.send(previous.end_time, requester, approver, subject,
                            f"Hello,\n\nYour approval is requested for {what}{amount} ({c['department']}, "
                            f"{c['site']}).\nPlease reply Approved or Rejected.\n")
        body = request.body
        for chaser in chasers:
            self._chase(request, chaser, approver, ev.resource, body)
        decision = "Rejected" if ev.activity.startswith("Reject") else "Approved"
        self.send(ev.end_time, approver, requester, "", f"{decision}\n\n{ev.resource}\n", parent=request)


    def _chase(self, request: Mail, ev, approver: str, approver_name: str, body: str) -> None:
        """Send n8n's reminder (a reply to the request) or escalation (a forward of it) for a waiting approval."""
        n8n = self.address("n8n")
        since = request.when.tz_convert(self.tz).strftime("%d-%m-%Y %H:%M")
        quoted = "\n".join(f"> {line}" if line else ">" for line in body.rstrip("\n").split("\n"))
        if ev.activity == "Send approval reminder":
            self.send(ev.end_time, n8n, approver, "", f"Reminder: your approval has been pending since {since}.\n"
                      f"Please reply Approved or Rejected to the request below.\n\n{quoted}\n", parent=request,
                      prefix="Re:")
            return
        attrs = json.loads(ev.attributes) if isinstance(ev.attributes, str) else {}
        boss = attrs.get("escalated_to", "")
        self.send(ev.end_time, n8n, self.address(boss), "",
                  f"Escalation: the approval below has been pending since {since} and {approver_name} has "
                  f"been reminded.\n\n---------- Forwarded message ----------\nFrom: {request.sender}\n"
                  f"To: {request.to}\nSubject: {request.subject}\n\n{quoted}\n",
                  parent=request, cc=approver, prefix="Fwd:")


def mail_threads(org: GeneratedOrg) -> list[Mail]:
    """Return every e-mail of the network, ordered by date (then by creation rank)."""
    t = _Threads(org)
    t.invoices()
    t.purchases()
    t.credentials()
    t.approvals()
    rank = {id(m): k for k, m in enumerate(t.mails)}
    return sorted(t.mails, key=lambda m: (m.when, rank[id(m)]))


def _header(value: str) -> str | Header:
    return value if value.isascii() else Header(value, "utf-8")


def render(mail: Mail, tz: str) -> Message:
    """Return the e-mail as a MIME message with real headers (deterministic: the boundary is the Message-ID's)."""
    text = MIMEText(mail.body, "plain", _QP)
    if mail.attachment:
        msg = MIMEMultipart("mixed", boundary="=_" + hashlib.sha1(mail.message_id.encode()).hexdigest()[:24])
        msg.attach(text)
        pdf = MIMEApplication(FAKE_PDF + mail.attachment.encode(), "pdf")
        pdf.add_header("Content-Disposition", "attachment", filename=mail.attachment)
        msg.attach(pdf)
    else:
        msg = text
    msg["From"] = mail.sender
    msg["To"] = mail.to
    if mail.cc:
        msg["Cc"] = mail.cc
    msg["Subject"] = _header(mail.subject)
    msg["Date"] = email.utils.format_datetime(mail.when.tz_convert(tz).to_pydatetime())
    msg["Message-ID"] = mail.message_id
    if mail.parent is not None:
        msg["In-Reply-To"] = mail.parent.message_id
        msg["References"] = " ".join(mail.references)
    return msg


def _address(header: str) -> str:
    return email.utils.parseaddr(header)[1]


def write_mail(org: GeneratedOrg, directory: str | Path) -> dict[str, Path]:
    """Write DIR/mail.mbox and the Maildir DIR/Maildir (cur/ only, read); return both paths."""
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    mbox_path = out / "mail.mbox"
    maildir = out / "Maildir"
    if mbox_path.exists():
        mbox_path.unlink()
    for sub in ("tmp", "new", "cur"):
        (maildir / sub).mkdir(parents=True, exist_ok=True)
        for old in (maildir / sub).iterdir():
            old.unlink()
    box = mailbox.mbox(mbox_path, create=True)
    try:
        for k, mail in enumerate(mail_threads(org)):
            data = render(mail, org.params.timezone).as_bytes()
            stamp = int(mail.when.timestamp())
            from_line = f"From {_address(mail.sender)} {time.asctime(time.gmtime(stamp))}\n".encode()
            box.add(from_line + data)  # mailbox takes a leading 'From ' line of bytes as the envelope line
            (maildir / "cur" / f"{stamp}.M{k:07d}.{HOST}:2,S").write_bytes(data)
        box.flush()
    finally:
        box.close()
    return {"mbox": mbox_path, "maildir": maildir}
