"""simulation: a simulation model discovered from the log (a digital twin), run with simpy, writing simulated
events in the canonical schema so every mining view works on them.

    model = simulation.discover("data/workspace.duckdb", "supplier_invoices")     # review: model.to_yaml()
    run = simulation.simulate(model, scenario, seed=1)                            # events + cases
    result = simulation.run_experiment(simulation.Experiment(model=model, scenarios=[...]))
    check = simulation.validate("data/workspace.duckdb", "supplier_invoices")     # twin vs the real test period

`discover` (from the package simulation.discovery) and `validate` are imported on first use: they pull in scipy,
the mining views and the log-distance-measures package, which running a model does not need.
"""

from simulation.designs import apply
from simulation.engine import SimulationRun, simulate
from simulation.experiments import Experiment, ExperimentResult, run_experiment
from simulation.run_kpis import KPI_DEFINITIONS, kpis
from simulation.run_output import write_run
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
from simulation.store import (
    forget,
    list_models,
    list_results,
    list_scenarios,
    load_model,
    load_result,
    load_scenario,
    save_model,
    save_result,
    save_scenario,
)

_LAZY = {"discover": "simulation.discovery", "validate": "simulation.validation",
         "split_by_start": "simulation.validation", "Validation": "simulation.validation",
         "Split": "simulation.validation"}


def __getattr__(name: str) -> object:
    """Return `discover`, `validate`, `split_by_start`, `Validation` or `Split`, importing their module on first use."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'simulation' has no attribute {name!r}")


__all__ = [
    "END", "SPEC_VERSION", "START", "Activity", "Arrivals", "Branch", "Calendar", "CaseAttribute", "Condition",
    "Decision", "Distribution", "Model", "Role", "Scenario", "Shift", "SlaTarget",
    "KPI_DEFINITIONS", "SimulationRun", "apply", "kpis", "simulate", "write_run",
    "Experiment", "ExperimentResult", "forget", "list_models", "list_results", "list_scenarios", "load_model",
    "load_result", "load_scenario", "run_experiment", "save_model", "save_result", "save_scenario",
    *_LAZY,
]
