"""Seeded generator of a purchase-to-pay (supplier invoice) event log, written as CSV and as XES 1.0.

The log has exactly N events. Each case is one supplier invoice ("INV-000123") that follows one of a few
variants: EDI and portal invoices skip scanning, invoices without a purchase order skip the three-way
match, a failed match loops through "Request Correction" up to three times, invoices above 10,000 need a
second approval, and some invoices are rejected. Resources (50 names) belong to a role that fits the
activity; timestamps are ISO 8601 wall-clock times in Europe/Amsterdam with their UTC offset (+01:00 or
+02:00). The CSV is sorted by time, as a system export would be; the XES has one <trace> per case.

    .venv/bin/python bench/generate.py --events 100000 --out bench/out
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import quoteattr

import numpy as np
import pandas as pd

GENERATOR_VERSION = 1

ACTIVITIES = [
    "Receive Invoice", "Scan Invoice", "Register Invoice", "Three-Way Match", "Request Correction",
    "Approve Invoice", "Second Approval", "Reject Invoice", "Schedule Payment", "Pay Invoice",
]
A = {name: i for i, name in enumerate(ACTIVITIES)}
# Mean wait before each activity, in hours (exponentially distributed; the first one is the case start).
MEAN_GAP_HOURS = np.array([0, 4, 20, 3, 26, 40, 30, 20, 24, 24 * 14], dtype=float)
# Role that performs each activity, and how many people hold each role (50 in all).
ROLES = ["Mailroom", "AP Clerk", "Budget Holder", "Finance Manager", "Treasury"]
ROLE_SIZES = np.array([5, 18, 15, 4, 8])
ACTIVITY_ROLE = np.array([0, 0, 1, 1, 1, 2, 3, 3, 4, 4])
FIRST_NAMES = ["Anna", "Bram", "Carla", "Daan", "Eva", "Femke", "Gert", "Hanna", "Ilse", "Jeroen", "Kim",
               "Lars", "Maud", "Niels", "Olga", "Pieter", "Roos", "Sven", "Tessa", "Vera", "Wout", "Yara"]
LAST_NAMES = ["de Vries", "Jansen", "Bakker", "Visser", "Smit", "Meijer", "Mulder", "de Boer", "Bos",
              "Vos", "Peters", "Hendriks", "Dekker", "Brouwer", "Dijkstra", "Kok"]
SITES = ["Amsterdam", "Rotterdam", "Utrecht", "Eindhoven", "Groningen"]
SITE_WEIGHTS = [0.35, 0.25, 0.2, 0.12, 0.08]
DEPARTMENTS = ["Radiology", "Cardiology", "Pharmacy", "Facilities", "IT", "Laboratory", "Catering", "HR"]
CHANNELS = ["EDI", "portal", "email", "paper"]
CHANNEL_WEIGHTS = [0.35, 0.2, 0.3, 0.15]
VENDORS = 500
START = np.datetime64("2023-01-01T00:00:00", "s")
SPAN_SECONDS = 2 * 365 * 86400
CSV_COLUMNS = ["case_id", "activity", "timestamp", "resource", "role", "amount", "site", "department",
               "vendor", "po_number", "channel"]


@dataclass
class Log:
    """Event-level arrays (in case order, then event order) and case-level arrays."""

    case: np.ndarray          # event -> case index
    activity: np.ndarray      # event -> activity index
    resource: np.ndarray      # event -> resource index
    utc: np.ndarray           # event -> datetime64[s] in UTC
    resources: list[str]
    case_ids: np.ndarray      # case -> "INV-000123"
    amount: np.ndarray        # case -> float, 2 decimals
    site: np.ndarray          # case -> index into SITES
    department: np.ndarray    # case -> index into DEPARTMENTS
    vendor: np.ndarray        # case -> "SUP-0042"
    po_number: np.ndarray     # case -> "PO-0012345" or "" (no purchase order)
    channel: np.ndarray       # case -> index into CHANNELS

    @property
    def events(self) -> int:
        return len(self.case)


def _template(scan: bool, po: bool, corrections: int, rejected: bool, second: bool) -> list[int]:
    acts = [A["Receive Invoice"]]
    if scan:
        acts.append(A["Scan Invoice"])
    acts.append(A["Register Invoice"])
    if po:
        acts.append(A["Three-Way Match"])
        for _ in range(corrections):
            acts += [A["Request Correction"], A["Three-Way Match"]]
    if rejected:
        return acts + [A["Reject Invoice"]]
    acts.append(A["Approve Invoice"])
    if second:
        acts.append(A["Second Approval"])
    return acts + [A["Schedule Payment"], A["Pay Invoice"]]


def _resources(rng: np.random.Generator) -> list[str]:
    names: list[str] = []
    while len(names) < int(ROLE_SIZES.sum()):
        name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
        if name not in names:
            names.append(name)
    return names


def generate(events: int, seed: int = 42) -> Log:
    """Return a log of exactly `events` events (the last case is cut short if need be)."""
    rng = np.random.default_rng(seed)
    cases = events // 5 + 10  # more than enough: the shortest variant has 5 events
    channel = rng.choice(len(CHANNELS), size=cases, p=CHANNEL_WEIGHTS)
    scan = channel >= 2
    po = rng.random(cases) < 0.88
    corrections = rng.choice(4, size=cases, p=[0.72, 0.19, 0.06, 0.03]) * po
    rejected = rng.random(cases) < 0.06 + 0.05 * corrections
    amount = np.round(rng.lognormal(np.log(1800), 1.1, size=cases), 2)
    second = amount > 10_000
    # Every combination of the five switches is one template: index them in a padded matrix.
    templates = []
    for c in range(2 * 2 * 4 * 2 * 2):
        s, p, k, r, two = c >> 5 & 1, c >> 4 & 1, c >> 2 & 3, c >> 1 & 1, c & 1
        templates.append(_template(bool(s), bool(p), k, bool(r), bool(two)))
    code = ((((scan.astype(int) * 2 + po) * 4 + corrections) * 2 + rejected) * 2 + second).astype(int)
    lengths = np.array([len(t) for t in templates])[code]
    ends = np.cumsum(lengths)
    cases = int(np.searchsorted(ends, events) + 1)
    width = max(len(t) for t in templates)
    matrix = np.full((len(templates), width), -1)
    for i, t in enumerate(templates):
        matrix[i, : len(t)] = t
    rows = matrix[code[:cases]]
    activity = rows[rows >= 0][:events]
    case = np.repeat(np.arange(cases), lengths[:cases])[:events]

    # Times: case start uniform over two years (office hours-ish), then exponential waits per activity.
    days = rng.integers(0, SPAN_SECONDS // 86400, size=cases)
    start = START + days * 86400 + rng.integers(7 * 3600, 17 * 3600, size=cases)
    gaps = (rng.exponential(1.0, size=events) * MEAN_GAP_HOURS[activity] * 3600).astype(np.int64) + 60
    first = np.r_[True, case[1:] != case[:-1]]
    gaps[first] = 0
    elapsed = np.cumsum(gaps)
    elapsed -= np.maximum.accumulate(np.where(first, elapsed, 0))
    utc = start[case] + elapsed.astype("timedelta64[s]")

    role = ACTIVITY_ROLE[activity]
    offsets = np.r_[0, np.cumsum(ROLE_SIZES)[:-1]]
    resource = offsets[role] + (rng.random(events) * ROLE_SIZES[role]).astype(int)

    width = max(6, len(str(cases)))
    case_ids = np.array([f"INV-{i:0{width}d}" for i in range(1, cases + 1)], dtype=object)
    vendor_rank = np.minimum(rng.zipf(1.3, size=cases), VENDORS) - 1
    vendor_ids = rng.permutation(VENDORS)[vendor_rank] + 1
    vendor = np.array([f"SUP-{v:04d}" for v in vendor_ids], dtype=object)
    po_number = np.array([f"PO-{7_000_000 + i:07d}" if p else "" for i, p in enumerate(po[:cases])],
                         dtype=object)
    return Log(
        case=case, activity=activity, resource=resource, utc=utc, resources=_resources(rng),
        case_ids=case_ids, amount=amount[:cases], site=rng.choice(len(SITES), size=cases, p=SITE_WEIGHTS),
        department=rng.integers(0, len(DEPARTMENTS), size=cases), vendor=vendor, po_number=po_number,
        channel=channel[:cases],
    )


def _local_iso(utc: np.ndarray, millis: bool) -> np.ndarray:
    """Return ISO 8601 wall-clock times in Europe/Amsterdam with their offset, as an object array."""
    index = pd.DatetimeIndex(utc).tz_localize("UTC").tz_convert("Europe/Amsterdam")
    local = index.tz_localize(None).values.astype("datetime64[s]")
    offset_hours = ((local - utc) // np.timedelta64(1, "h")).astype(int)
    text = np.datetime_as_string(local, unit="s").astype(object)
    suffix = np.where(offset_hours == 2, "+02:00", "+01:00").astype(object)
    return text + (".000" if millis else "") + suffix


def _amounts(values: np.ndarray) -> np.ndarray:
    return np.array([f"{v:.2f}" for v in values], dtype=object)


def write_csv(log: Log, path: Path) -> None:
    """Write the log as a comma-separated file with a header, sorted by time (then case, then position)."""
    order = np.lexsort((np.arange(log.events), log.case, log.utc))
    c = log.case[order]
    frame = pd.DataFrame({
        "case_id": log.case_ids[c],
        "activity": np.array(ACTIVITIES, dtype=object)[log.activity[order]],
        "timestamp": _local_iso(log.utc[order], millis=False),
        "resource": np.array(log.resources, dtype=object)[log.resource[order]],
        "role": np.array(ROLES, dtype=object)[ACTIVITY_ROLE[log.activity[order]]],
        "amount": _amounts(log.amount)[c],
        "site": np.array(SITES, dtype=object)[log.site[c]],
        "department": np.array(DEPARTMENTS, dtype=object)[log.department[c]],
        "vendor": log.vendor[c],
        "po_number": log.po_number[c],
        "channel": np.array(CHANNELS, dtype=object)[log.channel[c]],
    }, columns=CSV_COLUMNS)
    frame.to_csv(path, index=False, lineterminator="\n")


XES_HEADER = """<?xml version="1.0" encoding="UTF-8" ?>
<log xes.version="1.0" xes.features="nested-attributes" openxes.version="1.0RC7">
\t<extension name="Lifecycle" prefix="lifecycle" uri="http://www.xes-standard.org/lifecycle.xesext"/>
\t<extension name="Organizational" prefix="org" uri="http://www.xes-standard.org/org.xesext"/>
\t<extension name="Time" prefix="time" uri="http://www.xes-standard.org/time.xesext"/>
\t<extension name="Concept" prefix="concept" uri="http://www.xes-standard.org/concept.xesext"/>
\t<global scope="trace">
\t\t<string key="concept:name" value="__INVALID__"/>
\t</global>
\t<global scope="event">
\t\t<string key="concept:name" value="__INVALID__"/>
\t\t<date key="time:timestamp" value="1970-01-01T00:00:00.000+00:00"/>
\t\t<string key="lifecycle:transition" value="complete"/>
\t</global>
\t<classifier name="Activity" keys="concept:name"/>
\t<string key="concept:name" value="p2p"/>
"""


def _attr(kind: str, key: str, values: np.ndarray, indent: str) -> np.ndarray:
    return f'{indent}<{kind} key="{key}" value="' + values + '"/>\n'


def write_xes(log: Log, path: Path, chunk: int = 100_000) -> None:
    """Write the log as XES 1.0: trace attributes concept:name, site, department, vendor, channel and
    po_number (when there is one); events with concept:name, time:timestamp, org:resource, org:role,
    lifecycle:transition and amount."""
    escape = np.vectorize(lambda s: quoteattr(s)[1:-1], otypes=[object])
    acts = escape(np.array(ACTIVITIES, dtype=object))
    names = escape(np.array(log.resources, dtype=object))
    roles = escape(np.array(ROLES, dtype=object))
    trace_head = ("\t<trace>\n"
                  + _attr("string", "concept:name", log.case_ids, "\t\t")
                  + _attr("string", "site", np.array(SITES, dtype=object)[log.site], "\t\t")
                  + _attr("string", "department", np.array(DEPARTMENTS, dtype=object)[log.department], "\t\t")
                  + _attr("string", "vendor", log.vendor, "\t\t")
                  + _attr("string", "channel", np.array(CHANNELS, dtype=object)[log.channel], "\t\t")
                  + np.where(log.po_number != "", _attr("string", "po_number", log.po_number, "\t\t"), ""))
    amounts = _amounts(log.amount)
    first = np.r_[True, log.case[1:] != log.case[:-1]]
    last = np.r_[log.case[1:] != log.case[:-1], True]
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(XES_HEADER)
        for lo in range(0, log.events, chunk):
            s = slice(lo, lo + chunk)
            c = log.case[s]
            a = log.activity[s]
            text = (np.where(first[s], trace_head[c], "")
                    + "\t\t<event>\n"
                    + _attr("string", "concept:name", acts[a], "\t\t\t")
                    + _attr("date", "time:timestamp", _local_iso(log.utc[s], millis=True), "\t\t\t")
                    + _attr("string", "org:resource", names[log.resource[s]], "\t\t\t")
                    + _attr("string", "org:role", roles[ACTIVITY_ROLE[a]], "\t\t\t")
                    + '\t\t\t<string key="lifecycle:transition" value="complete"/>\n'
                    + _attr("float", "amount", amounts[c], "\t\t\t")
                    + "\t\t</event>\n"
                    + np.where(last[s], "\t</trace>\n", ""))
            f.write("".join(text))
        f.write("</log>\n")


def ensure_files(events: int, out: Path, seed: int = 42, kinds: tuple[str, ...] = ("csv", "xes"),
                 log: Callable[[str], None] = print) -> dict[str, Path]:
    """Return {kind: path} of the generated files, generating those not already there for this N and seed."""
    out.mkdir(parents=True, exist_ok=True)
    stem = f"p2p-{events}-s{seed}-v{GENERATOR_VERSION}"
    paths = {kind: out / f"{stem}.{kind}" for kind in kinds}
    missing = [k for k, p in paths.items() if not p.exists()]
    if missing:
        t0 = time.perf_counter()
        data = generate(events, seed)
        for kind in missing:
            tmp = paths[kind].with_suffix(f".{kind}.part")
            (write_csv if kind == "csv" else write_xes)(data, tmp)
            tmp.replace(paths[kind])
        log(f"generated {events:,} events ({data.case_ids.size:,} cases) as {', '.join(missing)} "
            f"in {time.perf_counter() - t0:.1f} s")
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "out")
    parser.add_argument("--kinds", default="csv,xes", help="comma-separated: csv, xes")
    parser.add_argument("--json", action="store_true", help="print {kind: path} as JSON on the last line")
    args = parser.parse_args()
    paths = ensure_files(args.events, args.out, args.seed, tuple(args.kinds.split(",")))
    for kind, path in paths.items():
        print(f"{kind}: {path} ({path.stat().st_size / 1e6:.1f} MB)")
    if args.json:
        print(json.dumps({kind: str(path) for kind, path in paths.items()}))


if __name__ == "__main__":
    main()
