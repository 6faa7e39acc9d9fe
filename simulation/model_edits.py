"""A model as tables a person can review and edit (roles, working hours, activities, routing, arrivals, case
attributes and SLA targets), pictures of it (people at work over the week, arrivals over the week and by month,
the routing as a graph), and the model with the edits of those tables applied, validated and written into its
notes."""

from __future__ import annotations

import math
import re
from typing import Any

import pandas as pd
from pydantic import ValidationError

from simulation.calendars import seconds_of_day
from simulation.spec import END, START, WEEKDAYS, Calendar, Distribution, Model, Shift

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
ALWAYS = "always"  # the calendar column's value for a role without a calendar (always available)
EDITS_NOTE = "edited"
_DAY = {d.lower(): d for d in WEEKDAYS}


def roles_table(model: Model) -> pd.DataFrame:
    """Return one row per role: role, headcount, calendar (ALWAYS for none), hourly_cost, absence_share."""
    return pd.DataFrame([{"role": r.name, "headcount": r.headcount, "calendar": r.calendar or ALWAYS,
                          "hourly_cost": r.hourly_cost, "absence_share": r.absence_share} for r in model.roles],
                        columns=["role", "headcount", "calendar", "hourly_cost", "absence_share"])


def shifts_table(model: Model) -> pd.DataFrame:
    """Return one row per shift of every calendar: calendar, days (e.g. "Mon,Tue"), start and end (HH:MM)."""
    return pd.DataFrame([{"calendar": c.name, "days": ",".join(s.days), "start": s.start, "end": s.end}
                         for c in model.calendars for s in c.shifts], columns=["calendar", "days", "start", "end"])


def activities_table(model: Model) -> pd.DataFrame:
    """Return one row per activity: activity, role (None for a system's), automated, processing_min (mean
    minutes) and delay_h (mean hidden delay before it in hours; the mean over the steps before it when it
    depends on them)."""
    return pd.DataFrame([{"activity": a.name, "role": a.role, "automated": a.automated,
                          "processing_min": round(a.duration.mean_value() / 60, 3),
                          "delay_h": round(_delay_mean(a.delay, a.delay_after) / 3600, 3)} for a in model.activities],
                        columns=["activity", "role", "automated", "processing_min", "delay_h"])


def routing_table(model: Model) -> pd.DataFrame:
    """Return one row per branch of every decision: decision and branch (their indexes), after, holds (when the
    decision holds), to, probability (None for a branch with a rule) and rule (the branch's condition, which takes
    it whenever it holds)."""
    rows = []
    for i, d in enumerate(model.decisions):
        holds = (f"from visit {d.visit}" if d.visit else f"after {d.before}" if d.before else "always")
        for j, b in enumerate(d.branches):
            rule = "" if b.when is None else b.when.describe()
            rows.append({"decision": i, "branch": j, "after": d.after, "holds": holds, "to": b.to,
                         "probability": None if b.when else b.probability, "rule": rule})
    return pd.DataFrame(rows, columns=["decision", "branch", "after", "holds", "to", "probability", "rule"])


def categories_table(model: Model) -> pd.DataFrame:
    """Return one row per value of every categorical case attribute: attribute, site ("" for every site without
    values of its own), value and share."""
    rows = [{"attribute": a.name, "site": site, "value": v, "share": p} for a in model.attributes
            for site, options in [("", a.categories), *sorted(a.per_site.items())] for v, p in options.items()]
    return pd.DataFrame(rows, columns=["attribute", "site", "value", "share"])


def numbers_table(model: Model) -> pd.DataFrame:
    """Return one row per numeric case attribute (an amount): attribute, distribution (its kind) and mean."""
    return pd.DataFrame([{"attribute": a.name, "distribution": a.number.kind, "mean": round(a.number.mean_value(), 3)}
                         for a in model.attributes if a.number is not None],
                        columns=["attribute", "distribution", "mean"])


def sla_table(model: Model) -> pd.DataFrame:
    """Return the SLA targets: one row per value of the SLA's attribute (value, target_h), and a last row "" for
    the target of every other case (None: none); no rows without an SLA."""
    sla = model.sla
    rows = [{"value": v, "target_h": h} for v, h in (sla.targets_h.items() if sla else [])]
    if sla is not None:
        rows.append({"value": "", "target_h": sla.default_h})
    return pd.DataFrame(rows, columns=["value", "target_h"])


