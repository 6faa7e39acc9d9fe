"""synthetic: a generated clinic network with known truths, for the demo workspace and as a test oracle.

    from synthetic import generate, write_event_log, load_into_workspace
    org = generate(seed=7, months=12, sites=3, volume=1.0)   # events, cases and manifest in memory
    write_event_log(org, "out/events")                       # one Parquet file per process
    load_into_workspace(org, "data/workspace.duckdb")        # one import per process, through the loader

`python -m synthetic --seed 7 --out DIR` writes the event logs, the case table and manifest.json.
"""

from synthetic.export import load_into_workspace, write_all, write_cases, write_event_log
from synthetic.generate import GeneratedOrg, generate
from synthetic.params import GeneratorParams

__all__ = ["GeneratedOrg", "GeneratorParams", "generate", "load_into_workspace", "write_all", "write_cases",
           "write_event_log"]
