"""Discovered process models (inductive or heuristics miner) with token-based fitness and precision.

pm4py only ever sees the variants of the filtered cases (one activity sequence per variant with its case
count, computed in SQL), never the whole event log: discovery reads the variants as pm4py's own compressed
log (a Counter of activity tuples) and replay runs one trace per variant, the results weighted by case count.
"""

from __future__ import annotations

import os
import sys
import tempfile
import warnings
from collections import Counter
from dataclasses import dataclass
from typing import Any, Literal

import duckdb
import pandas as pd

from mining.filters import Filters
from mining.variants import variants

sys._pm4py_welcome_shown = True  # pm4py prints a banner on import otherwise
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import pm4py
    from pm4py.algo.conformance.tokenreplay.variants import token_replay
    from pm4py.algo.discovery.heuristics.variants import classic as heuristics_miner
    from pm4py.algo.discovery.inductive.dtypes.im_ds import IMDataStructureUVCL
    from pm4py.algo.discovery.inductive.variants.im import IMUVCL
    from pm4py.algo.discovery.inductive.variants.imf import IMFUVCL
    from pm4py.objects.conversion.heuristics_net import converter as heuristics_converter
    from pm4py.objects.log.obj import Event, EventLog, Trace
    from pm4py.objects.petri_net.utils.align_utils import get_visible_transitions_eventually_enabled_by_marking
    from pm4py.objects.process_tree.utils import generic as pt_util
    from pm4py.visualization.bpmn import visualizer as bpmn_visualizer
    from pm4py.visualization.petri_net import visualizer as petri_visualizer

ACT = "concept:name"
Algorithm = Literal["inductive", "heuristics"]


@dataclass(frozen=True)
class DiscoveredModel:
    """A model discovered on the filtered cases of one process, with its token-based replay quality."""

    algorithm: str
    net: Any  # pm4py PetriNet
    im: Any  # initial Marking
    fm: Any  # final Marking
    bpmn: Any | None  # pm4py BPMN, None when pm4py cannot convert the net
    process_tree: Any | None  # inductive miner only
    fitness: float  # token-based log fitness
    fitting_traces_pct: float  # % of cases whose trace replays without missing or remaining tokens
    precision: float  # token-based (ETConformance) precision
    cases: int
    variants: int
    activities: tuple[str, ...]


def variant_log(con: duckdb.DuckDBPyConnection, filters: Filters) -> pd.DataFrame:
    """Return one row per variant of the filtered cases, most frequent first: variant_id, activities (list of
    activities in event order) and cases."""
    return variants(con, filters)[["variant_id", "activities", "cases"]]


def variant_counter(var: pd.DataFrame) -> Counter[tuple[str, ...]]:
    """Return the variants as pm4py's compressed log: activity tuple -> number of cases."""
    return Counter({tuple(a): int(n) for a, n in zip(var.activities, var.cases, strict=True)})


def _event_log(traces: list[tuple[str, ...]]) -> EventLog:
    return EventLog([Trace([Event({ACT: a}) for a in t]) for t in traces])


def _heuristics_net(uvcl: Counter[tuple[str, ...]], dependency_threshold: float) -> Any:
    """Run the heuristics miner on the statistics pm4py would count on the full log, counted per variant."""
    dfg: Counter = Counter()
    window_2: Counter = Counter()
    triples: Counter = Counter()
    occurrences: Counter = Counter()
    starts: Counter = Counter()
    ends: Counter = Counter()
    for trace, n in uvcl.items():
        if not trace:
            continue
        starts[trace[0]] += n
        ends[trace[-1]] += n
        for a in trace:
            occurrences[a] += n
        for i in range(1, len(trace)):
            dfg[trace[i - 1], trace[i]] += n
        for i in range(2, len(trace)):
            window_2[trace[i - 2], trace[i]] += n
            triples[trace[i - 2], trace[i - 1], trace[i]] += n
    return heuristics_miner.apply_heu_dfg(
        dict(dfg), activities=list(occurrences), activities_occurrences=dict(occurrences),
        start_activities=dict(starts), end_activities=dict(ends), dfg_window_2=dict(window_2),
        freq_triples=dict(triples), parameters={heuristics_miner.Parameters.DEPENDENCY_THRESH: dependency_threshold})


