"""What every benchmark measures the same way: memory and CPU of a process, quiet pm4py, ratios, the machine."""

from __future__ import annotations

import contextlib
import io
import os
import platform
import resource
import time
import warnings
from collections.abc import Iterator


def peak_rss_mb() -> float:
    """Return the peak resident set size of this process so far, in MB (ru_maxrss is in KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def status_mb(field: str) -> float:
    """Return a memory field of /proc/self/status (VmRSS: current, VmHWM: peak of this process image), in MB."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def busy_cpu_s() -> float:
    """Return the CPU seconds all processes have used since boot (all but idle and iowait)."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    return (sum(fields) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


def own_cpu_s() -> float:
    """Return the CPU seconds this process has used."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    return own.ru_utime + own.ru_stime


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Swallow pm4py's banner, warnings and progress output."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            yield


def ratio(a: float, b: float) -> float:
    """Return a / b rounded to two decimals (nan when b is not positive)."""
    return round(a / b, 2) if b > 0 else float("nan")


def system_info(*packages: str) -> dict:
    """Return the Python version, platform, CPUs, memory, load and the versions of `packages`, without importing
    them into the measuring parent process."""
    from importlib.metadata import version

    with open("/proc/meminfo") as f:
        total_kb = int(f.readline().split()[1])
    return {"python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count(),
            "memory_gb": round(total_kb / 2**20, 1), **{p: version(p) for p in packages},
            "loadavg_before": os.getloadavg()}


def import_shipped_log(con, name: str, process: str) -> tuple[float, int, int]:
    """Return the seconds, cases and events of importing the shipped real log `name` (a file of data/real) into the
    workspace connection `con` as `process`, with the demo's options for it."""
    # Imported here, not at the top: a bench that runs an earlier commit puts that version's packages first on
    # sys.path before calling this.
    from ingest import ImportOptions, import_file
    from ingest.demo import LOG_OPTIONS, SHIPPED_LOGS

    clock = time.perf_counter()
    import_file(SHIPPED_LOGS / name, ImportOptions(process=process, **LOG_OPTIONS.get(name, {})), con=con)
    seconds = time.perf_counter() - clock
    n_cases, n_events = con.execute("SELECT count(DISTINCT case_id), count(*) FROM events WHERE process = $p",
                                    {"p": process}).fetchall()[0]
    return seconds, int(n_cases), int(n_events)
