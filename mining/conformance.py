"""Conformance of every case to a reference model: token-based replay over the whole log, alignments for the
variants that deviate, and every deviation listed with its cases.

DuckDB does the per-case work (event order, variants, joining results back to cases); replay and alignment see
one trace per distinct variant. Alignments use their own exact shortest-path search (A* with a lower bound that
never overestimates) over the product of the model's markings and the trace positions, with pm4py's standard
costs (10000 per log move or visible model move, 1 per silent step, 0 per synchronous move), so per-case fitness
and cost equal pm4py.conformance_diagnostics_alignments'; a model whose state space is too large for that
search falls back to pm4py's own aligner. Before aligning, every variant
is replayed exactly (a search for a firing sequence that spells it, silent steps allowed): a variant that
replays has an alignment without deviations, hence fitness exactly 1.0, and is not aligned. pm4py's token
replay cannot serve as that shortcut: it guesses silent steps and passes activities the model lacks.
"""

from __future__ import annotations

import contextlib
import heapq
import os
import sys
import tempfile
import uuid
import warnings
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_all_start_methods, get_context
from pathlib import Path
from typing import Any, Literal, NamedTuple

import duckdb
import pandas as pd

from mining.cases import EVENT_ORDER
from mining.filters import Filters, case_selection
from mining.models import DiscoveredModel, _event_log, discover_model

sys._pm4py_welcome_shown = True  # pm4py prints a banner on import otherwise
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import pm4py
    from pm4py.algo.conformance.alignments.petri_net import algorithm as pm4py_alignments
    from pm4py.algo.conformance.tokenreplay.variants import token_replay
    from pm4py.objects.log.obj import Event, Trace

Method = Literal["token_replay", "alignments"]
MOVE_COST = 10_000  # pm4py's cost of a log move or a visible model move
TAU_COST = 1  # pm4py's cost of a silent model step
SKIP = ">>"
# Markings the exact search may visit before handing a trace to pm4py's aligner (a model with much
# concurrency, or an unbounded one, has too many).
MAX_MARKINGS = 200_000
# Largest model state space for which the search precomputes its cost bounds (exact either way, faster with).
HEURISTIC_MARKINGS = 20_000
# Below this many variants to align, a process pool costs more (forking, collecting results) than it saves.
POOL_MIN_VARIANTS = 1000


class PetriModel(NamedTuple):
    """A Petri net with its initial and final marking (pm4py objects)."""

    net: Any
    im: Any
    fm: Any


@dataclass(frozen=True)
class Conformance:
    """Conformance of the filtered cases to one model."""

    method: str
    # One row per variant: variant_id, activities, cases, fitness, is_fit, deviations (list of str, one per
    # deviating move or token problem), aligned (an alignment was computed rather than implied by a fitting
    # replay), and for token replay missing/consumed/remaining/produced tokens, for alignments cost (pm4py's,
    # NA where implied) and deviation_cost (number of log and visible model moves).
    variants: pd.DataFrame
    cases: pd.DataFrame  # case_id, variant_id, fitness, is_fit; ordered by case_id
    deviations: pd.DataFrame  # deviation, kind, activity, cases, occurrences, variants, case_ids; most cases first
    fitness: float  # mean fitness over cases
    fit_share: float  # share of cases that fit (0..1)
    extra: dict = field(default_factory=dict)  # token replay: log_fitness (token-weighted, as pm4py's)


# ----------------------------------------------------------------------------------------------------------
# Models


def reference_model(con: duckdb.DuckDBPyConnection, filters: Filters, noise: float = 0.2) -> DiscoveredModel:
    """Return the inductive-miner model (IMf with `noise`) of the filtered cases, to check conformance against."""
    return discover_model(con, filters, "inductive", noise_threshold=noise)


def model_from_file(source: str | os.PathLike | bytes, kind: Literal["bpmn", "pnml"]) -> PetriModel:
    """Return the Petri net (with markings) of a BPMN or PNML model given as a file path or the file's bytes."""
    if kind not in ("bpmn", "pnml"):
        raise ValueError(f"unknown model kind {kind!r}")
    if isinstance(source, bytes):
        fd, name = tempfile.mkstemp(suffix=f".{kind}")
        with os.fdopen(fd, "wb") as f:
            f.write(source)
        try:
            return model_from_file(name, kind)
        finally:
            os.unlink(name)
    path = str(Path(source))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if kind == "pnml":
            net, im, fm = pm4py.read_pnml(path)
        else:
            net, im, fm = pm4py.convert_to_petri_net(pm4py.read_bpmn(path))
    if not im or not fm:
        raise ValueError(f"the {kind} model has no initial or no final marking")
    return PetriModel(net, im, fm)