def weighted_fitness(uvcl: Counter[tuple[str, ...]], net: Any, im: Any, fm: Any) -> dict[str, float]:
    """Token-based replay fitness of the variants, each weighted by its number of cases: the same numbers as
    pm4py.fitness_token_based_replay on the full log (log_fitness, percentage_of_fitting_traces,
    average_trace_fitness), from one replay per variant."""
    traces = list(uvcl)
    params = {token_replay.Parameters.CONSIDER_REMAINING_IN_FITNESS: True,
              token_replay.Parameters.SHOW_PROGRESS_BAR: False}
    replayed = token_replay.apply(_event_log(traces), net, im, fm, parameters=params)
    weights = [uvcl[t] for t in traces]
    total = sum(weights)

    def tokens(key: str) -> float:
        return sum(r[key] * w for r, w in zip(replayed, weights, strict=True))

    m, c, r, p = tokens("missing_tokens"), tokens("consumed_tokens"), tokens("remaining_tokens"), \
        tokens("produced_tokens")
    if not total or not c or not p:
        return {"log_fitness": 0.0, "percentage_of_fitting_traces": 0.0, "average_trace_fitness": 0.0}
    return {
        "log_fitness": 0.5 * (1 - m / c) + 0.5 * (1 - r / p),
        "percentage_of_fitting_traces": 100.0 * sum(w for x, w in zip(replayed, weights, strict=True)
                                                    if x["trace_is_fit"]) / total,
        "average_trace_fitness": sum(x["trace_fitness"] * w for x, w in zip(replayed, weights, strict=True)) / total,
    }


def weighted_precision(uvcl: Counter[tuple[str, ...]], net: Any, im: Any, fm: Any) -> float:
    """ETConformance precision (pm4py.precision_token_based_replay) from the variants: every prefix of a trace
    is replayed once and counted as often as cases pass through it. Prefixes are kept as tuples, so activity
    names holding commas stay intact (pm4py joins prefixes with ',' and splits them again)."""
    followers: dict[tuple[str, ...], set[str]] = {}
    counts: Counter[tuple[str, ...]] = Counter()
    for trace, n in uvcl.items():
        for i in range(1, len(trace)):
            followers.setdefault(trace[:i], set()).add(trace[i])
            counts[trace[:i]] += n
    prefixes = list(followers)
    params = {token_replay.Parameters.CONSIDER_REMAINING_IN_FITNESS: False,
              token_replay.Parameters.TRY_TO_REACH_FINAL_MARKING_THROUGH_HIDDEN: False,
              token_replay.Parameters.STOP_IMMEDIATELY_UNFIT: True,
              token_replay.Parameters.WALK_THROUGH_HIDDEN_TRANS: True,
              token_replay.Parameters.SHOW_PROGRESS_BAR: False}
    replayed = token_replay.apply(_event_log(prefixes), net, im, fm, parameters=params) if prefixes else []
    starts = {t[0] for t in uvcl if t}
    initially_enabled = {t.label for t in get_visible_transitions_eventually_enabled_by_marking(net, im)}
    n_traces = sum(uvcl.values())
    sum_at = n_traces * len(initially_enabled)
    sum_ee = n_traces * len(initially_enabled - starts)
    for prefix, result in zip(prefixes, replayed, strict=True):
        if result["trace_is_fit"]:
            enabled = {t.label for t in result["enabled_transitions_in_marking"] if t.label is not None}
            sum_at += len(enabled) * counts[prefix]
            sum_ee += len(enabled - followers[prefix]) * counts[prefix]
    return 1 - sum_ee / sum_at if sum_at > 0 else 1.0


