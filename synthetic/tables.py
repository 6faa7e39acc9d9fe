"""Arrow tables from a finished simulation: events in the canonical schema, and one case table per process.

Event columns: process, case_id, activity, start_time (UTC, null for instantaneous events), end_time (UTC),
resource, role, amount, currency, site, department (the common columns of the workspace), then object (the
Odoo model of the document the event touches), document (that document's number), state_from, state_to,
and attributes (JSON text of the other event details, null when there are none). Times are whole seconds.
Within a process, rows are ordered by case, end time, start time, and the order events were recorded.
"""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa

from synthetic.calendar import Clock
from synthetic.engine import Recorder, Vocab
from synthetic.organisation import Organisation
from synthetic.processes.base import ProcessModel

EVENT_COLUMNS = ["process", "case_id", "activity", "start_time", "end_time", "resource", "role", "amount",
                 "currency", "site", "department", "object", "document", "state_from", "state_to", "attributes"]
COMMON_CASE_COLUMNS = {"site": pa.string(), "department": pa.string(), "cost_centre": pa.string(),
                       "amount": pa.float64(), "currency": pa.string()}
TIMESTAMP = pa.timestamp("s", tz="UTC")


def recorded(rec: Recorder) -> dict[str, np.ndarray]:
    """Return the recorder's columns as numpy arrays, sorted by (case, end, start, record order)."""
    cols = {
        "case": np.frombuffer(rec.case, dtype=np.int32),
        "activity": np.frombuffer(rec.activity, dtype=np.int32),
        "start": np.frombuffer(rec.start, dtype=np.float64),
        "end": np.frombuffer(rec.end, dtype=np.float64),
        "resource": np.frombuffer(rec.resource, dtype=np.int32),
        "object": np.frombuffer(rec.object, dtype=np.int32),
        "state_from": np.frombuffer(rec.state_from, dtype=np.int32),
        "state_to": np.frombuffer(rec.state_to, dtype=np.int32),
    }
    n = len(rec)
    start_key = np.where(np.isnan(cols["start"]), cols["end"], cols["start"])
    order = np.lexsort((np.arange(n), start_key, cols["end"], cols["case"]))
    out = {k: v[order] for k, v in cols.items()}
    out["order"] = order
    return out


def _dictionary(codes: np.ndarray, vocab: Vocab) -> pa.DictionaryArray:
    """Return a dictionary array of the vocabulary strings for `codes` (-1 = null)."""
    missing = codes < 0
    used = np.unique(codes[~missing])
    remap = np.zeros(max(len(vocab.values), 1), dtype=np.int32)
    remap[used] = np.arange(len(used), dtype=np.int32)
    indices = pa.array(remap[np.where(missing, 0, codes)], type=pa.int32(), mask=missing)
    return pa.DictionaryArray.from_arrays(indices, pa.array([vocab.values[k] for k in used], type=pa.string()))


def _times(clock: Clock, minutes: np.ndarray) -> pa.Array:
    """Return UTC timestamps (whole seconds) for simulation minutes (NaN = null)."""
    missing = np.isnan(minutes)
    seconds = clock.origin_epoch + np.rint(np.where(missing, 0.0, minutes) * 60.0).astype(np.int64)
    return pa.array(seconds, type=pa.int64(), mask=missing).cast(TIMESTAMP)


def event_table(model: ProcessModel, clock: Clock, org: Organisation) -> pa.Table:
    """Return the events of one process in the canonical columns (see the module docstring)."""
    rec, cases = model.rec, model.cases
    vocab = rec.vocab
    cols = recorded(rec)
    n = len(rec)
    case = pa.array(cols["case"], type=pa.int32())
    resource = _dictionary(cols["resource"], vocab)
    role_names = sorted({org.role_of(r) for r in resource.dictionary.to_pylist()})
    role_index = np.array([role_names.index(org.role_of(r)) for r in resource.dictionary.to_pylist()],
                          dtype=np.int32)
    role = pa.DictionaryArray.from_arrays(
        pa.array(role_index[np.asarray(resource.indices)] if n else [], type=pa.int32()),
        pa.array(role_names, type=pa.string()))

    def per_case(name: str, type_: pa.DataType) -> pa.Array:
        values = pa.array(cases.column(name), type=type_)
        if type_ == pa.string():
            values = values.dictionary_encode()
        return values.take(case)

    documents = np.full(n, None, dtype=object)
    for model_name, column in model.documents.items():
        code = vocab.index.get(model_name)
        if code is None:
            continue
        selected = cols["object"] == code
        documents[selected] = np.array(cases.column(column), dtype=object)[cols["case"][selected]]
    attributes = _json_texts(rec.extra, cols["order"])
    return pa.table({
        "process": pa.DictionaryArray.from_arrays(pa.array(np.zeros(n, dtype=np.int32)),
                                                  pa.array([model.name], type=pa.string())),
        "case_id": pa.array(cases.ids, type=pa.string()).take(case),
        "activity": _dictionary(cols["activity"], vocab),
        "start_time": _times(clock, cols["start"]),
        "end_time": _times(clock, cols["end"]),
        "resource": resource,
        "role": role,
        "amount": per_case("amount", pa.float64()),
        "currency": per_case("currency", pa.string()),
        "site": per_case("site", pa.string()),
        "department": per_case("department", pa.string()),
        "object": _dictionary(cols["object"], vocab),
        "document": pa.array(documents, type=pa.string()),
        "state_from": _dictionary(cols["state_from"], vocab),
        "state_to": _dictionary(cols["state_to"], vocab),
        "attributes": pa.array(attributes, type=pa.string()),
    })


def _json_texts(extras: list[dict | None], order: np.ndarray) -> list[str | None]:
    """Return the JSON text of each event's extra attributes, in `order` (shared dicts are encoded once)."""
    texts: dict[int, str] = {}  # by id(): every dict is alive in `extras` meanwhile, so ids are unique
    out: list[str | None] = []
    for k in order.tolist():
        x = extras[k]
        if x is None:
            out.append(None)
            continue
        text = texts.get(id(x))
        if text is None:
            text = texts[id(x)] = json.dumps(x, separators=(",", ":"), ensure_ascii=False)
        out.append(text)
    return out


def case_table(model: ProcessModel) -> pa.Table:
    """Return the case table of one process: process, case_id, the common columns, then its own attributes."""
    cases = model.cases
    columns: dict[str, pa.Array] = {
        "process": pa.array([model.name] * len(cases), type=pa.string()),
        "case_id": pa.array(cases.ids, type=pa.string()),
    }
    for name, type_ in COMMON_CASE_COLUMNS.items():
        columns[name] = pa.array(cases.column(name), type=type_)
    for name, values in cases.columns.items():
        if name not in columns:
            columns[name] = pa.array(values)
    return pa.table(columns)
