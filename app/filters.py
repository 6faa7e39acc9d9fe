"""The sidebar filter panel shared by the analysis pages: the user's choices for one process as a mining.Filters.

The choices live in st.session_state[state.FILTERS_KEY] as {process: {name: value}} and are mirrored into the
widgets (keys "_filter_<name>") on every run: Streamlit drops a widget's state on pages that do not draw it, and
each process keeps its own choices (one process's activities mean nothing in another).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pandas as pd
import streamlit as st

import mining
from app import state
from mining.filters import attribute_values, boundary_activities, case_count

# Variants offered in the variant filter, the most frequent first.
TOP_VARIANTS = 50
VARIANT_LABEL_CHARS = 90
TIME_MODES = {"started in": "started", "ended in": "ended", "active in": "active"}
DURATION_UNITS = {"hours": 3600.0, "days": 86400.0}
# Attributes with a select of their own; any other key goes through the key/value pair.
OWN_SELECT = {"site": "Site", "department": "Department"}
WIDGET_PREFIX = "_filter_"
# Filter name -> its value when nothing is chosen.
DEFAULTS: dict[str, Any] = {
    "time_from": None, "time_to": None, "time_mode": "active in", "site": None, "department": None,
    "attribute_key": None, "attribute_value": None, "present": [], "absent": [], "duration_unit": "hours",
    "duration_min": None, "duration_max": None, "starts": [], "ends": [], "variants": [],
}


def widget_key(name: str) -> str:
    """Return the session-state key of the widget of filter `name`."""
    return WIDGET_PREFIX + name


def stored(process: str) -> dict[str, Any]:
    """Return the filter choices kept for `process` (created with the defaults on first use)."""
    per_process = st.session_state.setdefault(state.FILTERS_KEY, {})
    if process not in per_process:
        per_process[process] = _defaults()
    return per_process[process]


def _defaults() -> dict[str, Any]:
    return {k: list(v) if isinstance(v, list) else v for k, v in DEFAULTS.items()}


def _keep(process: str, name: str) -> None:
    choices = stored(process)
    choices[name] = st.session_state[widget_key(name)]
    if name == "attribute_key":
        # A value of the previous key means nothing for the new one.
        choices["attribute_value"] = None


def _keep_day(process: str, name: str, bound: date) -> None:
    # A day at the process's own bound is no choice: the window then follows the bound when an import moves it.
    day = st.session_state[widget_key(name)]
    stored(process)[name] = None if day == bound else day


def _reset(process: str) -> None:
    st.session_state.setdefault(state.FILTERS_KEY, {})[process] = _defaults()


def _seed(choices: dict[str, Any], name: str, value: Any) -> None:
    # Runs before the widget is drawn: the stored choice wins over whatever an earlier page left behind.
    choices[name] = value
    st.session_state[widget_key(name)] = value


def _pick(choices: dict[str, Any], name: str, options: list) -> Any:
    # A stored value that is no longer an option (after an import or a reset) falls back to no choice.
    value = choices.get(name)
    return value if value in options else None


def _pick_many(choices: dict[str, Any], name: str, options: list) -> list:
    allowed = set(options)
    return [v for v in choices.get(name) or [] if v in allowed]


def _utc_date(value: Any) -> date:
    stamp = pd.Timestamp(value)
    return (stamp.tz_convert("UTC") if stamp.tzinfo else stamp).date()


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def variant_label(rank: int, cases: int, activities: list[str]) -> str:
    """Return a variant's option label: "#rank (n cases) A → B → C", shortened to fit the sidebar."""
    label = f"#{rank} ({cases:,} cases) {' → '.join(activities)}"
    return label if len(label) <= VARIANT_LABEL_CHARS else label[:VARIANT_LABEL_CHARS - 1] + "…"


