"""Discovered model page: a BPMN or Petri net discovered from the process's variants, with its fitness and
precision."""

from __future__ import annotations

import streamlit as st

from app import state
from app.filters import sidebar_filters
from mining.models import bpmn_xml, discover_model, model_dot

ALGORITHMS = {"Inductive miner": "inductive", "Heuristics miner": "heuristics"}
VIEWS = {"BPMN": "bpmn", "Petri net": "petri"}
NOISE_DEFAULT = 0.2
DEPENDENCY_DEFAULT = 0.5


chosen = state.page_process("Discovered model")
filters = sidebar_filters(chosen)
controls = st.columns([2, 3, 2], gap="large")
algorithm_label = controls[0].radio("Algorithm", list(ALGORITHMS), key="dm_algorithm")
algorithm = ALGORITHMS[algorithm_label]
noise, dependency = NOISE_DEFAULT, DEPENDENCY_DEFAULT
if algorithm == "inductive":
    noise = controls[1].slider("Noise threshold", 0.0, 0.5, NOISE_DEFAULT, 0.05, key="dm_noise",
                               help="Share of infrequent behaviour the inductive miner leaves out (0: every "
                                    "case fits the model).")
else:
    dependency = controls[1].slider("Dependency threshold", 0.0, 1.0, DEPENDENCY_DEFAULT, 0.05, key="dm_dependency",
                                    help="Minimum dependency measure for an arc of the heuristics net; higher "
                                         "keeps only the strongest relations.")
view_label = controls[2].radio("View", list(VIEWS), key="dm_view")

with st.spinner("Discovering the model and replaying the cases on it…"):
    model = state.load(discover_model, filters, algorithm, noise, dependency)

kind = VIEWS[view_label]
if kind == "bpmn" and model.bpmn is None:
    st.info("pm4py cannot turn this Petri net into BPMN: showing the Petri net.")
    kind = "petri"
dot = model_dot(model, kind)

graph_col, metric_col = st.columns([5, 1], gap="large")
graph_col.graphviz_chart(dot, width="content")
metric_col.metric("Fitness", f"{model.fitness:.3f}", help="Token-based replay log fitness of the cases.")
metric_col.metric("Fitting cases", f"{model.fitting_traces_pct:.1f}%",
                  help="Share of cases replayed without missing or remaining tokens.")
metric_col.metric("Precision", f"{model.precision:.3f}",
                  help="Token-based (ETConformance) precision: how little behaviour the model allows beyond "
                       "the cases.")
metric_col.caption(f"{model.cases:,} cases in {model.variants:,} variants.")

downloads = st.columns(2)
if model.bpmn is not None:
    downloads[0].download_button(
        "Download BPMN", bpmn_xml(model), file_name=f"{chosen}.bpmn",
        mime="application/xml", icon=":material/download:", key="dm_download_bpmn")
downloads[1].download_button("Download DOT", dot, file_name=f"{chosen}-{kind}.dot", mime="text/vnd.graphviz",
                             icon=":material/download:", key="dm_download_dot",
                             help="Graphviz source of the model shown: open it with Graphviz or any DOT viewer.")