def _petri(model: DiscoveredModel | PetriModel | tuple) -> PetriModel:
    if isinstance(model, DiscoveredModel):
        return PetriModel(model.net, model.im, model.fm)
    net, im, fm = model
    return PetriModel(net, im, fm)


# ----------------------------------------------------------------------------------------------------------
# Exact alignments


class _TooLarge(Exception):
    pass


_NEVER = 1 << 60  # distance of a marking from which the final marking cannot be reached


class _BoundRows(dict):
    """Marking -> lower bounds of the cost still to pay from each position of one trace (A*'s heuristic), made on
    first use: events whose activity can no longer occur are log moves, and visible steps the model needs to
    reach its final marking beyond the events left to match are model moves. It never overestimates, so the
    search stays exact. None for a marking the final marking cannot be reached from; all zeros without bounds."""

    def __init__(self, trace: Sequence[str], reachable: list[frozenset[str]] | None, to_final: list[int]) -> None:
        super().__init__()
        self.trace, self.reachable, self.to_final = trace, reachable, to_final
        self.zeros = [0] * (len(trace) + 1)

    def __missing__(self, m: int) -> list[int] | None:
        trace, n = self.trace, len(self.trace)
        found: list[int] | None = self.zeros
        if self.reachable is not None:
            d = self.to_final[m]
            if d == _NEVER:
                found = None
            else:
                can = self.reachable[m]
                found = [MOVE_COST * d] * (n + 1)
                lost = 0
                for i in range(n - 1, -1, -1):
                    lost += trace[i] not in can
                    found[i] = MOVE_COST * (lost + max(0, d - (n - i - lost)))
        self[m] = found
        return found


