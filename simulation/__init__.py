"""simulation: a simulation model discovered from the log (a digital twin), run with simpy, writing simulated
events in the canonical schema so every mining view works on them."""

from simulation.spec import (
    END,
    SPEC_VERSION,
    START,
    Activity,
    Arrivals,
    Branch,
    Calendar,
    CaseAttribute,
    Condition,
    Decision,
    Distribution,
    Model,
    Role,
    Scenario,
    Shift,
    SlaTarget,
)

__all__ = ["END", "SPEC_VERSION", "START", "Activity", "Arrivals", "Branch", "Calendar", "CaseAttribute", "Condition",
           "Decision", "Distribution", "Model", "Role", "Scenario", "Shift", "SlaTarget"]

# The engine (appended: the spec's exports above stay as they are).
from simulation.engine import KPI_DEFINITIONS, SimulationRun, apply, kpis, simulate, write_run  # noqa: E402

__all__ += ["KPI_DEFINITIONS", "SimulationRun", "apply", "kpis", "simulate", "write_run"]


def __getattr__(name: str) -> object:
    """Return `discover` on first use: it pulls in scipy and the mining views, which a run of a model needs not."""
    if name == "discover":
        from simulation.discover import discover

        return discover
    raise AttributeError(f"module 'simulation' has no attribute {name!r}")


__all__ += ["discover"]