def discover_model(con: duckdb.DuckDBPyConnection, filters: Filters, algorithm: Algorithm = "inductive",
                   noise_threshold: float = 0.2, dependency_threshold: float = 0.5) -> DiscoveredModel:
    """Discover a model of the filtered cases with the inductive miner (IMf when noise_threshold > 0, else IM)
    or the heuristics miner, and measure its token-based fitness and precision on the same cases."""
    return discover_from_variants(variant_counter(variant_log(con, filters)), algorithm, noise_threshold,
                                  dependency_threshold)


def discover_from_variants(uvcl: Counter[tuple[str, ...]], algorithm: Algorithm = "inductive",
                           noise_threshold: float = 0.2, dependency_threshold: float = 0.5) -> DiscoveredModel:
    """discover_model on variants given as activity tuple -> number of cases."""
    if not uvcl:
        raise ValueError("no cases pass the filters: nothing to discover")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tree = None
        if algorithm == "inductive":
            # What inductive_miner.apply does after compressing a log to variants (its UVCL type check
            # fails for a plain Counter, so the miner is called directly): IMf when filtering noise, else IM.
            params = {"noise_threshold": noise_threshold, "multiprocessing": False}
            miner = IMFUVCL(params) if noise_threshold > 0 else IMUVCL(params)
            tree = pt_util.fold(miner.apply(IMDataStructureUVCL(uvcl), params))
            pt_util.tree_sort(tree)
            net, im, fm = pm4py.convert_to_petri_net(tree)
            bpmn = pm4py.convert_to_bpmn(tree)
        elif algorithm == "heuristics":
            net, im, fm = heuristics_converter.apply(_heuristics_net(uvcl, dependency_threshold))
            try:
                bpmn = pm4py.convert_to_bpmn(net, im, fm)
            except Exception:  # pm4py converts only some nets; the Petri net view still works
                bpmn = None
        else:
            raise ValueError(f"unknown algorithm {algorithm!r}")
        fitness = weighted_fitness(uvcl, net, im, fm)
        precision = weighted_precision(uvcl, net, im, fm)
    return DiscoveredModel(
        algorithm=algorithm, net=net, im=im, fm=fm, bpmn=bpmn, process_tree=tree,
        fitness=fitness["log_fitness"], fitting_traces_pct=fitness["percentage_of_fitting_traces"],
        precision=precision, cases=sum(uvcl.values()), variants=len(uvcl),
        activities=tuple(sorted({a for t in uvcl for a in t})))


def bpmn_xml(model: DiscoveredModel) -> str:
    """Return the model's BPMN 2.0 XML (as pm4py.write_bpmn writes it)."""
    if model.bpmn is None:
        raise ValueError("this model has no BPMN form")
    fd, name = tempfile.mkstemp(suffix=".bpmn")
    os.close(fd)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pm4py.write_bpmn(model.bpmn, name, auto_layout=False)
        with open(name, encoding="utf-8") as f:
            return f.read()
    finally:
        os.unlink(name)


def model_dot(model: DiscoveredModel, kind: Literal["bpmn", "petri"] = "bpmn") -> str:
    """Return Graphviz DOT text of the BPMN or Petri net; only the source is built, Graphviz is not run."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if kind == "bpmn":
            if model.bpmn is None:
                raise ValueError("this model has no BPMN form")
            # Top to bottom: a long process laid out left to right shrinks to a sliver in the page.
            graph = bpmn_visualizer.apply(model.bpmn, parameters={"format": "svg", "rankdir": "TB"})
        elif kind == "petri":
            graph = petri_visualizer.apply(model.net, model.im, model.fm,
                                           parameters={"format": "svg", "set_rankdir": "TB"})
        else:
            raise ValueError(f"unknown kind {kind!r}")
    return graph.source
