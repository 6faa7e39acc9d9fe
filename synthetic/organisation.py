"""The clinic network: sites, cost-centre departments, named staff with roles and calendars, suppliers, systems.

Everything is drawn from one random generator, in a fixed order, so a seed gives the same organisation.
Headcounts scale with the load (volume x the sites' share of the default network's volume), so queues stay
about as long at volume 30 as at volume 1; the planted bottleneck approver stays one person whose share of
their department's approvals does not change with the volume.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from synthetic.calendar import Absence, CalendarFactory, WorkCalendar, draw_absences
from synthetic.names import FIRST_NAMES, LAST_NAMES, LEGAL_FORMS, VENDOR_STEMS, VENDOR_SUFFIXES
from synthetic.params import WEEKDAYS, GeneratorParams

PROCESSES = ("supplier_invoices", "purchase_requests", "onboarding", "service_requests", "inventory_exceptions")

# Systems and outside parties that appear as resources, so touchless and manual work can be told apart.
SYSTEMS: dict[str, str] = {
    "n8n": "workflow automation: reads the invoice mailbox and files attachments",
    "ocr-service": "extracts invoice fields from PDF attachments",
    "odoo-bot": "Odoo's scheduled actions and automatic checks",
    "odoo-portal": "Odoo web form, used when no requester is at work",
    "bank-interface": "executes released payments",
    "helpdesk-portal": "self-service portal for tickets",
    "recruitment-portal": "candidate portal: offer acceptance and document upload",
    "lms": "learning management system",
}
EXTERNAL = {"credential-registry": "external professional register that verifies licences"}
SYSTEM_ROLE = "system"
EXTERNAL_ROLE = "external"


@dataclass(eq=False)
class Site:
    """One site of the network."""

    index: int
    code: str
    kind: str
    name: str
    weight: dict[str, float]


@dataclass(eq=False)
class Person:
    """A named member of staff: role, site, department, shift pattern, absences and working calendar."""

    name: str
    login: str
    role: str
    site: Site
    department: str
    pattern: str
    off_weekday: int | None = None
    speed: float = 1.0
    absences: list[Absence] = field(default_factory=list)
    calendar: WorkCalendar | None = None
    usual: WorkCalendar | None = None  # the calendar without absences
    deputy: Person | None = None  # takes over new approvals while this person is absent

    def absent(self, t: float) -> bool:
        """Return whether the person is on leave or sick at minute `t` (or on their next usual working day)."""
        return self.calendar.next_working_instant(t) > self.usual.next_working_instant(t)

    def as_json(self) -> dict:
        """Return the person as a JSON-ready dict (calendar as rules: pattern, weekday off, absences)."""
        return {"name": self.name, "login": self.login, "role": self.role, "site": self.site.name,
                "department": self.department, "shift_pattern": self.pattern,
                "weekday_off": WEEKDAYS[self.off_weekday] if self.off_weekday is not None else None,
                "speed_factor": self.speed, "deputy": self.deputy.name if self.deputy else None,
                "absences": [a.as_json() for a in self.absences]}


@dataclass(eq=False)
class Department:
    """A cost-centre department of one site, with its heads (approvers) and secretaries (requesters)."""

    site: Site
    name: str
    cost_centre: str
    clinical: bool
    spend_weight: float
    hire_weight: float
    heads: list[Person] = field(default_factory=list)
    secretaries: list[Person] = field(default_factory=list)


@dataclass(frozen=True)
class Vendor:
    """A supplier in the vendor master."""

    name: str
    category: str  # "medical" or "non-medical"
    email: str


@dataclass
class Organisation:
    """Sites, departments, people, suppliers and the people chosen for the planted problems."""

    sites: list[Site]
    departments: list[Department]
    people: list[Person]
    vendors: list[Vendor]
    load: float
    calendars: CalendarFactory
    planted: dict[str, Person] = field(default_factory=dict)
    site_roles: set[str] = field(default_factory=set)  # roles whose work is queued per site

    def __post_init__(self) -> None:
        self.by_name = {p.name: p for p in self.people}
        self._roles: dict[tuple[str, int | None], list[Person]] = {}
        for p in self.people:
            self._roles.setdefault((p.role, None), []).append(p)
            self._roles.setdefault((p.role, p.site.index), []).append(p)

    def staff(self, role: str, site: Site | None = None) -> list[Person]:
        """Return the people holding `role` (at `site` when given), in a fixed order."""
        return self._roles.get((role, site.index if site else None), [])

    def departments_of(self, site: Site) -> list[Department]:
        """Return the departments of a site."""
        return [d for d in self.departments if d.site is site]

    def role_of(self, resource: str) -> str:
        """Return the role of a resource: the person's role, 'system' or 'external'."""
        person = self.by_name.get(resource)
        if person is not None:
            return person.role
        return SYSTEM_ROLE if resource in SYSTEMS else EXTERNAL_ROLE

    def as_json(self) -> dict:
        """Return sites, departments, people, vendors and systems as JSON-ready data."""
        return {
            "load": self.load,
            "sites": [{"code": s.code, "kind": s.kind, "name": s.name, "weight": s.weight} for s in self.sites],
            "departments": [{"site": d.site.name, "name": d.name, "cost_centre": d.cost_centre,
                             "clinical": d.clinical, "spend_weight": d.spend_weight, "hire_weight": d.hire_weight,
                             "heads": [p.name for p in d.heads], "secretaries": [p.name for p in d.secretaries]}
                            for d in self.departments],
            "people": [p.as_json() for p in self.people],
            "vendors": [{"name": v.name, "category": v.category, "email": v.email} for v in self.vendors],
            "systems": SYSTEMS,
            "external": EXTERNAL,
            "public_holidays": {d.isoformat(): n for d, n in self.calendars.holidays.items()},
        }