class _Aligner:
    """Optimal alignments of traces to one Petri net, by A* over (marking, trace position)."""

    def __init__(self, net: Any, im: Any, fm: Any) -> None:
        places = sorted(net.places, key=lambda p: p.name)
        index = {p: i for i, p in enumerate(places)}
        self.n_places = len(places)
        # Sorted by name so that among equally cheap alignments the same one is found on every run.
        self.transitions = sorted(net.transitions, key=lambda t: (t.name, str(t.label)))
        self.pre = [tuple((index[a.source], a.weight) for a in t.in_arcs) for t in self.transitions]
        self.post = [tuple((index[a.target], a.weight) for a in t.out_arcs) for t in self.transitions]
        self.labels = [t.label for t in self.transitions]
        # Markings are numbered as they are met; the moves out of each are computed once, for all traces.
        self._ids: dict[tuple[int, ...], int] = {}
        self._moves: list[tuple[list[int], list[tuple[str, int]]] | None] = []
        self._markings: list[tuple[int, ...]] = []
        self._explored = 0
        self.im = self._id(self._marking(im, index))
        self.fm = self._id(self._marking(fm, index))
        self.to_final: list[int] = []
        self.reachable: list[frozenset[str]] | None = None
        # Without bounds (too many markings) the search is plain Dijkstra, or pm4py's when even that is too large.
        with contextlib.suppress(_TooLarge):
            self._bounds()
        try:
            # pm4py's "best worst cost": the cheapest way through the model without any event.
            self.bwc: int | None = self.align(())[0]
        except _TooLarge:
            self.bwc = None

    def _marking(self, marking: Any, index: dict) -> tuple[int, ...]:
        counts = [0] * self.n_places
        for p, n in marking.items():
            counts[index[p]] = n
        return tuple(counts)

    def _id(self, marking: tuple[int, ...]) -> int:
        found = self._ids.get(marking)
        if found is None:
            found = self._ids[marking] = len(self._markings)
            self._markings.append(marking)
            self._moves.append(None)
        return found

    def _bounds(self) -> None:
        """When the model has at most HEURISTIC_MARKINGS reachable markings, per marking: the fewest visible
        transitions to the final marking (_NEVER where it cannot be reached) and the labels that can still occur."""
        queue = [self.im]
        seen = {self.im}
        while queue:
            if len(seen) > HEURISTIC_MARKINGS:
                return
            m = queue.pop()
            silent, visible = self.moves(m)
            for after in silent + [a for _, a in visible]:
                if after not in seen:
                    seen.add(after)
                    queue.append(after)
        if self.fm not in seen:
            return  # no alignment exists; the search finds that out
        count = len(self._markings)
        incoming: list[list[tuple[int, int]]] = [[] for _ in range(count)]
        for m in range(count):
            silent, visible = self.moves(m)
            for after in silent:
                incoming[after].append((m, 0))
            for _, after in visible:
                incoming[after].append((m, 1))
        distance = [_NEVER] * count
        distance[self.fm] = 0
        heap = [(0, self.fm)]
        while heap:  # over the reversed marking graph
            d, m = heapq.heappop(heap)
            if d > distance[m]:
                continue
            for before, w in incoming[m]:
                if d + w < distance[before]:
                    distance[before] = d + w
                    heapq.heappush(heap, (d + w, before))
        labels = [{label for label, _ in self.moves(m)[1]} for m in range(count)]
        changed = True
        while changed:  # the labels that can still occur from m: its own and those of every marking after it
            changed = False
            for m in range(count):
                silent, visible = self.moves(m)
                size = len(labels[m])
                for after in silent + [a for _, a in visible]:
                    labels[m] |= labels[after]
                changed |= len(labels[m]) != size
        self.reachable = [frozenset(x) for x in labels]
        self.to_final = distance

    def fire(self, marking: tuple[int, ...], t: int) -> tuple[int, ...] | None:
        """The marking after firing transition t, or None when t is not enabled."""
        m = list(marking)
        for p, w in self.pre[t]:
            if m[p] < w:
                return None
            m[p] -= w
        for p, w in self.post[t]:
            m[p] += w
        return tuple(m)

    def moves(self, marking: int) -> tuple[list[int], list[tuple[str, int]]]:
        """(markings after each enabled silent transition, (label, marking after) of each enabled visible one)."""
        found = self._moves[marking]
        if found is None:
            if self._explored >= MAX_MARKINGS:
                raise _TooLarge
            self._explored += 1
            silent: list[int] = []
            visible: list[tuple[str, int]] = []
            for t, label in enumerate(self.labels):
                after = self.fire(self._markings[marking], t)
                if after is not None:
                    if label is None:
                        silent.append(self._id(after))
                    else:
                        visible.append((label, self._id(after)))
            found = self._moves[marking] = (silent, visible)
        return found

    def align(self, trace: Sequence[str]) -> tuple[int, list[tuple[str, str | None]]]:
        """(pm4py's alignment cost, moves as (log label or >>, model label or >> or None for silent))."""
        n = len(trace)
        width = n + 1  # a state (marking, position) is the number marking * width + position
        start, goal = self.im * width, self.fm * width + n
        bounds = self._bounds_for(trace)
        best = {start: 0}
        back: dict[int, tuple[int, tuple[str, str | None]]] = {}
        heap = [(0, 0, 0, start)]
        # Ties are broken by the order states were reached, which depends on this trace and the model only (not
        # on how the markings happen to be numbered), so a worker process finds the same alignment.
        tick = 0
        push, pop, moves = heapq.heappush, heapq.heappop, self.moves
        while heap:
            _, _, cost, state = pop(heap)
            if cost > best[state]:
                continue
            if state == goal:
                path: list[tuple[str, str | None]] = []
                while state in back:
                    state, move = back[state]
                    path.append(move)
                return cost, path[::-1]
            marking, i = divmod(state, width)
            silent, visible = moves(marking)
            activity = trace[i] if i < n else None
            steps: list[tuple[int, int, int, tuple[str, str | None]]] = []
            if activity is not None:
                steps.append((cost + MOVE_COST, marking, i + 1, (activity, SKIP)))
            for after in silent:
                steps.append((cost + TAU_COST, after, i, (SKIP, None)))
            for label, after in visible:
                if label == activity:
                    steps.append((cost, after, i + 1, (label, label)))
                steps.append((cost + MOVE_COST, after, i, (SKIP, label)))
            for c, m, j, move in steps:
                nxt = m * width + j
                if c < best.get(nxt, c + 1):
                    h = bounds[m]
                    if h is None:  # the final marking cannot be reached from m
                        continue
                    best[nxt] = c
                    back[nxt] = (state, move)
                    tick += 1
                    push(heap, (c + h[j], tick, c, nxt))
        raise ValueError("the model cannot reach its final marking: no alignment exists")

    def _bounds_for(self, trace: Sequence[str]) -> _BoundRows:
        """Per marking, lower bounds of the cost still to pay from each position of `trace` (see _BoundRows)."""
        return _BoundRows(trace, self.reachable, self.to_final)

    def fitness(self, cost: int, length: int) -> float:
        """pm4py's alignment fitness: 1 - deviations / (deviations of the worst alignment)."""
        den = (MOVE_COST * length + (self.bwc or 0)) // MOVE_COST
        return 1 - (cost // MOVE_COST) / den if den > 0 else 0.0

    def replays(self, trace: Sequence[str]) -> bool:
        """True when some firing sequence from the initial to the final marking, silent steps allowed, spells
        `trace`: an exact token replay, whose success means an alignment without deviations (fitness 1.0)."""
        n = len(trace)
        width = n + 1
        goal = self.fm * width + n
        bounds = self._bounds_for(trace)
        seen = set()
        stack = [self.im * width]
        while stack:
            state = stack.pop()
            if state in seen:
                continue
            seen.add(state)
            if state == goal:
                return True
            marking, i = divmod(state, width)
            silent, visible = self.moves(marking)
            steps = [(after, i) for after in silent]
            if i < n:
                steps += [(after, i + 1) for label, after in visible if label == trace[i]]
            for after, j in steps:
                row = bounds[after]
                if row is not None and row[j] == 0:  # a state that needs no deviation to finish
                    stack.append(after * width + j)
        return False


def _deviation_names(moves: list[tuple[str, str | None]]) -> list[str]:
    out = []
    for log, model in moves:
        if model == SKIP:
            out.append(f"inserted: {log}")
        elif log == SKIP and model is not None:
            out.append(f"skipped: {model}")
    return out


_WORKER: dict[str, Any] = {}


def _init_worker(aligner: _Aligner, model: PetriModel) -> None:
    _WORKER["aligner"] = aligner
    _WORKER["model"] = model


def _align_many(traces: list[tuple[str, ...]]) -> list[dict]:
    return [_align_one(_WORKER["aligner"], _WORKER["model"], t) for t in traces]


def _align_one(aligner: _Aligner, model: PetriModel, trace: tuple[str, ...]) -> dict:
    try:
        if aligner.bwc is None:
            raise _TooLarge
        cost, moves = aligner.align(trace)
        fitness = aligner.fitness(cost, len(trace))
    except _TooLarge:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = pm4py_alignments.apply_trace(Trace([Event({"concept:name": a}) for a in trace]), *model)
        cost, moves, fitness = result["cost"], result["alignment"], result["fitness"]
    return {"cost": int(cost), "deviation_cost": int(cost) // MOVE_COST, "fitness": float(fitness),
            "deviations": _deviation_names(moves)}


def _align_variants(aligner: _Aligner, model: PetriModel, traces: list[tuple[str, ...]],
                    workers: int | None) -> list[dict]:
    if workers is None:
        workers = min(2, os.cpu_count() or 1) if len(traces) >= POOL_MIN_VARIANTS else 1
    if workers <= 1 or len(traces) < 2:
        return [_align_one(aligner, model, t) for t in traces]
    # Longest traces first and in small chunks, so that no worker is left alone with a slow tail.
    order = sorted(range(len(traces)), key=lambda i: -len(traces[i]))
    chunks = [order[k:k + 16] for k in range(0, len(order), 16)]
    results: list[dict] = [{}] * len(traces)
    # fork: the workers inherit pm4py already imported; spawning would import it again in each of them.
    context = get_context("fork") if "fork" in get_all_start_methods() else get_context()
    with ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_init_worker,
                             initargs=(aligner, model)) as pool:
        for chunk, out in zip(chunks, pool.map(_align_many, [[traces[i] for i in c] for c in chunks]),
                              strict=True):
            for i, r in zip(chunk, out, strict=True):
                results[i] = r
    return results


