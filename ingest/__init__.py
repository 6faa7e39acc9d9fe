"""ingest: turn sources (files, and later Odoo and e-mail) into the canonical event table of a workspace.

    >>> from ingest import import_file, ImportOptions
    >>> import_file("invoices.csv", ImportOptions(process="invoices"), workspace="data/workspace.duckdb")
"""

__version__ = "0.1.0"

from ingest.loader import ImportOptions, ImportResult, import_file  # noqa: E402
from ingest.readers import ImportFailed  # noqa: E402
from ingest.workspace import connect, workspace_path  # noqa: E402

__all__ = ["ImportFailed", "ImportOptions", "ImportResult", "connect", "import_file", "workspace_path"]