def _sites(params: GeneratorParams) -> list[Site]:
    kinds = params.organisation.site_kinds
    towns = params.organisation.towns
    codes = {"hospital": "HOS", "clinic": "CLI", "lab": "LAB"}
    seen: dict[str, int] = {}
    sites = []
    for i in range(params.sites):
        kind = kinds[i % len(kinds)]
        seen[kind.kind] = seen.get(kind.kind, 0) + 1
        n = seen[kind.kind]
        town = towns[i % len(towns)] + (f" {i // len(towns) + 1}" if i >= len(towns) else "")
        label = kind.label if n == 1 else kind.label.replace("Central ", "Regional ")
        code = codes.get(kind.kind, kind.kind[:3].upper()) + ("" if n == 1 else str(n))
        sites.append(Site(index=i, code=code, kind=kind.kind, name=f"{town} {label}", weight=dict(kind.weight)))
    return sites


def site_factor(sites: list[Site]) -> float:
    """Return the sites' share of the default three-site network's volume (mean over the processes)."""
    return sum(sum(s.weight.get(p, 0.0) for p in PROCESSES) / len(PROCESSES) for s in sites)


class _Names:
    """Unique fictional full names and logins, in an order fixed by the generator."""

    def __init__(self, rng: np.random.Generator) -> None:
        pairs = [(f, last) for f in FIRST_NAMES for last in LAST_NAMES]
        self.order = [pairs[i] for i in rng.permutation(len(pairs))]
        self.next = 0
        self.logins: set[str] = set()

    def take(self) -> tuple[str, str]:
        first, last = self.order[self.next % len(self.order)]
        round_ = self.next // len(self.order)
        self.next += 1
        # Past the list, a middle initial keeps names unique (a network this large is only for benchmarks).
        name = f"{first} {chr(ord('A') + round_ - 1)}. {last}" if round_ else f"{first} {last}"
        base = f"{first[0]}.{last.replace(' ', '')}".lower()
        login, k = base, 1
        while login in self.logins:
            k += 1
            login = f"{base}{k}"
        self.logins.add(login)
        return name, login


def _vendors(rng: np.random.Generator, n: int) -> list[Vendor]:
    vendors, seen = [], set()
    while len(vendors) < n:
        category = "medical" if rng.random() < 0.55 else "non-medical"
        stem = VENDOR_STEMS[int(rng.integers(len(VENDOR_STEMS)))]
        suffix = VENDOR_SUFFIXES[category][int(rng.integers(len(VENDOR_SUFFIXES[category])))]
        base = f"{stem}{suffix}" if " " not in suffix else f"{stem} {suffix}"
        name = base.title() if " " in base else base.capitalize()
        if name in seen:
            name = f"{name} {['Nederland', 'Benelux', 'Services', 'Group', 'Direct'][len(vendors) % 5]}"
        if name in seen:
            continue
        seen.add(name)
        form = LEGAL_FORMS[int(rng.integers(len(LEGAL_FORMS)))]
        domain = name.lower().replace(" ", "-").replace(".", "")
        vendors.append(Vendor(f"{name} {form}", category, f"invoices@{domain}.example"))
    return vendors


