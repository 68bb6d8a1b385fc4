# workbench: `make run` and `make test` do everything on a fresh machine with Python 3.11.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PARAMS ?= params/default.yaml
NAME   ?= $(basename $(notdir $(PARAMS)))
SIZES  ?= 10000 100000 1000000
ENGINE ?= pandas
REPEATS ?= 3
STAMP  := $(VENV)/.installed

.PHONY: setup services run test docs fuzz lab report benchmarks bench mlflow-ui spark-cluster-test clean

setup: $(STAMP)

# (re)install only when the project's dependencies changed
$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: setup
	$(PY) -m workbench run --params $(PARAMS)

# the real components the tests use (database, browser, ...): each scripts/setup-*.sh installs and starts one,
# idempotently, and returns at once when it is already there
services:
	@for script in scripts/setup-*.sh; do [ -e "$$script" ] || continue; bash "$$script" || exit 1; done

# the suite, and the committed notebooks as a data scientist opens them (nbval: parameters-cell defaults,
# outputs/interactive-<params name>/; an error in any cell fails). TEST_WORKERS processes share them
# (pytest-xdist; tests/conftest.py:process_scope keeps what must stay together in one process, the notebooks' cells
# among them, in order, each notebook in one kernel; 0 runs it all in this one)
TEST_WORKERS ?= auto
test: setup services
	$(PY) -m pytest -q tests notebooks --nbval-lax -n $(TEST_WORKERS) --dist loadscope

# whole-run fuzzing: FUZZ_EXAMPLES small shops drawn over the space of shapes (tests/fuzz), each run through
# the command line; every run ends in results or a stated reason, or stops at load naming a rule. `make test`
# runs one drawn shop and one with every table (the same every time); FUZZ_SEED draws another sequence;
# FUZZ_LOG gets one JSON line per shop (shape, outcome, seconds)
FUZZ_EXAMPLES ?= 500
FUZZ_LOG ?= outputs/fuzz.jsonl
fuzz: setup
	mkdir -p $(dir $(FUZZ_LOG))
	FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) FUZZ_LOG=$(FUZZ_LOG) FUZZ_SEED=$(FUZZ_SEED) $(PY) -m pytest -q tests/fuzz -p no:cacheprovider

# the documentation site, strictly (a warning, a broken link or a missing page fails), into site/; offline. The
# gallery and the results page show the run in DOCS_RUN (outputs/default after `make run`; without it the
# gallery says how to make one); `make test` builds it too, from its own default run (tests/test_docs.py)
DOCS_RUN ?= outputs/default
docs: setup
	WORKBENCH_DOCS_RUN=$(DOCS_RUN) NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --site-dir site

lab: setup
	$(VENV)/bin/jupyter lab notebooks/

# the MLflow UI over the runs tracked in outputs/ (http://127.0.0.1:$(MLFLOW_PORT))
MLFLOW_PORT ?= 5000
mlflow-ui: setup
	mkdir -p outputs/mlflow
	$(VENV)/bin/mlflow ui --backend-store-uri sqlite:///$(CURDIR)/outputs/mlflow/mlflow.db --host 127.0.0.1 \
		--port $(MLFLOW_PORT) --workers 1

report: setup
	$(PY) -m workbench.report.render outputs/$(NAME)

benchmarks: setup
	$(PY) -m workbench.benchmarks

# ENGINE=spark adds the Spark engine's stage table beside pandas' (same shops, same invocation)
bench: setup
	$(PY) -m workbench bench --sizes "$(SIZES)" --engine $(ENGINE) --repeats $(REPEATS)

# a standalone Spark cluster on this machine (a master and two workers started with pyspark's bin/spark-class),
# the batch submitted to it, its artifacts checked, the daemons stopped (also part of `make test`)
spark-cluster-test: setup services
	$(PY) -m pytest -q tests/spark/test_cluster.py

clean:
	rm -rf outputs site .pytest_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
