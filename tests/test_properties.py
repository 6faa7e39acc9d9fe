"""Property-based tests: whatever a valid CSV or XES file holds comes back unchanged from the workspace."""

from __future__ import annotations

import csv
import tempfile
from collections import Counter
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from xml.sax.saxutils import quoteattr

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest import ImportOptions, connect, import_file

# Values as people type them: any printable text (quotes, delimiters, umlauts, emoji), trimmed and non-empty.
text = st.text(st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")), min_size=1, max_size=20).map(
    str.strip).filter(bool)
instants = st.datetimes(min_value=datetime(1950, 1, 1), max_value=datetime(2090, 12, 31)).map(
    lambda d: d.replace(microsecond=d.microsecond // 1000 * 1000))
offsets = st.integers(min_value=-12 * 4, max_value=14 * 4).map(lambda q: timezone(timedelta(minutes=15 * q)))
event = st.tuples(text, text, instants, offsets, st.one_of(st.none(), text))
logs = st.lists(event, min_size=1, max_size=40)

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _imported(path: Path, **options) -> Counter:
    con = connect(":memory:")
    try:
        import_file(path, ImportOptions(process="p", **options), con=con)
        rows = con.execute("SELECT case_id, activity, end_time, resource FROM events").fetchall()
    finally:
        con.close()
    return Counter((c, a, t.astimezone(UTC), r) for c, a, t, r in rows)


def _expected(log) -> Counter:
    return Counter((c, a, d.replace(tzinfo=off).astimezone(UTC), r) for c, a, d, off, r in log)


@SETTINGS
@given(logs)
def test_csv_round_trip(log):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "log.csv"
        with open(path, "w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f, quoting=csv.QUOTE_ALL)
            writer.writerow(["case_id", "activity", "timestamp", "resource"])
            for c, a, d, off, r in log:
                writer.writerow([c, a, d.replace(tzinfo=off).isoformat(), r or ""])
        assert _imported(path, delimiter=",") == _expected(log)


@SETTINGS
@given(logs)
def test_xes_round_trip(log):
    traces: dict[str, list] = {}
    for c, a, d, off, r in log:
        traces.setdefault(c, []).append((a, d.replace(tzinfo=off), r))
    parts = ['<?xml version="1.0" encoding="UTF-8"?>\n<log xes.version="1.0" xmlns="http://www.xes-standard.org/">']
    for case, events in traces.items():
        parts.append(f"<trace><string key=\"concept:name\" value={quoteattr(case)}/>")
        for a, d, r in events:
            resource = f"<string key=\"org:resource\" value={quoteattr(r)}/>" if r else ""
            parts.append(f"<event><string key=\"concept:name\" value={quoteattr(a)}/>"
                         f"<date key=\"time:timestamp\" value=\"{d.isoformat()}\"/>{resource}</event>")
        parts.append("</trace>")
    parts.append("</log>")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "log.xes"
        path.write_text("\n".join(parts), encoding="utf-8")
        assert _imported(path) == _expected(log)
