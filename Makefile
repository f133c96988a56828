# Doorstep's two commands: `make run` (a working server with demo data) and `make test`.
# Needs only Python 3.11+ (set PYTHON=python3.12 to pick another interpreter); `make test`
# also needs PostgreSQL and Redis, see README.md.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# Rebuilt whenever the declared dependencies or their pins change.
STAMP := $(VENV)/.doorstep-installed
PYTEST_ARGS ?=
# Test processes: the suite is mostly waiting on PostgreSQL, Redis and subprocesses, and
# each process has its own test database and Redis prefix.
PYTEST_WORKERS ?= 2
# make bench BENCH="http --label after": one benchmark, with its options.
BENCH ?=

.DEFAULT_GOAL := help
.PHONY: help run test lint fmt bench clean

help:
	@echo "make run     set up .venv, migrate, seed the demo, serve the API and a worker"
	@echo "make test    set up .venv, then format check, lint, mypy, import layers, schema check, pytest"
	@echo "make lint    the checks without pytest"
	@echo "make fmt     format the code and apply safe lint fixes"
	@echo "make bench   run the benchmarks (python -m bench)"
	@echo "make clean   remove .venv and caches (var/ keeps your dev database)"

$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; v = sys.version_info; sys.exit(0 if v >= (3, 11) else "Doorstep needs Python 3.11 or newer; this is %d.%d. Run: make PYTHON=python3.11 ..." % v[:2])'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	@touch $@

run: $(STAMP)
	$(BIN)/doorstep dev

lint: $(STAMP)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/doorstep export-schema --check

test: lint
	$(BIN)/pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

fmt: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP)
	$(BIN)/python -m bench $(BENCH)

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache *.egg-info
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
