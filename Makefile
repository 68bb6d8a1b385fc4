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

.PHONY: setup services run test lab report benchmarks bench mlflow-ui spark-cluster-test clean

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

# the suite, then the committed notebooks as a data scientist opens them (nbval: parameters-cell defaults,
# outputs/interactive-<params name>/; an error in any cell fails)
test: setup services
	$(PY) -m pytest -q tests notebooks --nbval-lax

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
	rm -rf outputs .pytest_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
