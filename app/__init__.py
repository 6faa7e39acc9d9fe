"""twinflow app: the Streamlit interface and the command line."""