def build_organisation(rng: np.random.Generator, params: GeneratorParams, calendars: CalendarFactory,
                       ) -> Organisation:
    """Return the organisation for these parameters, drawn from `rng`."""
    org_params = params.organisation
    sites = _sites(params)
    load = params.volume * site_factor(sites)
    names = _Names(rng)
    people: list[Person] = []

    def hire(role: str, site: Site, department: str, pattern: str, part_time_share: float = 0.0) -> Person:
        name, login = names.take()
        person = Person(name=name, login=login, role=role, site=site, department=department, pattern=pattern)
        weekly = org_params.shift_patterns[pattern].weekly
        if rng.random() < part_time_share and all(d in weekly for d in WEEKDAYS[:5]):
            person.off_weekday = int(rng.integers(5))
        people.append(person)
        return person

    central = sites[0]
    for spec in org_params.roles:
        targets = [central] if spec.scope == "central" else sites
        for site in targets:
            base = spec.count.get("all", spec.count.get(site.kind, 0.0))
            scale = load if spec.scope == "central" else params.volume
            for k in range(max(spec.minimum, round(base * scale))):
                hire(spec.role, site, spec.department, spec.patterns[k % len(spec.patterns)], spec.part_time_share)

    departments: list[Department] = []
    kinds = {k.kind: k for k in org_params.site_kinds}
    for site in sites:
        for d in kinds[site.kind].departments:
            dept = Department(site=site, name=d.name, cost_centre=f"{site.code}-{d.code}", clinical=d.clinical,
                              spend_weight=d.spend_weight, hire_weight=d.hire_weight)
            for _ in range(max(1, round(org_params.heads_per_department * params.volume))):
                dept.heads.append(hire("department head", site, d.name, org_params.head_pattern))
            for _ in range(max(1, round(org_params.secretaries_per_department.get(site.kind, 1) * params.volume))):
                dept.secretaries.append(hire("department secretary", site, d.name, org_params.secretary_pattern,
                                             org_params.secretary_part_time_share))
            departments.append(dept)

    org = Organisation(sites=sites, departments=departments, people=people,
                       vendors=_vendors(rng, org_params.vendors), load=load, calendars=calendars,
                       site_roles={s.role for s in org_params.roles if s.scope == "site"})
    _plant_people(org, params)
    for person in people:
        workdays = calendars.workdays(person.pattern, person.off_weekday)
        person.absences = draw_absences(rng, org_params.absences, workdays)
        person.calendar = calendars.calendar(person.pattern, person.absences, person.off_weekday)
        person.usual = calendars.usual(person.pattern, person.off_weekday)
    _assign_deputies(org)
    return org


def _assign_deputies(org: Organisation) -> None:
    """Give every department head a deputy for their absences, except the planted bottleneck approver.

    The deputy is another head of the same department, else the head of the next department of the site; the
    bottleneck approver is nobody's deputy either (their queue is the planted problem, not a side effect).
    """
    bottleneck = org.planted.get("bottleneck")
    for site in org.sites:
        depts = org.departments_of(site)
        for k, dept in enumerate(depts):
            for j, head in enumerate(dept.heads):
                if head is bottleneck:
                    continue
                candidates = dept.heads[j + 1:] + dept.heads[:j]
                for other in depts[k + 1:] + depts[:k]:
                    candidates += other.heads
                head.deputy = next((c for c in candidates if c is not bottleneck and c is not head), None)


def _plant_people(org: Organisation, params: GeneratorParams) -> None:
    """Choose the people of the planted problems and give the bottleneck approver their calendar and speed."""
    plant = params.planted
    b = plant.bottleneck
    site = next((s for s in org.sites if s.kind == b.site_kind), org.sites[0])
    dept = next(d for d in org.departments_of(site) if d.name == b.department)
    head = dept.heads[0]
    head.pattern = b.pattern
    head.off_weekday = WEEKDAYS.index(b.absent_weekday)
    head.speed = b.speed_factor
    org.planted["bottleneck"] = head
    buyers = org.staff("buyer")
    org.planted["self_approver"] = buyers[plant.self_approval.buyer_index % len(buyers)]
    clerks = org.staff("AP clerk")
    org.planted["self_poster"] = clerks[plant.self_posting.clerk_index % len(clerks)]
    agents = org.staff("IT service desk agent")
    org.planted["novice_triage"] = agents[plant.misrouting.novice_index % len(agents)]

