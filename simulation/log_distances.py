"""The measures of published simulation-discovery research (the PyPI package `log-distance-measures`) between a
real log and a simulated or replayed one, and the chart data of the three logs side by side. Logs are in the
package's format: columns IDS (case, activity, start and end time, resource), UTC."""

from __future__ import annotations

import math
from datetime import timedelta

import pandas as pd
from log_distance_measures.absolute_event_distribution import absolute_event_distribution_distance
from log_distance_measures.case_arrival_distribution import case_arrival_distribution_distance
from log_distance_measures.circadian_event_distribution import circadian_event_distribution_distance
from log_distance_measures.config import EventLogIDs
from log_distance_measures.cycle_time_distribution import cycle_time_distribution_distance
from log_distance_measures.n_gram_distribution import n_gram_distribution_distance
from log_distance_measures.relative_event_distribution import relative_event_distribution_distance

from simulation.progress import Progress

# Column names of the logs handed to the package (its EventLogIDs defaults).
IDS = EventLogIDs()
LOG_COLUMNS = [IDS.case, IDS.activity, IDS.start_time, IDS.end_time, IDS.resource]
CYCLE_TIME_BIN = timedelta(hours=1)
N_GRAM = 3

# measure key -> (label, unit)
MEASURES: dict[str, tuple[str, str]] = {
    "ngram_3": ("n-gram distance (n=3)", "0..1"),
    "absolute_event": ("absolute event distribution distance", "hours"),
    "circadian_event": ("circadian event distribution distance", "hours of day"),
    "relative_event": ("relative event distribution distance", "hours"),
    "case_arrival": ("case arrival distribution distance", "hours"),
    "cycle_time": ("cycle time distribution distance", "hours"),
}


def package_log(events: pd.DataFrame) -> pd.DataFrame:
    """Return events (case_id, activity, start_time, end_time, resource) in the package's column names, UTC."""
    end = pd.to_datetime(events["end_time"], utc=True).reset_index(drop=True)
    start = pd.to_datetime(events["start_time"], utc=True).reset_index(drop=True).fillna(end)
    return pd.DataFrame({IDS.case: events["case_id"].astype(str).reset_index(drop=True),
                         IDS.activity: events["activity"].astype(str).reset_index(drop=True),
                         IDS.start_time: start, IDS.end_time: end,
                         IDS.resource: events["resource"].reset_index(drop=True)}, columns=LOG_COLUMNS)



def _local(log: pd.DataFrame, tz: str) -> pd.DataFrame:
    return log.assign(**{IDS.start_time: log[IDS.start_time].dt.tz_convert(tz),
                         IDS.end_time: log[IDS.end_time].dt.tz_convert(tz)})


def distances(real: pd.DataFrame, other: pd.DataFrame, timezone: str = "UTC") -> dict[str, float]:
    """Return each measure of MEASURES between two package-format logs (0 = identical, lower = closer)."""
    if real.empty or other.empty:
        return {key: math.nan for key in MEASURES}
    return {
        "ngram_3": float(n_gram_distribution_distance(real, IDS, other, IDS, n=N_GRAM)),
        "absolute_event": float(absolute_event_distribution_distance(real, IDS, other, IDS)),
        "circadian_event": float(circadian_event_distribution_distance(_local(real, timezone), IDS,
                                                                       _local(other, timezone), IDS)),
        "relative_event": float(relative_event_distribution_distance(real, IDS, other, IDS)),
        "case_arrival": float(case_arrival_distribution_distance(real, IDS, other, IDS)),
        "cycle_time": float(cycle_time_distribution_distance(real, IDS, other, IDS, bin_size=CYCLE_TIME_BIN)),
    }


def _hourly(log: pd.DataFrame, name: str, tz: str, weight: float) -> pd.DataFrame:
    hours = log[IDS.start_time].dt.tz_convert(tz).dt.hour
    counts = hours.value_counts().reindex(range(24), fill_value=0)
    return pd.DataFrame({"log": name, "hour": range(24), "events": counts.to_numpy() * weight})


