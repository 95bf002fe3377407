# `make run` installs everything into .venv and opens the app; `make test` installs and runs the tests.
VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
# On Linux PyPI's torch wheel carries CUDA; this machine's pip serves the CPU build from disk.
TORCH_SPEC ?= torch==2.13.0

.PHONY: install run test lint bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q "$(TORCH_SPEC)"
	$(PY) -m pip install -q -e ".[test,audit,team]"
	touch $@

install: $(VENV)/.installed

# team: psycopg, for the shared-store tests against a real PostgreSQL server (.ci/run installs the server)
# the tests also run the Spark engine for real (pyspark; Java 17 or 21, which .ci/run installs when missing)
$(VENV)/.spark: $(VENV)/.installed
	$(PY) -m pip install -q -e ".[test,spark]"
	touch $@

run: install
	$(VENV)/bin/moderator-app

TEST_ENV := QT_QPA_PLATFORM=offscreen HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1

# The whole suite with this CPU's own answer to "native bf16?", then the precision-sensitive tests with
# the answer forced both ways (MODERATOR_APP_CPU_BF16), so that a machine of either kind checks both paths.
test: install $(VENV)/.spark
	$(TEST_ENV) $(PY) -m pytest -q
	$(TEST_ENV) $(PY) -m pytest -q -m precision --cpu-bf16=on
	$(TEST_ENV) $(PY) -m pytest -q -m precision --cpu-bf16=off

# the layer contracts of pyproject.toml: core imports no Qt and no front end; the GUI no CLI; core's layers
# import one way and no module of core imports itself back (a cycle, also inside a sub-package)
lint: install
	$(VENV)/bin/lint-imports

bench: install
	$(PY) -m pip install -q -e ".[test,audit,bench]"

clean:
	rm -rf $(VENV) build dist *.egg-info
