# Two commands on a fresh machine: `make demo` and `make test`. Both build .venv
# from nothing with the system python3, pip and gcc; nothing else is assumed.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: demo test lint typecheck pytest bench generate clean

$(STAMP): pyproject.toml setup.py driver/bson/_cbson.c
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m tools.demo

test: lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff check driver odm tests tools examples

typecheck: $(STAMP)
	$(BIN)/mypy --strict driver odm tests/typing/odm_api.py

pytest: $(STAMP)
	$(BIN)/pytest

# Regenerate every _sync/ twin from its _async/ source (tests fail on any difference).
generate: $(STAMP)
	$(BIN)/python -m tools.unasync

# The benchmarks also measure peer ODMs (Beanie, ODMantic, MongoEngine): the `bench`
# extra, installed once beside `dev` (again when pyproject.toml changes).
$(VENV)/.bench-stamp: $(STAMP) pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	touch $@

bench: $(VENV)/.bench-stamp
	$(BIN)/python -m tests.benchmarks

clean:
	rm -rf $(VENV) build *.egg-info .mypy_cache .pytest_cache .ruff_cache .hypothesis
