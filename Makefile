# The two commands of the README: `make reproduce` and `make test`.
# Each creates the local virtual environment .venv on first use and
# reinstalls the package whenever pyproject.toml changes.
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed

.PHONY: reproduce quick test test-slow lint bench clean

$(STAMP): pyproject.toml
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip
	$(VENV)/bin/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

reproduce: $(STAMP)
	$(VENV)/bin/natural-tasks reproduce --profile standard

quick: $(STAMP)
	$(VENV)/bin/natural-tasks reproduce --profile quick --figures build/figures-quick

test: $(STAMP)
	HYPOTHESIS_PROFILE=ci $(VENV)/bin/python -m pytest

test-slow: $(STAMP)
	HYPOTHESIS_PROFILE=ci $(VENV)/bin/python -m pytest -m slow

lint: $(STAMP)
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .

bench: $(STAMP)
	$(VENV)/bin/python benchmarks/bench.py

clean:
	rm -rf $(VENV) build results
