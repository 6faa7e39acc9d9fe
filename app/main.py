"""Streamlit entry point (`twinflow app`): page config, the page menu and the workspace switcher."""

from __future__ import annotations

import streamlit as st

from app.state import workspace_switcher
from app.views import PAGES


def main() -> None:
    """Show the page the menu points at (returns nothing: Streamlit renders)."""
    st.set_page_config(page_title="twinflow", page_icon=":material/account_tree:", layout="wide")
    sections: dict[str, list[st.Page]] = {}
    for spec in PAGES:
        sections.setdefault(spec.section, []).append(
            st.Page(spec.path, title=spec.title, icon=spec.icon, url_path=spec.url_path, default=spec.default))
    page = st.navigation(sections)
    workspace_switcher()
    page.run()


# Streamlit runs this file as __main__; the Scenario lab's worker processes (forkserver/spawn) import it again as
# __mp_main__, where it must not render the app.
if __name__ == "__main__":
    main()