def sidebar_filters(process: str) -> mining.Filters:
    """Render the sidebar filter panel for `process` and return its Filters; under the page title, note the
    active filters, and stop the page with a message when no case passes."""
    procs = state.load(mining.processes).set_index("process")
    total = int(procs.loc[process, "cases"])
    first, last = _utc_date(procs.loc[process, "first_event"]), _utc_date(procs.loc[process, "last_event"])
    activities = state.load(mining.activities, process)["activity"].tolist()
    boundaries = state.load(boundary_activities, process)
    attrs = state.load(attribute_values, process)
    top = state.load(mining.variants, mining.Filters(process=process), TOP_VARIANTS)
    labels = {v: variant_label(i + 1, int(n), list(a))
              for i, (v, n, a) in enumerate(zip(top["variant_id"], top["cases"], top["activities"], strict=True))}

    choices = stored(process)
    values_of = {key: group["value"].tolist() for key, group in attrs.groupby("key", sort=True)}
    other_keys = [k for k in values_of if k not in OWN_SELECT]
    parts: list[str] = []
    attributes: dict[str, str] = {}
    window: dict[str, Any] = {}
    duration: dict[str, float] = {}

    def on(name: str) -> dict[str, Any]:
        return {"key": widget_key(name), "on_change": _keep, "args": (process, name)}

    # The count of passing cases goes above the panel, where it stays in view; it is known only at the end.
    count_slot = st.sidebar.empty()
    panel = st.sidebar.expander("Filters", expanded=True, icon=":material/filter_alt:")
    with panel:
        # The widgets show the bounds when nothing is chosen, but the choice stays None (see _keep_day).
        st.session_state[widget_key("time_from")] = min(max(choices.get("time_from") or first, first), last)
        st.session_state[widget_key("time_to")] = min(max(choices.get("time_to") or last, first), last)
        _seed(choices, "time_mode", choices.get("time_mode") if choices.get("time_mode") in TIME_MODES
              else DEFAULTS["time_mode"])
        mode = st.radio("Cases", list(TIME_MODES), horizontal=True, **on("time_mode"),
                        help="Keep the cases that started, ended, or were active in the time window.")
        # One date per row: two side by side do not fit the sidebar's width.
        day_from = st.date_input("From", None, first, last, key=widget_key("time_from"), on_change=_keep_day,
                                 args=(process, "time_from", first))
        day_to = st.date_input("To", None, first, last, key=widget_key("time_to"), on_change=_keep_day,
                               args=(process, "time_to", last),
                               help="Inclusive: the window ends at the end of this day (UTC).")
        if day_from and day_to and day_from > day_to:
            st.warning("The time window ends before it starts: it is ignored.")
        else:
            if day_from and day_from > first:
                window["time_from"] = _day_start(day_from)
            if day_to and day_to < last:
                window["time_to"] = _day_start(day_to + timedelta(days=1))
            if window:
                window["time_mode"] = TIME_MODES[mode]
                parts.append(f"{mode} {day_from or first:%Y-%m-%d} – {day_to or last:%Y-%m-%d}")

        for key, label in OWN_SELECT.items():
            if key in values_of:
                _seed(choices, key, _pick(choices, key, values_of[key]))
                value = st.selectbox(label, values_of[key], index=None, placeholder="Any", **on(key))
                if value is not None:
                    attributes[key] = value
        if other_keys:
            _seed(choices, "attribute_key", _pick(choices, "attribute_key", other_keys))
            key = st.selectbox("Case attribute", other_keys, index=None, placeholder="Any attribute",
                               **on("attribute_key"))
            if key is not None:
                _seed(choices, "attribute_value", _pick(choices, "attribute_value", values_of[key]))
                value = st.selectbox(f"Value of {key}", values_of[key], index=None, placeholder="Any value",
                                     **on("attribute_value"))
                if value is not None:
                    attributes[key] = value
        parts += [f"{k} = {v}" for k, v in attributes.items()]

        _seed(choices, "present", _pick_many(choices, "present", activities))
        present = st.multiselect("Activities present", activities, **on("present"),
                                 help="Keep the cases holding all of these.")
        _seed(choices, "absent", _pick_many(choices, "absent", activities))
        absent = st.multiselect("Activities absent", activities, **on("absent"),
                                help="Keep the cases holding none of these.")
        parts += [f"with {', '.join(present)}"] if present else []
        parts += [f"without {', '.join(absent)}"] if absent else []

        _seed(choices, "duration_unit", _pick(choices, "duration_unit", list(DURATION_UNITS)) or "hours")
        unit = st.radio("Case duration in", list(DURATION_UNITS), horizontal=True, **on("duration_unit"))
        bounds = st.columns(2)
        _seed(choices, "duration_min", choices.get("duration_min"))
        _seed(choices, "duration_max", choices.get("duration_max"))
        d_min = bounds[0].number_input("Min duration", 0.0, None, None, 1.0, **on("duration_min"))
        d_max = bounds[1].number_input("Max duration", 0.0, None, None, 1.0, **on("duration_max"))
        if d_min is not None and d_max is not None and d_min > d_max:
            st.warning("The minimum duration exceeds the maximum: the duration range is ignored.")
        elif d_min is not None or d_max is not None:
            if d_min is not None:
                duration["duration_min_s"] = d_min * DURATION_UNITS[unit]
            if d_max is not None:
                duration["duration_max_s"] = d_max * DURATION_UNITS[unit]
            parts.append(f"duration {'' if d_min is None else f'{d_min:g}'}–{'' if d_max is None else f'{d_max:g}'}"
                         f" {unit}")

        starts_options = boundaries.loc[boundaries["starts"] > 0, "activity"].tolist()
        ends_options = boundaries.loc[boundaries["ends"] > 0, "activity"].tolist()
        _seed(choices, "starts", _pick_many(choices, "starts", starts_options))
        starts = st.multiselect("Start activities", starts_options, **on("starts"),
                                help="Keep the cases whose first activity is one of these.")
        _seed(choices, "ends", _pick_many(choices, "ends", ends_options))
        ends = st.multiselect("End activities", ends_options, **on("ends"),
                              help="Keep the cases whose last activity is one of these.")
        parts += [f"starts with {' or '.join(starts)}"] if starts else []
        parts += [f"ends with {' or '.join(ends)}"] if ends else []

        _seed(choices, "variants", _pick_many(choices, "variants", list(labels)))
        variants = st.multiselect("Variants", list(labels), format_func=labels.__getitem__, **on("variants"),
                                  help=f"The {len(labels):,} most frequent variants.")
        if variants:
            parts.append(f"{len(variants)} variant{'s' if len(variants) > 1 else ''}")

        st.button("Reset filters", key=widget_key("reset"), on_click=_reset, args=(process,),
                  icon=":material/filter_alt_off:")

    # Sorted lists: the same choice made in another order hits the same cache entries.
    filters = mining.Filters(process=process, attributes=attributes, activities_present=sorted(present),
                             activities_absent=sorted(absent), start_activities=sorted(starts),
                             end_activities=sorted(ends), variants=sorted(variants), **window, **duration)
    passing = state.load(case_count, filters) if parts else total
    count_slot.caption(f"{passing:,} of {total:,} cases pass the filters")
    if parts:
        st.caption(f"Filtered: {passing:,} of {total:,} cases · {' · '.join(parts)}")
    if passing == 0:
        st.warning("No case passes the filters: widen or reset them in the sidebar.", icon=":material/filter_alt_off:")
        st.stop()
    return filters
