"""The app's pages: one module per page in this folder; PAGES lists them in menu order.

The folder is not called `pages`: Streamlit treats a `pages/` folder next to the entry script as a
version-1 multipage app until `st.navigation` has run once, so a fresh server would serve a bookmarked
/data without the entry script (no page config, no workspace switcher), and AppTest reruns would skip it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

PAGES_DIR = Path(__file__).resolve().parent


@dataclass(frozen=True)
class PageSpec:
    """One page: its module file in this folder, menu section, title, icon and URL path."""

    file: str
    section: str
    title: str
    icon: str
    url_path: str
    default: bool = False

    @property
    def path(self) -> Path:
        """Return the absolute path of the page's module."""
        return PAGES_DIR / self.file


# A new page (Process map, Variants, Performance, Compliance, Automation candidates, Scenario lab) is one
# module here plus one entry below; tests/test_app_pages.py smoke-tests every entry.
PAGES: list[PageSpec] = [
    PageSpec("data.py", "Workspace", "Data", ":material/database:", "data", default=True),
    PageSpec("process_map.py", "Discovery", "Process map", ":material/account_tree:", "process-map"),
    PageSpec("variants.py", "Discovery", "Variants & cases", ":material/alt_route:", "variants"),
    PageSpec("models.py", "Discovery", "Discovered model", ":material/schema:", "model"),
    PageSpec("performance.py", "Analysis", "Performance & bottlenecks", ":material/speed:", "performance"),
    PageSpec("kpis.py", "Analysis", "KPIs", ":material/monitoring:", "kpis"),
    PageSpec("compliance.py", "Analysis", "Compliance", ":material/policy:", "compliance"),
    PageSpec("automation.py", "Analysis", "Automation candidates", ":material/smart_toy:", "automation"),
    PageSpec("scenario_lab.py", "Simulation", "Scenario lab", ":material/science:", "scenarios"),
    PageSpec("validation.py", "Simulation", "Twin validation", ":material/fact_check:", "validation"),
]