# ----------------------------------------------------------------------------------------------------------
# Token-based replay


def _token_replay(model: PetriModel, traces: list[tuple[str, ...]]) -> list[dict]:
    params = {token_replay.Parameters.CONSIDER_REMAINING_IN_FITNESS: True,
              token_replay.Parameters.SHOW_PROGRESS_BAR: False}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return token_replay.apply(_event_log(traces), *model, parameters=params)


def _token_deviations(trace: tuple[str, ...], replayed: dict, model: PetriModel, visible: set[str]) -> list[str]:
    out = [f"not in model: {a}" for a in dict.fromkeys(trace) if a not in visible]
    for t in replayed["transitions_with_problems"]:
        out.append(f"missing token: {t.label if t.label is not None else t.name}")
    for place, n in replayed["reached_marking"].items():
        left = n - model.fm.get(place, 0)
        if left > 0:
            nexts = sorted({str(a.target.label if a.target.label is not None else a.target.name)
                            for a in place.out_arcs})
            out += [f"remaining token: before {' / '.join(nexts) or place.name}"] * left
    return out


# ----------------------------------------------------------------------------------------------------------
# The whole log


def conformance(con: duckdb.DuckDBPyConnection, filters: Filters, model: DiscoveredModel | PetriModel | tuple,
                method: Method = "token_replay", workers: int | None = None) -> Conformance:
    """Return the conformance of every filtered case to `model` (pm4py's token-based replay, or alignments of the
    variants that do not replay exactly) with per-variant, per-case and per-deviation results."""
    if method not in ("token_replay", "alignments"):
        raise ValueError(f"unknown method {method!r}")
    petri = _petri(model)
    selection, params = case_selection(filters)
    suffix = uuid.uuid4().hex
    cases_table, variants_table = f"conformance_cases_{suffix}", f"conformance_variants_{suffix}"
    results_view = f"conformance_results_{suffix}"
    if filters == Filters(process=filters.process):
        # Every case passes: joining the selection would summarise the cases once more for nothing.
        selection, params = "SELECT NULL AS case_id", {"f_process": filters.process}
        keep = "true"
    else:
        keep = "case_id IN (SELECT case_id FROM selected)"
    try:
        # Cases are grouped by a key of their activity sequence (a sum of hashes of (activity, position) and
        # the length) rather than by the sequence itself: no list or string per case, several times cheaper.
        # Only one case per key then has its sequence and variant id (as in CASE_SUMMARY_SQL) spelled out.
        con.execute(f"""
            CREATE TEMP TABLE {cases_table} AS
            WITH selected AS ({selection})
            SELECT case_id, sum(hash(activity, position)) AS seq_hash, count(*) AS n_events
            FROM (SELECT case_id, activity,
                         row_number() OVER (PARTITION BY case_id ORDER BY {EVENT_ORDER}) AS position
                  FROM events WHERE process = $f_process AND {keep})
            GROUP BY case_id
        """, params)
        con.execute(f"""
            CREATE TEMP TABLE {variants_table} AS
            WITH keys AS (
                SELECT seq_hash, n_events, min(case_id) AS representative, count(*) AS cases
                FROM {cases_table} GROUP BY seq_hash, n_events
            ),
            sequences AS (
                SELECT case_id, list(activity ORDER BY {EVENT_ORDER}) AS activities,
                       md5(string_agg(activity, chr(31) ORDER BY {EVENT_ORDER})) AS variant_id
                FROM events
                WHERE process = $f_process AND case_id IN (SELECT representative FROM keys)
                GROUP BY case_id
            )
            SELECT k.seq_hash, k.n_events, s.variant_id, s.activities, k.cases
            FROM keys k JOIN sequences s ON s.case_id = k.representative
        """, {"f_process": filters.process})
        var = con.execute(f"""
            SELECT variant_id, activities, cases FROM {variants_table} ORDER BY cases DESC, variant_id
        """).df()
        if var.empty:
            raise ValueError("no cases pass the filters: nothing to check")
        traces = [tuple(a) for a in var.activities]
        var = _variant_results(var, traces, petri, method, workers)
        con.register(results_view, var[["variant_id", "fitness", "is_fit", "deviations"]])
        try:
            with_variant = f"""
                SELECT c.case_id, v.variant_id
                FROM {cases_table} c JOIN {variants_table} v USING (seq_hash, n_events)
            """
            per_case = con.execute(f"""
                SELECT c.case_id, c.variant_id, r.fitness, r.is_fit
                FROM ({with_variant}) c JOIN {results_view} r USING (variant_id)
                ORDER BY c.case_id
            """).df()
            deviations = con.execute(f"""
                WITH d AS (
                    SELECT variant_id, unnest(deviations) AS deviation FROM {results_view}
                ),
                per_variant AS (SELECT variant_id, deviation, count(*) AS times FROM d GROUP BY ALL)
                SELECT v.deviation,
                       split_part(v.deviation, ': ', 1) AS kind,
                       substr(v.deviation, length(split_part(v.deviation, ': ', 1)) + 3) AS activity,
                       count(*) AS cases,
                       sum(v.times) AS occurrences,
                       count(DISTINCT v.variant_id) AS variants,
                       list(c.case_id ORDER BY c.case_id) AS case_ids
                FROM per_variant v JOIN ({with_variant}) c USING (variant_id)
                GROUP BY v.deviation
                ORDER BY cases DESC, v.deviation
            """).df()
        finally:
            con.unregister(results_view)
    finally:
        con.execute(f"DROP TABLE IF EXISTS {cases_table}")
        con.execute(f"DROP TABLE IF EXISTS {variants_table}")
    weights = var.cases.astype(float)
    total = float(weights.sum())
    extra: dict = {}
    if method == "token_replay":
        m, c, r, p = ((var[k] * weights).sum() for k in ("missing", "consumed", "remaining", "produced"))
        extra["log_fitness"] = float(0.5 * (1 - m / c) + 0.5 * (1 - r / p)) if c and p else 0.0
    return Conformance(
        method=method, variants=var, cases=per_case, deviations=deviations,
        fitness=float((var.fitness * weights).sum() / total),
        fit_share=float(weights[var.is_fit].sum() / total), extra=extra)