def staffing_grid(model: Model) -> pd.DataFrame:
    """Return the people of each role at work per hour of the week (role, day, hour, people; absences not
    subtracted), from its headcount and its calendar's shifts (the whole week without one)."""
    calendars = {c.name: c for c in model.calendars}
    rows = []
    for r in model.roles:
        share = _hour_shares(calendars.get(r.calendar)) if r.calendar else [[1.0] * 24 for _ in range(7)]
        rows += [{"role": r.name, "day": WEEKDAYS[d], "hour": h, "people": r.headcount * share[d][h]}
                 for d in range(7) for h in range(24)]
    return pd.DataFrame(rows, columns=["role", "day", "hour", "people"])


def arrivals_grid(model: Model) -> pd.DataFrame:
    """Return the cases arriving per hour of the week in an average week of the model (day, hour, cases)."""
    a = model.arrivals
    weights = pd.Series(a.hour_of_week, dtype=float)
    cases = a.cases_per_week * weights / weights.sum()
    return pd.DataFrame({"day": [WEEKDAYS[i // 24] for i in range(168)], "hour": [i % 24 for i in range(168)],
                         "cases": cases.to_numpy()})


def monthly_rates(model: Model) -> pd.DataFrame:
    """Return the arrival rate of each calendar month during the log's span (month: Jan..Dec, factor: the month's
    weight normalised to mean 1, as the engine applies it, cases_per_week: the weekly rate in that month)."""
    factors = pd.Series(model.arrivals.month, dtype=float)
    factors = factors / factors.mean()
    return pd.DataFrame({"month": list(MONTHS), "factor": factors.to_numpy(),
                         "cases_per_week": model.arrivals.cases_per_week * factors.to_numpy()})


def routing_dot(model: Model) -> str:
    """Return the model's routing as a Graphviz DOT graph: activities (role and mean processing) joined by arrows
    labelled with their probability (or rule), the thicker the likelier."""
    def node(name: str) -> str:
        return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'

    lines = ["digraph routing {", "  rankdir=TB;", '  node [shape=box, style="rounded,filled", fillcolor="#eef3fb", '
             'color="#4e79a7", fontname="Helvetica", fontsize=11];', '  edge [fontname="Helvetica", fontsize=9, '
             'color="#555555"];',
             f'  {node(START)} [shape=circle, label="", width=0.25, fillcolor="#59a14f", color="#59a14f"];',
             f'  {node(END)} [shape=doublecircle, label="", width=0.2, fillcolor="#e15759", color="#e15759"];']
    for a in model.activities:
        who = "system" if a.automated or a.role is None else a.role
        minutes = a.duration.mean_value() / 60
        label = f"{a.name}\\n{who} · {minutes:,.1f} min".replace('"', '\\"')
        fill = ', fillcolor="#f3f3f3", color="#999999"' if a.automated else ""
        lines.append(f'  {node(a.name)} [label="{label}"{fill}];')
    # One arrow per pair of steps, labelled by the first decision that has it (the one that holds on every visit
    # first); a step that decision reaches both by a rule and by chance shows both: "amount > 10000 or 25%".
    arrows: dict[tuple[str, str], list[str]] = {}
    weight: dict[tuple[str, str], float] = {}
    owner: dict[tuple[str, str], int] = {}
    for i, d in sorted(enumerate(model.decisions), key=lambda x: (x[1].visit is not None or x[1].before is not None)):
        for b in d.branches:
            key = (d.after, b.to)
            if owner.setdefault(key, i) != i:
                continue
            arrows.setdefault(key, []).append(b.when.describe() if b.when else f"{b.probability:.0%}")
            weight[key] = max(weight.get(key, 0.0), 1.0 if b.when else b.probability)
    for (after, to), labels in arrows.items():
        width = 0.6 + 3.0 * weight[(after, to)]
        lines.append(f'  {node(after)} -> {node(to)} [label="{" or ".join(labels)}", penwidth={width:.2f}];')
    lines.append("}")
    return "\n".join(lines)


def edit_model(model: Model, *, roles: pd.DataFrame | None = None, shifts: pd.DataFrame | None = None,
               activities: pd.DataFrame | None = None, routing: pd.DataFrame | None = None,
               cases_per_week: float | None = None, categories: pd.DataFrame | None = None,
               numbers: pd.DataFrame | None = None, sla: pd.DataFrame | None = None) -> tuple[Model, list[str]]:
    """Return the model with the edited tables applied (tables as the *_table functions give them; None: not
    edited) and the list of what changed, one line each, which its notes keep under EDITS_NOTE.

    Raises ValueError, naming the row, for an edit the model cannot take (an unknown role or calendar, a day
    that is not a weekday, probabilities of a decision that no longer sum to 1, a negative time). A category's
    shares are weights: they are kept normalised to sum to 1 per attribute and site."""
    changes: list[str] = []
    data = model.model_dump()
    if shifts is not None:
        data["calendars"] = _edit_calendars(model, shifts, changes)
    known = {c["name"] for c in data["calendars"]}
    if roles is not None:
        data["roles"] = _edit_roles(model, roles, known, changes)
    if activities is not None:
        data["activities"] = _edit_activities(model, activities, {r["name"] for r in data["roles"]}, changes)
    for name in sorted({c.name for c in model.calendars} - known):
        users = ([r["name"] for r in data["roles"] if r["calendar"] == name]
                 + [a["name"] for a in data["activities"] if a["calendar"] == name])
        if users:
            raise ValueError(f"calendar {name} has no shifts left, but {', '.join(users)} keeps to it")
    if routing is not None:
        data["decisions"] = _edit_routing(model, routing, changes)
    if categories is not None or numbers is not None:
        data["attributes"] = _edit_attributes(model, categories, numbers, changes)
    if sla is not None and model.sla is not None:
        data["sla"] = _edit_sla(model, sla, changes)
    if cases_per_week is not None and not math.isclose(cases_per_week, model.arrivals.cases_per_week, rel_tol=1e-9):
        if not cases_per_week > 0:
            raise ValueError(f"cases per week must be positive, not {cases_per_week}")
        # The forecast after the log keeps its ratio to the log's own rate: the edit moves the whole level.
        factor = cases_per_week / model.arrivals.cases_per_week
        data["arrivals"]["cases_per_week"] = cases_per_week
        if model.arrivals.forecast_per_week is not None:
            data["arrivals"]["forecast_per_week"] = model.arrivals.forecast_per_week * factor
        changes.append(f"arrivals: {model.arrivals.cases_per_week:,.1f} → {cases_per_week:,.1f} cases per week")
    if not changes:
        return model, []
    previous = model.notes.get(EDITS_NOTE)
    data["notes"] = {**model.notes, EDITS_NOTE: "; ".join(([previous] if previous else []) + changes)}
    try:
        return Model.model_validate(data), changes
    except ValidationError as exc:  # what the tables' own checks cannot see, said in one line
        raise ValueError(f"the edited model is not valid: {_first_error(exc)}") from None


def _edit_calendars(model: Model, table: pd.DataFrame, changes: list[str]) -> list[dict[str, Any]]:
    """Return the calendars rebuilt from the shifts table (a new name makes a new calendar)."""
    before = {c.name: c for c in model.calendars}
    zone = model.calendars[0].timezone if model.calendars else model.arrivals.timezone
    shifts: dict[str, list[Shift]] = {}
    for i, row in enumerate(_rows(table)):
        name = _text(row.get("calendar"))
        if not name:
            raise ValueError(f"shift row {i + 1}: give the calendar it belongs to")
        days = [_weekday(x, i) for x in re.split(r"[,\s]+", _text(row.get("days"))) if x]
        if not days:
            raise ValueError(f"shift row {i + 1} ({name}): give its days, e.g. Mon,Tue,Wed")
        try:
            shift = Shift(days=days, start=_text(row.get("start")), end=_text(row.get("end")))
        except ValueError as exc:
            raise ValueError(f"shift row {i + 1} ({name}): {_first_error(exc)}") from None
        shifts.setdefault(name, []).append(shift)
    out = []
    for name, found in shifts.items():
        old = before.get(name)
        cal = Calendar(name=name, timezone=old.timezone if old else zone, shifts=found,
                       holidays=old.holidays if old else [])
        if old is None:
            changes.append(f"calendar {name}: new, {_shift_text(found)}")
        elif old.shifts != found:
            changes.append(f"calendar {name}: {_shift_text(old.shifts)} → {_shift_text(found)}")
        out.append(cal.model_dump())
    changes += [f"calendar {name}: removed" for name in sorted(before.keys() - shifts.keys())]
    return out


def _edit_roles(model: Model, table: pd.DataFrame, calendars: set[str], changes: list[str]) -> list[dict[str, Any]]:
    """Return the roles with the table's headcount, calendar, hourly cost and absence share."""
    edited = {(_text(r.get("role"))): r for r in _rows(table)}
    out = []
    for role in model.roles:
        row = edited.get(role.name)
        data = role.model_dump()
        if row is None:
            out.append(data)
            continue
        headcount = _number(row.get("headcount"), f"role {role.name}: headcount")
        if headcount != int(headcount) or headcount < 0:
            raise ValueError(f"role {role.name}: the headcount must be a whole number of people, not {headcount:g}")
        calendar = _text(row.get("calendar")) or ALWAYS
        # A calendar the shifts table removed but the role kept is reported as such, below.
        if calendar not in (ALWAYS, role.calendar) and calendar not in calendars:
            raise ValueError(f"role {role.name}: unknown calendar {calendar!r} (known: "
                             f"{', '.join(sorted(calendars)) or 'none'})")
        new = {"headcount": int(headcount), "calendar": None if calendar == ALWAYS else calendar,
               "hourly_cost": _number(row.get("hourly_cost"), f"role {role.name}: hourly cost"),
               "absence_share": _number(row.get("absence_share"), f"role {role.name}: absence share")}
        if new["hourly_cost"] < 0:
            raise ValueError(f"role {role.name}: the hourly cost cannot be negative ({new['hourly_cost']:g})")
        if not 0 <= new["absence_share"] < 1:
            raise ValueError(f"role {role.name}: the absence share is a share of working days, from 0 up to "
                             f"(not including) 1, not {new['absence_share']:g}")
        for field, value in new.items():
            if value != data[field] and not (isinstance(value, float) and math.isclose(value, data[field] or 0.0)):
                changes.append(f"role {role.name}: {field.replace('_', ' ')} {_show(data[field])} → {_show(value)}")
                data[field] = value
        out.append(data)
    return out


def _edit_activities(model: Model, table: pd.DataFrame, roles: set[str], changes: list[str]) -> list[dict[str, Any]]:
    """Return the activities with the table's role, mean processing time and mean hidden delay."""
    edited = {_text(r.get("activity")): r for r in _rows(table)}
    out = []
    for a in model.activities:
        row = edited.get(a.name)
        if row is None:
            out.append(a.model_dump())
            continue
        update: dict[str, Any] = {}
        role = _text(row.get("role")) or None
        if role != a.role:
            if role is not None and role not in roles:
                raise ValueError(f"activity {a.name}: unknown role {role!r}")
            if role is not None and a.automated:
                raise ValueError(f"activity {a.name}: a system does it; automate or not in a scenario, not here")
            update["role"] = role
            changes.append(f"activity {a.name}: role {a.role or 'none'} → {role or 'none'}")
        old_min = a.duration.mean_value() / 60
        new_min = _number(row.get("processing_min"), f"activity {a.name}: processing minutes")
        if new_min < 0:
            raise ValueError(f"activity {a.name}: processing minutes cannot be negative ({new_min:g})")
        if not math.isclose(new_min, round(old_min, 3), abs_tol=1e-9):
            duration, by_role = _with_mean(a.duration, a.duration_by_role, old_min, new_min, 60)
            update["duration"] = duration or Distribution(kind="fixed", value=0.0)
            update["duration_by_role"] = by_role
            changes.append(f"activity {a.name}: processing {old_min:,.1f} → {new_min:,.1f} min (mean)")
        old_h = _delay_mean(a.delay, a.delay_after) / 3600
        new_h = _number(row.get("delay_h"), f"activity {a.name}: delay hours")
        if new_h < 0:
            raise ValueError(f"activity {a.name}: delay hours cannot be negative ({new_h:g})")
        if not math.isclose(new_h, round(old_h, 3), abs_tol=1e-9):
            update["delay"], update["delay_after"] = _with_mean(a.delay, a.delay_after, old_h, new_h, 3600)
            changes.append(f"activity {a.name}: hidden delay {old_h:,.2f} → {new_h:,.2f} h (mean)")
        out.append(a.model_copy(update=update).model_dump())
    return out


def _edit_routing(model: Model, table: pd.DataFrame, changes: list[str]) -> list[dict[str, Any]]:
    """Return the decisions with the table's branch probabilities (rows matched by decision and branch: a decision
    may lead to one step by a rule and by chance both)."""
    edited = {(int(r["decision"]), int(r["branch"])): r for r in _rows(table)}
    out = []
    for i, d in enumerate(model.decisions):
        data = d.model_dump()
        moved = []
        for j, (b, branch) in enumerate(zip(d.branches, data["branches"], strict=True)):
            row = edited.get((i, j))
            if row is None:
                continue
            if b.when is not None:
                if row.get("probability") is not None:
                    raise ValueError(f"after {d.after}, to {b.to}: this branch is taken by its rule "
                                     f"({row.get('rule')}); a probability is not used, leave it empty")
                continue
            p = _number(row.get("probability"), f"after {d.after}, to {b.to}: probability")
            if not 0 <= p <= 1:
                raise ValueError(f"after {d.after}, to {b.to}: a probability lies between 0 and 1, not {p:g}")
            if not math.isclose(p, b.probability, abs_tol=1e-9):
                moved.append(f"{b.to} {b.probability:.2f} → {p:.2f}")
                branch["probability"] = p
        free = [b["probability"] for b in data["branches"] if b["when"] is None]
        if moved and free and abs(sum(free) - 1) > 1e-6:
            raise ValueError(f"after {d.after}: the probabilities now sum to {sum(free):.2f}, not 1 "
                             "(change another branch of it too)")
        if moved:
            changes.append(f"routing after {d.after}: " + ", ".join(moved))
        out.append(data)
    return out


def _edit_attributes(model: Model, categories: pd.DataFrame | None, numbers: pd.DataFrame | None,
                     changes: list[str]) -> list[dict[str, Any]]:
    """Return the case attributes with the tables' category shares (normalised) and numeric means (scaled)."""
    shares = {(_text(r.get("attribute")), _text(r.get("site")), _text(r.get("value"))): r
              for r in _rows(categories)} if categories is not None else {}
    means = {_text(r.get("attribute")): r for r in _rows(numbers)} if numbers is not None else {}
    out = []
    for a in model.attributes:
        data = a.model_dump()
        if a.number is not None and a.name in means:
            new = _number(means[a.name].get("mean"), f"attribute {a.name}: mean")
            old = a.number.mean_value()
            if not new > 0:
                raise ValueError(f"attribute {a.name}: the mean must be positive, not {new:g}")
            if not math.isclose(new, round(old, 3), abs_tol=1e-9):
                data["number"] = a.number.scaled(new / old).model_dump()
                changes.append(f"attribute {a.name}: mean {old:,.2f} → {new:,.2f}")
        for site, options in [("", a.categories), *sorted(a.per_site.items())]:
            if not shares or not options:
                continue
            weights = {v: _number(shares[(a.name, site, v)].get("share"), f"attribute {a.name} {v}: share")
                       if (a.name, site, v) in shares else p for v, p in options.items()}
            if any(w < 0 for w in weights.values()) or not sum(weights.values()) > 0:
                raise ValueError(f"attribute {a.name}{' at ' + site if site else ''}: shares are weights of 0 or "
                                 "more, not all 0")
            total = sum(weights.values())
            new = {v: w / total for v, w in weights.items()}
            moved = [f"{v} {options[v]:.2f} → {new[v]:.2f}" for v in options if not math.isclose(new[v], options[v],
                                                                                                  abs_tol=1e-9)]
            if moved:
                if site:
                    data["per_site"][site] = new
                else:
                    data["categories"] = new
                changes.append(f"attribute {a.name}{' at ' + site if site else ''}: " + ", ".join(moved))
        out.append(data)
    return out


def _edit_sla(model: Model, table: pd.DataFrame, changes: list[str]) -> dict[str, Any]:
    """Return the SLA with the table's targets in hours (the row without a value: every other case)."""
    sla = model.sla
    data = sla.model_dump()
    for row in _rows(table):
        value = _text(row.get("value"))
        raw = row.get("target_h")
        hours = None if raw is None else _number(raw, f"SLA target {value or 'of the other cases'}")
        if hours is not None and not hours > 0:
            raise ValueError(f"SLA target {value or 'of the other cases'}: give a positive number of hours, not "
                             f"{hours:g}")
        old = sla.targets_h.get(value) if value else sla.default_h
        if value and value not in sla.targets_h:
            raise ValueError(f"SLA target for {value!r}: {sla.attribute or 'the SLA'} has no such value (known: "
                             f"{', '.join(sla.targets_h) or 'none'})")
        if value and hours is None:
            raise ValueError(f"SLA target for {value!r}: give its hours")
        if hours != old and not (hours is not None and old is not None and math.isclose(hours, old)):
            if value:
                data["targets_h"][value] = hours
            else:
                data["default_h"] = hours
            changes.append(f"SLA target {value or 'of the other cases'}: {_hours(old)} → {_hours(hours)}")
    return data


def _with_mean(dist: Distribution | None, per_key: dict[str, Distribution] | None, old: float, new: float,
               unit: float) -> tuple[Distribution | None, dict[str, Distribution] | None]:
    """Return a distribution and its per-key variants (per role, per preceding step) with the mean `new` in place
    of `old` (both in `unit` seconds): every draw scaled, so the shape stays; an exponential of the new mean where
    there was no time; none for 0."""
    if new <= 0:
        return None, None
    if old <= 0:
        return Distribution(kind="exponential", mean=new * unit), None
    factor = new / old
    return (dist.scaled(factor) if dist is not None else None,
            {k: d.scaled(factor) for k, d in per_key.items()} if per_key else per_key)


def _delay_mean(delay: Distribution | None, after: dict[str, Distribution] | None) -> float:
    """Return the mean hidden delay in seconds: of `delay`, or the mean of the per-predecessor delays."""
    if after:
        return sum(d.mean_value() for d in after.values()) / len(after)
    return delay.mean_value() if delay is not None else 0.0


def _hour_shares(calendar: Calendar | None) -> list[list[float]]:
    """Return, per weekday and hour, the share of the hour inside the calendar's shifts."""
    share = [[0.0] * 24 for _ in range(7)]
    for s in (calendar.shifts if calendar else []):
        a, b = seconds_of_day(s.start) // 60, seconds_of_day(s.end) // 60
        for day in s.days:
            d = WEEKDAYS.index(day)
            for h in range(a // 60, math.ceil(b / 60)):
                share[d][h] = min(1.0, share[d][h] + (min(b, 60 * h + 60) - max(a, 60 * h)) / 60)
    return share


def _shift_text(shifts: list[Shift]) -> str:
    return "; ".join(f"{','.join(s.days)} {s.start}-{s.end}" for s in shifts)


def _rows(table: pd.DataFrame) -> list[dict[str, Any]]:
    """Return the table's rows as dicts, empty cells as None, rows left wholly empty dropped."""
    rows = table.astype(object).where(table.notna(), None).to_dict("records")
    return [r for r in rows if any(v not in (None, "") for v in r.values())]


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _number(value: Any, what: str) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{what}: give a number, not {value!r}") from None
    if not math.isfinite(x):
        raise ValueError(f"{what}: give a finite number, not {value!r}")
    return x


def _weekday(text: str, row: int) -> str:
    day = _DAY.get(text.strip().lower()[:3])
    if day is None:
        raise ValueError(f"shift row {row + 1}: {text!r} is not a weekday (Mon, Tue, Wed, Thu, Fri, Sat, Sun)")
    return day


def _show(value: Any) -> str:
    if value is None:
        return ALWAYS
    return f"{value:g}" if isinstance(value, float) else str(value)


def _hours(value: float | None) -> str:
    return "none" if value is None else f"{value:g} h"


def _first_error(exc: ValueError) -> str:
    """Return a validation error in one line: each field's path and message (pydantic), else the message."""
    if isinstance(exc, ValidationError):
        return "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: " * bool(e["loc"])
                         + str(e["msg"]).removeprefix("Value error, ") for e in exc.errors())
    return " ".join(str(exc).split())
