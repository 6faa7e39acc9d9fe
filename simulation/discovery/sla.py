"""SLA targets: those of the process's KPI configuration, when its cases carry the attribute they are set by."""

from __future__ import annotations

from simulation.discovery.sql import fetchall
from simulation.discovery.state import Discovery
from simulation.spec import SlaTarget


def find_sla(state: Discovery) -> SlaTarget | None:
    """Return the SLA targets of the KPI configuration when the cases carry their attribute, else None."""
    cfg = state.kpi_config
    has = fetchall(state.con, f"""
        SELECT count(*) FROM {state.cs}
        WHERE json_extract_string(attributes, '$."' || replace($k, '"', '\\"') || '"') IS NOT NULL
    """, {"k": cfg.sla_attribute})[0][0]
    if has and cfg.sla_targets_hours:
        state.notes["sla"] = (f"targets by {cfg.sla_attribute} from the KPI configuration of {state.process}: "
                              + ", ".join(f"{k} {v:g} h" for k, v in cfg.sla_targets_hours.items()))
        return SlaTarget(attribute=cfg.sla_attribute, targets_h={str(k): float(v) for k, v in
                                                               cfg.sla_targets_hours.items()})
    state.notes["sla"] = ("none: " + (f"the cases carry {cfg.sla_attribute} but no targets are configured"
                                      if has else f"the cases carry no {cfg.sla_attribute}"))
    return None
