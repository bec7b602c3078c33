# Set-up and checks. Each target creates its own virtual environment in .venv and installs what
# it needs, so `make demo` and `make test` work on a fresh machine.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test lint typecheck unit bench clean install-demo install-test

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

install-demo: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[demo]'

install-test: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	bash scripts/install-system-deps.sh

## demo: build real-photo data, profile a baseline, monitor two batches, print what was found
demo: install-demo
	$(BIN)/python -m visiondrift.demo --out demo-output

## test: lint, type-check and run every test (what CI runs)
test: install-test lint typecheck unit

lint:
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/ruff format --check src tests benchmarks scripts

typecheck:
	$(BIN)/mypy

unit:
	$(BIN)/python -m pytest --doctest-modules src tests

## bench: speed and memory benchmarks (see benchmarks/RESULTS.md)
bench: install-test
	$(BIN)/python benchmarks/profile_speed.py
	$(BIN)/python benchmarks/compare_speed.py
	$(BIN)/python benchmarks/model_speed.py
	$(BIN)/python benchmarks/detection.py

clean:
	rm -rf $(VENV) demo-output .pytest_cache .mypy_cache .ruff_cache
