"""mining: read-only views over a workspace's canonical event table."""

from mining.overview import activities, events_per_month, imports, processes
from mining.quality import quality_report

__all__ = ["activities", "events_per_month", "imports", "processes", "quality_report"]
