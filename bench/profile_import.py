"""Where a twinflow import spends its time: loader phases, every SQL statement, and the Python hot spots.

    .venv/bin/python bench/profile_import.py bench/out/p2p-1000000-s42-v1.xes [--cprofile]

(`bench/import_bench.py --profile` generates the files and runs this on each.) The statement timings come
from a thin wrapper around the DuckDB connection, passed to `import_file(con=...)`; the wrapper adds no
work to the statements themselves. With --cprofile the import runs a second time under cProfile, which
slows the Python parts (the XES reader) down, so read those figures as shares, not as times.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import re
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import pyarrow as pa

from ingest import ImportOptions, connect, import_file


class TimedConnection:
    """Forwards to a DuckDB connection and records (phase, seconds, sql) for every execute()."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self._con = con
        self.phase = "open workspace"
        self.log: list[tuple[str, float, str]] = []

    def execute(self, sql: str, params=None):
        # DuckDB finds Arrow tables named in the SQL among the *caller's* locals (the XES reader's `batch`);
        # behind this wrapper the caller is one frame further up, so register them explicitly.
        caller = sys._getframe(1).f_locals
        names = [n for n, v in caller.items() if isinstance(v, pa.Table) and re.search(rf"\b{n}\b", sql)]
        for name in names:
            self._con.register(name, caller[name])
        started = time.perf_counter()
        try:
            result = self._con.execute(sql) if params is None else self._con.execute(sql, params)
        finally:
            for name in names:
                self._con.unregister(name)
        self.log.append((self.phase, time.perf_counter() - started, " ".join(sql.split())))
        return result

    def __getattr__(self, name: str):
        return getattr(self._con, name)


def profile(path: Path, cprofile: bool = False, top: int = 12) -> None:
    """Import `path` into a fresh workspace and print phase and statement timings."""
    with tempfile.TemporaryDirectory(prefix="twinflow-profile-") as tmp:
        t0 = time.perf_counter()
        raw = connect(Path(tmp) / "workspace.duckdb")
        opened = time.perf_counter()
        con = TimedConnection(raw)
        marks: list[tuple[str, float]] = [("open workspace", t0)]

        def progress(fraction: float, message: str) -> None:
            con.phase = message.replace(f" {path.name}", "")
            marks.append((con.phase, time.perf_counter()))

        import_file(path, ImportOptions(process="p2p"), con=con, progress=progress)
        returned = time.perf_counter()
        raw.close()
        closed = time.perf_counter()
        marks[-1] = ("drop staging tables", marks[-1][1])
        marks.append(("close and checkpoint", returned))
        total = closed - t0
        print(f"\n== {path.name}: {total:.2f} s in all (open {opened - t0:.2f} s) ==")
        ends = [t for _, t in marks[1:]] + [closed]
        for (phase, start), end in zip(marks, ends, strict=True):
            sql = [(s, q) for p, s, q in con.log if p == phase]
            in_sql = sum(s for s, _ in sql)
            print(f"{phase:<32} {end - start:7.2f} s  ({100 * (end - start) / total:4.1f} %)"
                  f"   SQL {in_sql:6.2f} s in {len(sql)} statements, Python {end - start - in_sql:6.2f} s")
            for seconds, query in sorted(sql, reverse=True)[:4]:
                if seconds >= 0.05:
                    print(f"    {seconds:6.2f} s  {query[:150]}")
    if cprofile:
        with tempfile.TemporaryDirectory(prefix="twinflow-profile-") as tmp:
            profiler = cProfile.Profile()
            profiler.enable()
            import_file(path, ImportOptions(process="p2p"), workspace=Path(tmp) / "workspace.duckdb")
            profiler.disable()
        print(f"\n-- cProfile of the same import, top {top} by own time --")
        pstats.Stats(profiler).strip_dirs().sort_stats("tottime").print_stats(top)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--cprofile", action="store_true", help="also run the import under cProfile")
    args = parser.parse_args()
    for path in args.files:
        profile(path, args.cprofile)


if __name__ == "__main__":
    main()