def _variant_results(var: pd.DataFrame, traces: list[tuple[str, ...]], model: PetriModel, method: Method,
                     workers: int | None) -> pd.DataFrame:
    var = var.copy()
    if method == "token_replay":
        replayed = _token_replay(model, traces)
        visible = {t.label for t in model.net.transitions if t.label is not None}
        var["fitness"] = [float(r["trace_fitness"]) for r in replayed]
        var["is_fit"] = [bool(r["trace_is_fit"]) for r in replayed]
        var["deviations"] = [_token_deviations(t, r, model, visible) for t, r in zip(traces, replayed, strict=True)]
        var["aligned"] = False
        for key in ("missing", "consumed", "remaining", "produced"):
            var[key] = [int(r[f"{key}_tokens"]) for r in replayed]
        return var
    aligner = _Aligner(*model)
    implied = []
    for t in traces:
        try:
            implied.append(aligner.replays(t))
        except _TooLarge:
            implied.append(False)
    todo = [t for t, ok in zip(traces, implied, strict=True) if not ok]
    aligned = iter(_align_variants(aligner, model, todo, workers))
    rows = [next(aligned) if not ok else {"cost": None, "deviation_cost": 0, "fitness": 1.0, "deviations": []}
            for ok in implied]
    var["fitness"] = [r["fitness"] for r in rows]
    var["is_fit"] = [r["fitness"] == 1.0 for r in rows]
    var["deviations"] = [r["deviations"] for r in rows]
    var["aligned"] = [not ok for ok in implied]
    var["cost"] = pd.array([r["cost"] for r in rows], dtype="Int64")
    var["deviation_cost"] = [r["deviation_cost"] for r in rows]
    return var


def conformance_to_discovered(con: duckdb.DuckDBPyConnection, filters: Filters, noise: float = 0.2,
                              method: Method = "alignments") -> Conformance:
    """Return the conformance of the filtered cases to the inductive-miner model of those same cases."""
    return conformance(con, filters, reference_model(con, filters, noise), method)


def conformance_to_file(con: duckdb.DuckDBPyConnection, filters: Filters, source: bytes,
                        kind: Literal["bpmn", "pnml"], method: Method = "alignments") -> Conformance:
    """Return the conformance of the filtered cases to a reference model given as BPMN or PNML bytes."""
    return conformance(con, filters, model_from_file(source, kind), method)
