# hushdb — every target creates .venv and installs the project when needed.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PY_SRC := core policies audit api
# axe-core (npm) for the console's accessibility scan, pinned in the lock file; see axe-core below.
AXE_LOCK := tests/console/axe-core.lock
AXE_DIR := $(VENV)/axe-core-$(shell sed -n 's/^version=//p' $(AXE_LOCK))

.PHONY: demo test lint serve bench clean install axe-core

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "error: $(PYTHON) not found (set PYTHON=/path/to/python3.11)"; exit 2; }
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@# pip compiles the dependencies' bytecode; an editable install leaves ours to each run, which
	@# with PYTHONDONTWRITEBYTECODE set compiles hushdb's modules again at every start (issue 16).
	$(BIN)/python -m compileall -q $(PY_SRC)
	@touch $(STAMP)

install: $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy --strict $(PY_SRC)

# Fetched with `npm pack` and checked against the lock's integrity; without npm the scan
# skips with a message (an error when CI is set).  Never downloaded while the tests run.
axe-core: $(STAMP)
	@sh tests/console/fetch_axe_core.sh $(AXE_LOCK) $(AXE_DIR) $(BIN)/python

test: lint axe-core
	HUSHDB_AXE_CORE=$(abspath $(AXE_DIR))/package/axe.min.js HUSHDB_TEST_ARTIFACTS=$(abspath test-artifacts) \
		$(BIN)/pytest -n 2 --dist loadgroup -q

demo: $(STAMP)
	$(BIN)/python -m api.demo

serve: $(STAMP)
	$(BIN)/hushdb serve --host 127.0.0.1 --port 8000

bench: $(STAMP)
	@set -e; for b in bench/store.py bench/governed.py bench/audit.py bench/pii.py bench/export.py bench/profiling.py bench/api.py bench/console.py bench/keys.py bench/cli_startup.py; do \
		if [ -f $$b ]; then echo "== $$b"; $(BIN)/python $$b $(BENCH_ARGS); fi; \
	done

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
