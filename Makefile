# Solveloop: `make demo` serves the portal with demo content; `make test` runs the suite.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: install demo serve test test-sqlite test-postgres lint lock browser translations clean bench bench-desk

$(STAMP): requirements.lock pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) is required"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --require-hashes -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	touch $(STAMP)

install: $(STAMP) translations

translations: $(STAMP)
	$(BIN)/pybabel compile -f -d portal/translations >/dev/null

demo: install
	$(BIN)/solveloop --instance instance demo
	$(BIN)/solveloop --instance instance serve --host $(HOST) --port $(PORT)

serve: install
	$(BIN)/solveloop --instance instance serve --host $(HOST) --port $(PORT)

# Debian's Chromium for the browser tests; installed once, as the project's own step.
browser:
	@command -v chromium >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium >/dev/null; \
	  else sudo apt-get update -qq && sudo apt-get install -y -qq chromium >/dev/null; fi; }

# The suite on SQLite; then again on PostgreSQL when SOLVELOOP_TEST_DATABASE_URL names a
# server (CI sets it), without the browser tests, which do not depend on the database.
test: install browser
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	SOLVELOOP_TEST_DATABASE_URL= SOLVELOOP_DATABASE_URL= $(BIN)/pytest -n 2 $(PYTEST_ARGS)
	@if [ -n "$$SOLVELOOP_TEST_DATABASE_URL" ]; then \
	  echo "== again on $$SOLVELOOP_TEST_DATABASE_URL"; \
	  $(BIN)/pytest -n 2 -m "not browser" $(PYTEST_ARGS); fi

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# Speed at 20k and 100k generated articles (issue 3); BENCH_SIZES=2000,20000 for a quick check.
# Writes benchmarks/results/*.json and docs/performance.md.
BENCH_SIZES ?= 20000,100000
bench: install
	$(BIN)/python -m benchmarks.run --sizes $(BENCH_SIZES)
	$(BIN)/python -m benchmarks.redaction
	$(BIN)/python -m benchmarks.rendering

# Service-desk speed (issue 14): the queue, the ticket page and 50 concurrent users at 100k
# and 1M generated tickets (DESK_SIZES=20000 for a quick check; DESK_DATABASE_URL for
# PostgreSQL), the SLA sweep over 100k open tickets, and mail intake (throughput and the
# kill -9 drill). Writes benchmarks/results/desk-*.json and docs/performance.md.
DESK_SIZES ?= 100000,1000000
bench-desk: install
	DESK_SIZES=$(DESK_SIZES) $(BIN)/python -m benchmarks.desk
	$(BIN)/python -m benchmarks.desk_sweep
	$(BIN)/python -m benchmarks.desk_mail

lock:
	$(PYTHON) -m venv .lockenv && .lockenv/bin/pip install --quiet uv
	.lockenv/bin/uv pip compile pyproject.toml --extra dev --generate-hashes --python-version 3.11 -o requirements.lock
	rm -rf .lockenv

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache
