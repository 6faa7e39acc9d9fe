"""The true generating parameters: pydantic models with the defaults of the demo clinic network.

Units: every duration and delay is in **minutes** (the `days()` and `hours()` helpers only convert when the
defaults are written down); amounts are in EUR; rates are cases per year. Processing times are the time a
person (or system) spends on one activity; delays are waiting on parties outside the organisation (suppliers,
candidates, the credential registry) and run in calendar time.

A duration is either lognormal (median, sigma of the log) or gamma (mean, coefficient of variation), with an
optional cap: a sample above the cap is set to the cap (caps keep a task inside one shift). For the defaults
a cap bites in under 1% of samples, except the reopen delay of a ticket (about 4%, capped so that a reopen
comes before the ticket closes automatically).
"""

from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
Weekday = Literal["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


def hours(n: float) -> float:
    """Return `n` hours in minutes."""
    return n * 60.0


def days(n: float) -> float:
    """Return `n` days (of 24 hours) in minutes."""
    return n * 1440.0


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LogNormal(_Model):
    """Lognormal time in minutes: exp(N(log(median), sigma)), capped at `cap` when set."""

    kind: Literal["lognormal"] = "lognormal"
    median: float = Field(gt=0, description="minutes")
    sigma: float = Field(ge=0, description="standard deviation of the log")
    cap: float | None = Field(None, description="minutes; larger samples are set to the cap")

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Return `n` samples in minutes."""
        x = rng.lognormal(np.log(self.median), self.sigma, n) if self.sigma > 0 else np.full(n, self.median)
        return np.minimum(x, self.cap) if self.cap is not None else x


class Gamma(_Model):
    """Gamma time in minutes with the given mean and coefficient of variation, capped at `cap` when set."""

    kind: Literal["gamma"] = "gamma"
    mean: float = Field(gt=0, description="minutes")
    cv: float = Field(gt=0, description="standard deviation / mean")
    cap: float | None = Field(None, description="minutes; larger samples are set to the cap")

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Return `n` samples in minutes."""
        shape = 1.0 / self.cv**2
        x = rng.gamma(shape, self.mean / shape, n)
        return np.minimum(x, self.cap) if self.cap is not None else x


Duration = Annotated[LogNormal | Gamma, Field(discriminator="kind")]


def ln(median: float, sigma: float, cap: float | None = None) -> LogNormal:
    """Return a lognormal duration (minutes)."""
    return LogNormal(median=median, sigma=sigma, cap=cap)


def gamma(mean: float, cv: float, cap: float | None = None) -> Gamma:
    """Return a gamma duration (minutes)."""
    return Gamma(mean=mean, cv=cv, cap=cap)


class Arrivals(_Model):
    """A non-homogeneous Poisson arrival process with a piecewise-constant rate per local clock hour.

    rate(hour) = K * hour_of_week[how] * month_factor[month] * (month_end_factor in the last `month_end_days`
    days of a month) * (holiday_factor on a public holiday), where hour_of_week is day_weights[d] *
    (weekday_hours or weekend_hours)[h] normalised to sum 1 over the 168 hours of a week, month factors are
    normalised to mean 1, and K makes the first 12 months from the start hold `per_year` cases on average
    (times the volume and the sites' share). All in Europe/Amsterdam local time.
    """

    per_year: float = Field(gt=0, description="cases per year at volume 1 on the three default sites")
    day_weights: list[float] = Field(min_length=7, max_length=7, description="Mon..Sun")
    weekday_hours: list[float] = Field(min_length=24, max_length=24, description="relative weight per hour, Mon-Fri")
    weekend_hours: list[float] = Field(min_length=24, max_length=24, description="relative weight per hour, Sat-Sun")
    month_factors: list[float] = Field([1.0] * 12, min_length=12, max_length=12, description="Jan..Dec")
    month_end_days: int = Field(0, ge=0, le=10, description="last days of a month with the month-end factor")
    month_end_factor: float = Field(1.0, ge=0)
    holiday_factor: float = Field(1.0, ge=0, description="factor on public holidays")

    def hour_of_week(self) -> np.ndarray:
        """Return the 168 hour-of-week weights (Monday 00:00 local first), summing to 1."""
        w = np.array([self.day_weights[d] * (self.weekday_hours if d < 5 else self.weekend_hours)[h]
                      for d in range(7) for h in range(24)], dtype=float)
        return w / w.sum()

    def months(self) -> np.ndarray:
        """Return the 12 month factors normalised to mean 1."""
        m = np.array(self.month_factors, dtype=float)
        return m / m.mean()


def _office(peak: float = 1.0) -> list[float]:
    """Return 24 hourly weights for a typical office day (08:00-18:00 with a morning peak)."""
    return [0.05, 0.03, 0.03, 0.03, 0.05, 0.1, 0.3, 0.8, 2.0 * peak, 2.6 * peak, 2.5 * peak, 2.2, 1.6, 1.9,
            2.0, 1.9, 1.6, 1.0, 0.5, 0.3, 0.2, 0.15, 0.1, 0.08]


# ---------------------------------------------------------------------------------------------- organisation

class ShiftPattern(_Model):
    """Weekly working hours in local time: weekday -> list of ("HH:MM", "HH:MM") intervals.

    `on_holidays`: "off" (no work on public holidays) or "weekend" (the Saturday hours apply on a holiday).
    """

    weekly: dict[Weekday, list[tuple[str, str]]]
    on_holidays: Literal["off", "weekend"] = "off"


def _weekdays(*intervals: tuple[str, str], days_: tuple[str, ...] = WEEKDAYS[:5]) -> dict:
    return {d: list(intervals) for d in days_}


SHIFT_PATTERNS: dict[str, ShiftPattern] = {
    "office": ShiftPattern(weekly=_weekdays(("08:30", "17:00"))),
    "office_early": ShiftPattern(weekly=_weekdays(("08:00", "16:30"))),
    "office_late": ShiftPattern(weekly=_weekdays(("09:00", "17:30"))),
    "executive": ShiftPattern(weekly=_weekdays(("08:00", "18:00"))),
    # Department heads are clinicians: they do administration (approvals) in two blocks a day.
    "head_admin": ShiftPattern(weekly=_weekdays(("08:00", "09:00"), ("16:00", "17:00"))),
    "head_admin_am": ShiftPattern(weekly=_weekdays(("08:00", "09:30"))),
    "secretary": ShiftPattern(weekly=_weekdays(("08:00", "17:00"))),
    "desk_early": ShiftPattern(weekly=_weekdays(("07:00", "15:30"))),
    "desk_late": ShiftPattern(weekly=_weekdays(("13:30", "22:00"))),
    "desk_weekend": ShiftPattern(weekly=_weekdays(("09:00", "17:00"), days_=("Fri", "Sat", "Sun")),
                                 on_holidays="weekend"),
    "facilities_day": ShiftPattern(weekly=_weekdays(("07:00", "15:30"))),
    "facilities_rota": ShiftPattern(weekly=_weekdays(("08:00", "16:30"), days_=("Wed", "Thu", "Fri", "Sat", "Sun")),
                                    on_holidays="weekend"),
    "store": ShiftPattern(weekly=_weekdays(("06:30", "15:00"))),
    "store_saturday": ShiftPattern(weekly=_weekdays(("06:30", "15:00"), days_=("Tue", "Wed", "Thu", "Fri", "Sat"))),
}


class RoleSpec(_Model):
    """How many people hold a role and where: `count` per site (scope "site") or network-wide ("central").

    The count is multiplied by the load (volume x site factor) and rounded, with a minimum of `minimum`.
    People of a role get the listed shift patterns in turn.
    """

    role: str
    scope: Literal["central", "site"]
    department: str
    count: dict[str, float] = Field(description="site kind (or 'all') -> headcount at load 1")
    minimum: int = 1
    patterns: list[str]
    part_time_share: float = Field(0.0, ge=0, le=1, description="share working four days (one weekday off)")


class DepartmentSpec(_Model):
    """A cost-centre department of a site kind, with its share of the site's spend and hires."""

    name: str
    code: str
    clinical: bool
    spend_weight: float
    hire_weight: float


class SiteKind(_Model):
    """A kind of site (hospital, clinic, lab): its share of each process's volume and its departments."""

    kind: str
    label: str
    weight: dict[str, float] = Field(description="process -> share of the default network's volume")
    departments: list[DepartmentSpec]


class Absences(_Model):
    """Leave and sickness drawn per person and calendar year (days are working days)."""

    summer_block_days: int = 10
    spring_block_days: int = 5
    single_leave_days: int = 8
    christmas_share: float = Field(0.5, description="share of people off between Christmas and New Year")
    sick_episodes_per_year: float = 2.0
    sick_episode_mean_days: float = 2.5


def _dept(name: str, code: str, clinical: bool, spend: float, hires: float) -> DepartmentSpec:
    return DepartmentSpec(name=name, code=code, clinical=clinical, spend_weight=spend, hire_weight=hires)


class OrgParams(_Model):
    """Sites, departments, roles, shifts and absences of the clinic network."""

    site_kinds: list[SiteKind] = [
        SiteKind(kind="hospital", label="Central Hospital",
                 weight={"supplier_invoices": 0.6, "purchase_requests": 0.6, "onboarding": 0.6,
                         "service_requests": 0.6, "inventory_exceptions": 0.55},
                 departments=[_dept("Radiology", "RAD", True, 0.22, 0.12), _dept("Cardiology", "CAR", True, 0.12, 0.12),
                              _dept("Emergency Department", "EMD", True, 0.10, 0.18),
                              _dept("Surgery", "SUR", True, 0.16, 0.16),
                              _dept("Internal Medicine", "INT", True, 0.10, 0.18),
                              _dept("Pharmacy", "PHA", True, 0.12, 0.06),
                              _dept("Facilities Management", "FAC", False, 0.10, 0.08),
                              _dept("IT", "ICT", False, 0.08, 0.10)]),
        SiteKind(kind="clinic", label="Outpatient Clinic",
                 weight={"supplier_invoices": 0.25, "purchase_requests": 0.25, "onboarding": 0.25,
                         "service_requests": 0.25, "inventory_exceptions": 0.25},
                 departments=[_dept("Outpatient Care", "OPC", True, 0.40, 0.45),
                              _dept("Physiotherapy", "PHY", True, 0.20, 0.20),
                              _dept("Dermatology", "DER", True, 0.20, 0.20),
                              _dept("Facilities Management", "FAC", False, 0.20, 0.15)]),
        SiteKind(kind="lab", label="Diagnostics Lab",
                 weight={"supplier_invoices": 0.15, "purchase_requests": 0.15, "onboarding": 0.15,
                         "service_requests": 0.15, "inventory_exceptions": 0.20},
                 departments=[_dept("Clinical Chemistry", "CHE", True, 0.35, 0.35),
                              _dept("Microbiology", "MIC", True, 0.30, 0.30),
                              _dept("Pathology", "PAT", True, 0.25, 0.25),
                              _dept("Facilities Management", "FAC", False, 0.10, 0.10)]),
    ]
    towns: list[str] = ["Westerhaven", "Oosterveld", "Noorderpark", "Zuiderbroek", "Lindewaard", "Meerhoven",
                        "Esdonk", "Brinkhorst", "Wilgenrade", "Heideburg", "Kreekzand", "Dijkstede"]
    roles: list[RoleSpec] = [
        RoleSpec(role="AP clerk", scope="central", department="Finance", count={"all": 4}, minimum=2,
                 patterns=["office", "office_early", "office_late"], part_time_share=0.25),
        RoleSpec(role="finance controller", scope="central", department="Finance", count={"all": 1},
                 patterns=["office"]),
        RoleSpec(role="CFO", scope="central", department="Executive Board", count={"all": 0.1},
                 patterns=["executive"]),
        RoleSpec(role="buyer", scope="central", department="Procurement", count={"all": 4}, minimum=2,
                 patterns=["office_early", "office", "office_late"]),
        RoleSpec(role="HR officer", scope="central", department="Human Resources", count={"all": 3},
                 patterns=["office", "office_late"], part_time_share=0.3),
        RoleSpec(role="IT service desk agent", scope="central", department="IT", count={"all": 6}, minimum=2,
                 patterns=["desk_early", "desk_late", "desk_early", "desk_weekend", "desk_late", "desk_early"]),
        RoleSpec(role="facilities agent", scope="site", department="Facilities Management",
                 count={"hospital": 3, "clinic": 1, "lab": 1},
                 patterns=["facilities_day", "facilities_rota", "facilities_day"]),
        RoleSpec(role="store keeper", scope="site", department="Logistics",
                 count={"hospital": 2, "clinic": 1, "lab": 1}, patterns=["store", "store_saturday"]),
    ]
    heads_per_department: float = Field(1.0, description="department heads per department at volume 1")
    secretaries_per_department: dict[str, float] = {"hospital": 2, "clinic": 1, "lab": 1}
    head_pattern: str = "head_admin"
    secretary_pattern: str = "secretary"
    secretary_part_time_share: float = 0.3
    absences: Absences = Absences()
    shift_patterns: dict[str, ShiftPattern] = SHIFT_PATTERNS
    vendors: int = Field(250, description="suppliers in the vendor master")


# ------------------------------------------------------------------------------------------------- processes

class InvoiceParams(_Model):
    """Supplier invoices: e-mail intake, capture, three-way match, approval matrix, posting, payment runs."""

    arrivals: Arrivals = Arrivals(
        per_year=15000, day_weights=[1.1, 1.0, 1.0, 1.0, 1.0, 0.25, 0.15], weekday_hours=_office(),
        weekend_hours=[0.3] * 24, month_factors=[1.1, 1.0, 1.05, 1.0, 1.0, 1.0, 0.85, 0.8, 1.0, 1.05, 1.05, 1.1],
        month_end_days=3, month_end_factor=1.8, holiday_factor=0.3)
    amount: LogNormal = ln(900, 1.4, cap=400_000)
    p_no_po: float = 0.15
    p_ocr_unreadable: float = 0.08
    p_price_mismatch: float = Field(0.09, description="of invoices with a PO")
    p_quantity_mismatch: float = Field(0.08, description="of invoices with a PO")
    p_duplicate: float = 0.015
    p_duplicate_detected: float = 0.85
    payment_terms_days: dict[int, float] = {14: 0.2, 30: 0.7, 60: 0.1}
    invoice_date_lag_days: int = Field(5, description="invoice date is 0..lag days before receipt")
    finance_controller_above: float = Field(10_000, description="EUR; also approved by the finance controller")
    cfo_above: float = Field(50_000, description="EUR; also approved by the CFO")
    payment_run_weekdays: list[Weekday] = ["Tue", "Thu"]
    payment_run_time: str = "10:00"
    pay_ahead_days: int = Field(7, description="a run pays what falls due within this many days")
    bank_execution_time: str = Field("06:00", description="payments leave the bank the next business day")
    durations: dict[str, Duration] = {
        "Capture invoice (OCR)": gamma(1.5, 0.4, cap=10),
        "Capture invoice manually": ln(7, 0.4, cap=45),
        "Create bill": ln(4, 0.5, cap=40),
        "Reject duplicate": ln(3, 0.4, cap=20),
        "Resolve price mismatch": ln(15, 0.6, cap=90),
        "Confirm price with supplier": ln(10, 0.6, cap=60),
        "Post goods receipt": ln(6, 0.5, cap=40),
        "Code to cost centre": ln(3.5, 0.5, cap=30),
        "Approve invoice (department head)": ln(1.5, 0.5, cap=15),
        "Approve invoice (finance controller)": ln(4, 0.5, cap=30),
        "Approve invoice (CFO)": ln(5, 0.5, cap=30),
        "Post invoice": ln(2, 0.4, cap=15),
        "Reset to draft": ln(2, 0.4, cap=15),
        "Release payment": ln(15, 0.4, cap=60),
    }
    delays: dict[str, Duration] = {
        "supplier price confirmation": ln(days(1), 0.8, cap=days(15)),
        "goods arrival": ln(days(2), 0.8, cap=days(20)),
        "coding dispute noticed": ln(days(2), 0.6, cap=days(10)),
    }


class PurchasingParams(_Model):
    """Purchase requests: budget check, approval chain by amount and category, RFQ, PO, receipt."""

    arrivals: Arrivals = Arrivals(
        per_year=6000, day_weights=[1.1, 1.0, 1.0, 1.0, 0.9, 0.0, 0.0],
        weekday_hours=[0.0] * 8 + [1.0, 2.0, 2.5, 2.2, 1.2, 1.8, 2.3, 2.0, 1.0] + [0.0] * 7,
        weekend_hours=[0.0] * 24, month_factors=[1.0, 1.0, 1.1, 1.0, 1.0, 1.05, 0.7, 0.7, 1.0, 1.05, 1.15, 1.3],
        month_end_days=5, month_end_factor=1.3, holiday_factor=0.0)
    amount: LogNormal = ln(1500, 1.2, cap=500_000)
    p_medical: float = 0.55
    p_over_budget: float = 0.07
    p_rejected: float = Field(0.04, description="rejected by the department head")
    rfq_above: float = Field(2500, description="EUR; RFQ needed above this unless the item is on contract")
    p_on_contract: float = Field(0.4, description="share of requests above rfq_above covered by a contract")
    fc_above: dict[str, float] = {"medical": 10_000, "non-medical": 5_000}
    cfo_above: dict[str, float] = {"medical": 50_000, "non-medical": 25_000}
    po_approval_above: float = Field(5000, description="EUR; POs above need a second buyer's approval")
    durations: dict[str, Duration] = {
        "Approve budget exception": ln(8, 0.5, cap=45),
        "Approve request (department head)": ln(2, 0.5, cap=15),
        "Approve request (finance controller)": ln(5, 0.5, cap=30),
        "Approve request (CFO)": ln(5, 0.5, cap=30),
        "Send RFQ": ln(20, 0.5, cap=120),
        "Select supplier": ln(25, 0.5, cap=120),
        "Create purchase order": ln(8, 0.4, cap=45),
        "Approve purchase order": ln(3, 0.5, cap=20),
        "Send purchase order": ln(4, 0.3, cap=20),
        "Receive goods": ln(10, 0.5, cap=60),
    }
    delays: dict[str, Duration] = {
        "quotations": ln(days(3), 0.6, cap=days(20)),
        "supplier confirmation": ln(days(1), 0.7, cap=days(10)),
        "delivery": ln(days(5), 0.6, cap=days(40)),
    }


class OnboardingParams(_Model):
    """Employee onboarding: documents, credential verification, IT access, badge, training, first day."""

    arrivals: Arrivals = Arrivals(
        per_year=400, day_weights=[1.0, 1.0, 1.0, 1.0, 1.0, 0.3, 0.2],
        weekday_hours=[0.0] * 8 + [0.5, 1.0, 1.5, 1.5, 1.2, 1.5, 1.5, 1.5, 1.2, 1.0, 1.2, 1.5, 1.0, 0.5, 0.2, 0.0],
        weekend_hours=[0.0] * 9 + [1.0] * 12 + [0.0] * 3,
        month_factors=[1.0, 0.9, 0.9, 0.9, 0.9, 1.0, 1.1, 1.3, 1.4, 1.0, 0.8, 0.8], holiday_factor=0.3)
    p_clinical_in_clinical_department: float = 0.8
    p_documents_incomplete: float = 0.15
    notice: LogNormal = Field(ln(days(30), 0.4, cap=days(90)),
                              description="offer to planned start (then moved to the next Monday)")
    postpone_days: int = Field(7, description="each postponement moves the start by this many days")
    durations: dict[str, Duration] = {
        "Create employee record": ln(12, 0.4, cap=60),
        "Request documents": ln(5, 0.3, cap=20),
        "Check documents": ln(10, 0.5, cap=60),
        "Request missing documents": ln(4, 0.3, cap=20),
        "Request credential verification": ln(8, 0.4, cap=40),
        "Record credential verification": ln(5, 0.4, cap=30),
        "Request IT access": ln(6, 0.4, cap=30),
        "Approve IT access": ln(2, 0.5, cap=15),
        "Provision IT accounts": ln(20, 0.5, cap=120),
        "Order badge": ln(3, 0.3, cap=15),
        "Produce badge": ln(10, 0.4, cap=45),
        "Assign mandatory training": ln(5, 0.3, cap=20),
        "Postpone start date": ln(5, 0.3, cap=20),
    }
    delays: dict[str, Duration] = {
        "documents from candidate": ln(days(3), 0.8, cap=days(30)),
        "training completed": ln(days(6), 0.7, cap=days(60)),
    }


class ServiceParams(_Model):
    """Internal service requests (IT, facilities, HR, procurement): triage, assignment, resolution, closure."""

    arrivals: Arrivals = Arrivals(
        per_year=12000, day_weights=[1.3, 1.0, 1.0, 1.0, 0.9, 0.25, 0.2],
        weekday_hours=[0.3, 0.2, 0.2, 0.2, 0.3, 0.5, 1.0, 2.5, 4.0, 4.0, 3.5, 3.0, 2.5, 3.0, 3.0, 2.5, 2.0, 1.5,
                       1.0, 0.8, 0.6, 0.5, 0.4, 0.3],
        weekend_hours=[0.5] * 24,
        month_factors=[1.15, 1.05, 1.0, 1.0, 0.95, 0.95, 0.8, 0.85, 1.05, 1.05, 1.05, 1.1], holiday_factor=0.3)
    categories: dict[str, float] = {"IT": 0.55, "Facilities": 0.25, "HR": 0.12, "Procurement": 0.08}
    priorities: dict[str, float] = {"P1": 0.03, "P2": 0.15, "P3": 0.62, "P4": 0.20}
    sla_hours: dict[str, float] = Field({"P1": 4, "P2": 8, "P3": 24, "P4": 72},
                                        description="resolution target, wall-clock hours from submission")
    p_reopen: float = Field(0.06, description="chance that a resolved ticket is reopened (at most twice)")
    auto_close_after: float = Field(days(3), description="minutes after the last resolution")
    durations: dict[str, Duration] = {
        "Triage ticket": ln(3, 0.4, cap=20),
        "Reassign ticket": ln(3, 0.4, cap=20),
        "Resolve ticket (IT)": ln(20, 0.9, cap=240),
        "Resolve ticket (Facilities)": ln(40, 0.8, cap=360),
        "Resolve ticket (HR)": ln(20, 0.6, cap=180),
        "Resolve ticket (Procurement)": ln(30, 0.6, cap=180),
    }
    delays: dict[str, Duration] = {"reopen": ln(hours(20), 0.7, cap=days(2.9))}


class InventoryParams(_Model):
    """Inventory exceptions: stock below threshold, review, urgent purchase approval, expedite, receive."""

    arrivals: Arrivals = Arrivals(
        per_year=2000, day_weights=[1.0, 1.0, 1.0, 1.0, 1.0, 0.8, 0.8],
        weekday_hours=[0.0, 0.0, 0.6] + [0.0] * 11 + [0.4] + [0.0] * 9,
        weekend_hours=[0.0, 0.0, 0.6] + [0.0] * 11 + [0.4] + [0.0] * 9,
        month_factors=[1.1, 1.0, 1.0, 1.0, 1.0, 1.0, 0.9, 0.9, 1.0, 1.0, 1.05, 1.05])
    outcomes: dict[str, float] = {"false alarm": 0.15, "standard replenishment": 0.45, "urgent purchase": 0.40}
    order_value: LogNormal = Field(ln(900, 1.0, cap=60_000), description="EUR (not minutes): value to reorder, "
                                                                          "rounded up to whole units")
    fc_above: float = Field(5000, description="EUR; urgent purchases above also need the finance controller")
    durations: dict[str, Duration] = {
        "Review stock exception": ln(8, 0.5, cap=45),
        "Create replenishment order": ln(5, 0.4, cap=30),
        "Request urgent purchase": ln(6, 0.4, cap=30),
        "Approve urgent purchase": ln(2, 0.5, cap=15),
        "Approve urgent purchase (finance controller)": ln(4, 0.5, cap=30),
        "Expedite order": ln(15, 0.5, cap=90),
        "Receive goods": ln(10, 0.5, cap=60),
    }
    delays: dict[str, Duration] = {
        "standard delivery": ln(days(3), 0.5, cap=days(20)),
        "expedited delivery": ln(days(1), 0.5, cap=days(7)),
    }


# -------------------------------------------------------------------------------------------- planted truths

class BottleneckPlant(_Model):
    """(a) One department head at one site approves in one early block a day, slowly, never on one weekday, and
    has no deputy for absences (every other head has one)."""

    site_kind: str = "hospital"
    department: str = "Radiology"
    absent_weekday: Weekday = "Wed"
    speed_factor: float = Field(2.0, description="multiplies the person's processing times")
    pattern: str = "head_admin_am"


class ReworkPlant(_Model):
    """(b) Posted invoices reset to draft because the cost centre is disputed: far more often without a PO."""

    p_no_po: float = 0.35
    p_with_po: float = 0.03
    max_loops: int = 3


class SelfApprovalPlant(_Model):
    """(c1) One buyer approves their own purchase orders at a known rate (when an approval is required)."""

    buyer_index: int = 0
    rate: float = 0.3


class SelfPostingPlant(_Model):
    """(c2) One AP clerk posts bills they created themselves at a known rate."""

    clerk_index: int = 1
    rate: float = 0.10


class MisroutingPlant(_Model):
    """(d) Triage sends tickets to the wrong team; that team reassigns them. A novice agent misroutes more."""

    rate_by_category: dict[str, float] = {"IT": 0.03, "Facilities": 0.10, "HR": 0.12, "Procurement": 0.18}
    wrong_team: dict[str, dict[str, float]] = {
        "IT": {"Facilities": 0.8, "HR": 0.2},
        "Facilities": {"IT": 0.7, "Procurement": 0.3},
        "HR": {"IT": 0.6, "Facilities": 0.4},
        "Procurement": {"Facilities": 0.5, "IT": 0.2, "HR": 0.3},
    }
    novice_index: int = Field(0, description="index among the IT service desk agents")
    novice_factor: float = 3.0


class CredentialTailPlant(_Model):
    """(e) Credential verification by the external registry: lognormal, plus a share needing a manual inquiry."""

    delay: LogNormal = ln(days(6), 1.1, cap=days(90))
    p_manual_inquiry: float = 0.07
    inquiry_extra: LogNormal = ln(days(35), 0.4, cap=days(90))


class ActivityRef(_Model):
    """An activity of a process, with why it is listed."""

    process: str
    activity: str
    condition: str = ""
    why: str


class AutomationPlant(_Model):
    """(f) Activities that are good automation candidates, and one that looks like one but must stay human."""

    candidates: list[ActivityRef] = [
        ActivityRef(process="supplier_invoices", activity="Code to cost centre", condition="invoice has a PO",
                    why="high volume; the cost centre is always the PO's cost centre (rule-determined); "
                        "approval follows, so no control is lost"),
        ActivityRef(process="service_requests", activity="Triage ticket",
                    why="every ticket; the right team follows from the category chosen on the form; "
                        "human triage only adds misroutes; no control function"),
        ActivityRef(process="purchase_requests", activity="Send purchase order",
                    why="every PO; mechanical e-mail of the approved PO to the supplier; the control "
                        "(approval) happened before"),
    ]
    keep_human: list[ActivityRef] = [
        ActivityRef(process="supplier_invoices", activity="Release payment",
                    why="high volume and looks rule-determined (pay what falls due), but it is the last "
                        "control before money leaves: duplicates, changed bank details and fraud are caught "
                        "here; four-eyes on payments must stay"),
    ]


class PlantedParams(_Model):
    """Settings of every planted problem; the manifest reports what each one produced."""

    bottleneck: BottleneckPlant = BottleneckPlant()
    rework: ReworkPlant = ReworkPlant()
    self_approval: SelfApprovalPlant = SelfApprovalPlant()
    self_posting: SelfPostingPlant = SelfPostingPlant()
    misrouting: MisroutingPlant = MisroutingPlant()
    credential_tail: CredentialTailPlant = CredentialTailPlant()
    automation: AutomationPlant = AutomationPlant()


class ReminderParams(_Model):
    """Reminders and escalations of waiting approvals (supplier invoices, purchase requests), sent by n8n.

    Deterministic timers, no random draws: an approval that has not started `reminder_after_hours` elapsed hours
    after it became due gets a reminder to the approver; `escalation_after_hours` later still not started, an
    escalation to the finance controller (to the CFO when the finance controller is the one waited for).
    """

    reminder_after_hours: float = Field(48.0, gt=0, description="elapsed hours from due to the reminder")
    escalation_after_hours: float = Field(48.0, gt=0, description="elapsed hours from the reminder to the escalation")


class GeneratorParams(_Model):
    """Everything the generator needs besides the seed; the manifest holds it verbatim."""

    start: str = Field("2025-01-01", description="first local day (Europe/Amsterdam)")
    months: int = Field(12, ge=1, le=120)
    sites: int = Field(3, ge=1, le=200)
    volume: float = Field(1.0, gt=0, description="multiplies arrivals and headcounts")
    timezone: str = "Europe/Amsterdam"
    calendar_margin_days: int = Field(240, description="calendars extend this far past the last arrival")
    system_latency: float = Field(0.25, description="minutes from a trigger to the automatic step it starts")
    organisation: OrgParams = OrgParams()
    supplier_invoices: InvoiceParams = InvoiceParams()
    purchase_requests: PurchasingParams = PurchasingParams()
    onboarding: OnboardingParams = OnboardingParams()
    service_requests: ServiceParams = ServiceParams()
    inventory_exceptions: InventoryParams = InventoryParams()
    planted: PlantedParams = PlantedParams()
    reminders: ReminderParams = ReminderParams()