def _arrivals(log: pd.DataFrame, name: str, tz: str, weight: float) -> pd.DataFrame:
    first = log.groupby(IDS.case)[IDS.start_time].min().dt.tz_convert(tz)
    days = first.dt.tz_localize(None).dt.normalize().value_counts()
    return pd.DataFrame({"log": name, "day": days.index, "cases": days.to_numpy() * weight})


def _cycle_times(log: pd.DataFrame, name: str) -> pd.DataFrame:
    per_case = log.groupby(IDS.case).agg(start=(IDS.start_time, "min"), end=(IDS.end_time, "max"))
    hours = (per_case["end"] - per_case["start"]).dt.total_seconds() / 3600
    return pd.DataFrame({"log": name, "case_id": per_case.index, "cycle_time_h": hours.to_numpy()})


def chart_data(real: pd.DataFrame, twins: list[pd.DataFrame], naive: pd.DataFrame,
               tz: str = "UTC") -> dict[str, pd.DataFrame]:
    """Return chart data real vs twin vs naive: events per hour of day, case arrivals per day, cycle times.

    Twin counts are means over the replications; twin cycle times pool every replication."""
    weight = 1 / max(len(twins), 1)
    hourly = pd.concat([_hourly(real, "real", tz, 1.0), *[_hourly(t, "twin", tz, weight) for t in twins],
                        _hourly(naive, "naive", tz, 1.0)]).groupby(["log", "hour"], as_index=False)["events"].sum()
    arrivals = pd.concat([_arrivals(real, "real", tz, 1.0), *[_arrivals(t, "twin", tz, weight) for t in twins],
                          _arrivals(naive, "naive", tz, 1.0)]).groupby(["log", "day"], as_index=False)["cases"].sum()
    # Days without arrivals count as zero, so that the lines of the three logs cover the same days.
    if not arrivals.empty:
        days = pd.date_range(arrivals["day"].min(), arrivals["day"].max(), freq="D")
        full = pd.MultiIndex.from_product([["real", "twin", "naive"], days], names=["log", "day"])
        arrivals = arrivals.set_index(["log", "day"]).reindex(full, fill_value=0.0).reset_index()
    cycles = pd.concat([_cycle_times(real, "real"), *[_cycle_times(t, "twin") for t in twins],
                        _cycle_times(naive, "naive")], ignore_index=True)
    order = {"real": 0, "twin": 1, "naive": 2}
    hourly = hourly.sort_values(["log", "hour"], key=lambda s: s.map(order) if s.name == "log" else s)
    return {"hourly": hourly.reset_index(drop=True), "arrivals": arrivals, "cycle_times": cycles}


def distances_per_replication(real: pd.DataFrame, twins: list[pd.DataFrame], tz: str,
                               progress: Progress | None = None) -> pd.DataFrame:
    """Return each measure between the real log and each twin log (columns measure, replication, value)."""
    rows = []
    for r, twin in enumerate(twins):
        if progress:
            progress(r / len(twins), f"measuring replication {r + 1}/{len(twins)}")
        rows += [{"measure": k, "replication": r, "value": v} for k, v in distances(real, twin, tz).items()]
    return pd.DataFrame(rows, columns=["measure", "replication", "value"])


def distances_between_replications(twins: list[pd.DataFrame], tz: str,
                                   progress: Progress | None = None) -> pd.DataFrame:
    """Return each measure between consecutive replications of the twin (columns measure, pair, value; pair i is
    replications i and i + 1): the distance two samples of the same model keep from each other, its own noise."""
    rows = []
    pairs = list(zip(twins, twins[1:], strict=False))
    for i, (a, b) in enumerate(pairs):
        if progress:
            progress(i / len(pairs), f"measuring the twin against itself {i + 1}/{len(pairs)}")
        rows += [{"measure": k, "pair": i, "value": v} for k, v in distances(a, b, tz).items()]
    return pd.DataFrame(rows, columns=["measure", "pair", "value"])
