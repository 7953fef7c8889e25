# The README's two commands: `make run` and `make test`. Everything installs into .venv.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8080

.PHONY: run test check install bench bench-load clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is required"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

install: $(VENV)/.installed

run: install
	$(BIN)/fhir-server serve --host $(HOST) --port $(PORT)

check: install
	PATH="$(CURDIR)/$(BIN):$$PATH" scripts/check

test: install
	PATH="$(CURDIR)/$(BIN):$$PATH" scripts/check
	PATH="$(CURDIR)/$(BIN):$$PATH" scripts/test

bench: install
	$(BIN)/python bench/rest_bench.py

bench-load: install
	$(BIN)/python bench/fhir_load_report.py

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
