"""mining: read-only views over a workspace's canonical event table."""

from mining.overview import activities, events_per_month, imports, processes, workspace_version
from mining.quality import quality_report, rejected_rows

__all__ = [
    "activities", "events_per_month", "imports", "processes", "quality_report", "rejected_rows", "workspace_version",
]
