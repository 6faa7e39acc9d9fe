"""Compliance page: segregation of duties, approval thresholds and forbidden orders, per rule with its cases."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app import state
from app.filters import sidebar_filters
from mining import compliance

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
if not rules:
    st.info("No rules for this process: add a pair of activities above.", icon=":material/rule:")
    st.stop()

st.subheader("Summary")
summary = state.load(compliance.compliance_summary, filters, rules)
st.dataframe(summary, hide_index=True, column_config={
    "rate": st.column_config.NumberColumn("rate", format="percent")})
st.caption("Cases checked are the cases a rule applies to: holding both activities (segregation of duties), at or "
           "above the amount (thresholds), or holding the later activity (orders).")

st.subheader("Violations per rule")
for rule, row in zip(rules, summary.itertuples(), strict=True):
    with st.expander(f"{rule.name}: {row.violations:,} of {row.cases_checked:,} cases", expanded=False):
        st.caption(rule.describe())
        found = state.load(compliance.check, filters, rule)
        if found.empty:
            st.caption("No violations.")
        else:
            st.dataframe(found.drop(columns="rule"), hide_index=True)
