# The two commands: `make app` and `make test`. Everything else here is what they need.
# The first interpreter that runs and is 3.11 or 3.12 (a pyenv shim may exist without its version active).
PYTHON ?= $(shell for p in python3.11 python3.12 python3; do \
	$$p -c 'import sys; sys.exit(not (3, 11) <= sys.version_info[:2] <= (3, 12))' 2>/dev/null && { echo $$p; break; }; \
	done)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
WORKSPACE ?= data/workspace.duckdb
PORT ?= 8501

.PHONY: app test setup demo browser graphviz lint bench clean

app: setup demo
	@$(MAKE) --no-print-directory graphviz || echo "Graphviz not installed: the app runs, SVG/PNG export of maps is off"
	$(BIN)/twinflow app --workspace $(WORKSPACE) --port $(PORT)

test: setup browser graphviz
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

setup: $(STAMP)

$(STAMP): pyproject.toml
	@test -n "$(PYTHON)" || { echo "twinflow needs Python 3.11 or 3.12 (python3.11, python3.12 or python3)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

# The demo workspace is built once; `twinflow demo` is idempotent should it run again.
demo: setup
	@test -f $(WORKSPACE) || $(BIN)/twinflow demo --workspace $(WORKSPACE)

# The end-to-end test drives Debian's chromium through Playwright (no browser download).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

# Graphviz's dot lays out the SVG and PNG exports of maps (the app itself renders maps in the browser).
graphviz:
	@command -v dot >/dev/null 2>&1 || { \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq graphviz >/dev/null; }

lint: setup
	$(BIN)/ruff check .

# The import bench, the mining bench at 1M events (a few minutes), the conformance bench at 1M events, then the
# simulation bench on the three start-and-end logs of data/real (about a minute), then the twin on the five
# end-time-only logs against the previous version, and the engine against an earlier engine on the same models (a
# minute); the README's 5M mining figures:
# make bench MINING_EVENTS="1000000 5000000" (pm4py needs ~10 GB and several minutes at 5M). Every page on a
# 10M-event workspace: .venv/bin/python bench/pages_bench.py (about 10 minutes, 1.3 GB of CSV on the way).
MINING_EVENTS ?= 1000000
bench: setup
	$(BIN)/python bench/import_bench.py
	$(BIN)/python bench/mining_bench.py --events $(MINING_EVENTS)
	$(BIN)/python bench/conformance_bench.py --events 1000000 --repeat 3
	$(BIN)/python bench/simulation_bench.py
	$(BIN)/python bench/twin_logs_bench.py
	$(BIN)/python bench/engine_speed.py --base fd3033f

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
