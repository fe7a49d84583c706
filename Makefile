# Two commands matter: `make run` and `make test`. Both create .venv from the lock file first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
UV_VERSION := 0.13.8
STAMP  := $(VENV)/.installed

.PHONY: run test lint typecheck unit validate-quick validate replays bench lock clean venv

venv: $(STAMP)

# The environment is rebuilt whenever the lock or the project metadata changes.
$(STAMP): requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	$(BIN)/uv pip install --quiet --python $(BIN)/python -r requirements.lock
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .
	touch $(STAMP)

# Main job on embedded defaults (local Ray, SQLite, local Zarr under data/): the three replays, then the
# service demo: start `riskengine serve`, create a demo key, submit the smoke study over HTTP, wait, print
# its table and the API docs URL, stop the service.
run: $(STAMP)
	$(BIN)/riskengine replay nominal
	$(BIN)/riskengine replay m1
	$(BIN)/riskengine replay m2
	$(BIN)/python -m api.demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/python -m pytest

# The quick validation report; its statistical checks are asserted by tests/validation (they can fail).
validate-quick: $(STAMP)
	$(BIN)/riskengine validate --quick --out out/validation-quick

validate: $(STAMP)
	$(BIN)/riskengine validate --out out/validation

test: lint typecheck unit

replays: $(STAMP)
	for r in nominal m1 m2; do $(BIN)/riskengine replay $$r --json; done

bench: $(STAMP)
	$(BIN)/python -m bench

# Regenerate the pinned lock (needs network); commit the result.
lock:
	$(BIN)/uv pip compile pyproject.toml --extra dev --python-version 3.11 -o requirements.lock

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
