"""mining: read-only views over a workspace's canonical event table.

mining.models and mining.conformance (pm4py discovery and conformance) are imported on their own: pm4py takes
seconds to import, and pages that do not need it should not wait for it.
"""

from mining.automation import AutomationConfig, automation_candidates
from mining.bottlenecks import BottleneckConfig, Bottlenecks, bottlenecks
from mining.dfg import DFG, dfg
from mining.filters import Filters, case_selection
from mining.overview import activities, events_per_month, imports, processes, workspace_version
from mining.performance import (
    activity_times,
    arrival_heatmap,
    case_attributes,
    case_timeline,
    handover_dot,
    handovers,
    resource_workload,
    throughput,
)
from mining.process_map import ProcessMap, format_duration, process_map, to_dot
from mining.quality import quality_report, rejected_rows
from mining.rework import correction_activities, rework
from mining.variants import case_durations, variants

__all__ = [
    "DFG", "Filters", "activities", "case_durations", "case_selection", "dfg", "events_per_month", "imports",
    "processes", "quality_report", "rejected_rows", "variants", "workspace_version",
    "ProcessMap", "format_duration", "process_map", "to_dot",
    "activity_times", "arrival_heatmap", "case_attributes", "case_timeline", "handover_dot", "handovers",
    "resource_workload", "throughput",
    "AutomationConfig", "automation_candidates",
    "BottleneckConfig", "Bottlenecks", "bottlenecks", "correction_activities", "rework",
]
