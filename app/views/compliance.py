"""Compliance page: segregation of duties, approval thresholds and forbidden orders, per rule with its cases, and
the conformance of every case to a reference model."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from app import state
from app.filters import sidebar_filters
from mining import compliance
from mining.conformance import conformance_to_discovered, conformance_to_file, reference_model
from mining.models import model_dot

METHODS = {"Alignments of the deviating variants": "alignments", "Token-based replay": "token_replay"}

chosen = state.page_process("Compliance")
filters = sidebar_filters(chosen)
defaults = compliance.DEFAULT_RULES.get(chosen, [])

st.subheader("Segregation of duties")
st.caption("Pairs of activities one person must not both perform in a case. Events without a resource and events "
           "of systems (role 'system') are ignored. Add, change or remove rows to check other pairs.")
pairs = pd.DataFrame([r.model_dump() for r in defaults if isinstance(r, compliance.SoDRule)],
                     columns=["name", "first_activity", "second_activity"])
edited = st.data_editor(pairs, num_rows="dynamic", hide_index=True, key=f"compliance_sod_{chosen}")
sod = [compliance.SoDRule(name=str(r.name or f"{r.first_activity} / {r.second_activity}"),
                          first_activity=str(r.first_activity), second_activity=str(r.second_activity))
       for r in edited.itertuples() if isinstance(r.first_activity, str) and isinstance(r.second_activity, str)
       and r.first_activity and r.second_activity]
rules = sod + [r for r in defaults if not isinstance(r, compliance.SoDRule)]


def rule_checks() -> None:
    """Render the summary and the violations of every rule."""
    st.subheader("Summary")
    summary = state.load(compliance.compliance_summary, filters, rules)
    st.dataframe(summary, hide_index=True, column_config={
        "rate": st.column_config.NumberColumn("rate", format="percent")})
    st.caption("Cases checked are the cases a rule applies to: holding both activities (segregation of duties), at "
               "or above the amount (thresholds), or holding the later activity (orders).")
    st.subheader("Violations per rule")
    for rule, row in zip(rules, summary.itertuples(), strict=True):
        with st.expander(f"{rule.name}: {row.violations:,} of {row.cases_checked:,} cases", expanded=False):
            st.caption(rule.describe())
            found = state.load(compliance.check, filters, rule)
            if found.empty:
                st.caption("No violations.")
            else:
                st.dataframe(found.drop(columns="rule"), hide_index=True)


def conformance_check() -> None:
    """Render the conformance of every filtered case to a discovered or uploaded reference model."""
    st.subheader("Conformance to a reference model")
    cols = st.columns([2, 2, 1])
    source = cols[0].radio("Reference model", ["Discovered from these cases", "Upload BPMN or PNML"],
                           key="conf_source", horizontal=True)
    method = METHODS[cols[1].radio("Method", list(METHODS), key="conf_method", horizontal=True)]
    if source == "Discovered from these cases":
        noise = cols[2].slider("Noise", 0.0, 1.0, 0.2, 0.05, key="conf_noise",
                               help="Inductive miner noise threshold: higher leaves rare behaviour out of the model.")
        result = state.load(conformance_to_discovered, filters, noise, method)
        with st.expander("The reference model (BPMN)"):
            st.graphviz_chart(model_dot(state.load(reference_model, filters, noise), "bpmn"), width="content")
    else:
        upload = cols[2].file_uploader("Model", type=["bpmn", "pnml"], key="conf_upload")
        if upload is None:
            st.caption("Upload the organisation's reference model as BPMN 2.0 XML (.bpmn) or a Petri net (.pnml).")
            return
        try:
            result = state.load(conformance_to_file, filters, upload.getvalue(),
                                "bpmn" if upload.name.lower().endswith(".bpmn") else "pnml", method)
        except Exception as exc:  # noqa: BLE001 - any unreadable model is the user's file, shown as one line
            st.error(f"Cannot use {upload.name} as a model: {str(exc).splitlines()[0] if str(exc) else exc}")
            return
    metrics = st.columns(3)
    metrics[0].metric("Mean fitness", f"{result.fitness:.3f}")
    metrics[1].metric("Fitting cases", f"{result.fit_share:.1%}")
    metrics[2].metric("Cases", f"{len(result.cases):,}")
    st.altair_chart(alt.Chart(result.cases).mark_bar().encode(
        x=alt.X("fitness:Q", bin=alt.Bin(maxbins=20), title="Fitness of the case"),
        y=alt.Y("count():Q", title="Cases", scale=alt.Scale(type="symlog"))), width="stretch")
    if result.deviations.empty:
        st.success("Every case fits the model.", icon=":material/check_circle:")
    else:
        st.caption("Each deviation with the cases where it occurs. Alignments name the step: *skipped* (the model "
                   "needs it, the case lacks it) or *inserted* (the case has it where the model does not allow it).")
        st.dataframe(result.deviations.drop(columns=["case_ids"]), hide_index=True)
        pick = st.selectbox("Cases of the deviation", result.deviations["deviation"].tolist(), key="conf_pick")
        ids = result.deviations.set_index("deviation").loc[pick, "case_ids"]
        st.dataframe(pd.DataFrame({"case_id": list(ids)}), hide_index=True, height=200)
    st.download_button("Download fitness per case (CSV)", result.cases.to_csv(index=False), file_name=
                       f"{chosen}-conformance.csv", mime="text/csv", icon=":material/download:", key="conf_download")


if rules:
    rule_checks()
else:
    st.info("No rules for this process: add a pair of activities above.", icon=":material/rule:")
conformance_check()
