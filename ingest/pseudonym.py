"""Keyed pseudonyms for personal data (names, e-mail addresses) applied at ingest.

The key comes from $TWINFLOW_PSEUDONYM_KEY or from `pseudonym_key` in the user's config file
(~/.config/twinflow/config.toml, or $TWINFLOW_CONFIG): never from the repository or the workspace, and it is
never logged. The same key gives the same pseudonym, so joins across imports keep working.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

KEY_ENV = "TWINFLOW_PSEUDONYM_KEY"
CONFIG_ENV = "TWINFLOW_CONFIG"


def config_file() -> Path:
    """Return the user's twinflow config file (it may not exist)."""
    env = os.environ.get(CONFIG_ENV)
    return Path(env) if env else Path.home() / ".config" / "twinflow" / "config.toml"


def pseudonym_key() -> str:
    """Return the pseudonymisation key from the environment or the config file; raise if there is none."""
    key = os.environ.get(KEY_ENV)
    if not key:
        file = config_file()
        if file.exists():
            key = tomllib.loads(file.read_text()).get("pseudonym_key")
    if not key or len(key) < 16:
        raise ValueError(
            f"pseudonymisation needs a secret of at least 16 characters in ${KEY_ENV} "
            f"or as pseudonym_key in {config_file()}"
        )
    return key


def pseudonym_sql(expr: str) -> str:
    """Return SQL mapping text `expr` to a stable pseudonym (NULL stays NULL); needs variable pseudonym_key."""
    return (
        f"CASE WHEN {expr} IS NULL THEN NULL ELSE "
        f"'P-' || left(sha256(getvariable('pseudonym_key') || chr(31) || {expr}), 12) END"
    )
