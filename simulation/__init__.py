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
