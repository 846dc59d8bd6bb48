# Two commands set everything up on a fresh machine: `make up` and `make test`.
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PROTO_OUT := adapters/pb

.PHONY: up test lint typecheck proto proto-check bench clean chromium fuzz
SUDO := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

up: $(STAMP)
	$(BIN)/truc up

test: $(STAMP) chromium
	$(BIN)/ruff check hub ledger adapters tests
	$(BIN)/mypy hub ledger adapters
	$(MAKE) --no-print-directory proto-check
	$(BIN)/pytest -q

lint: $(STAMP)
	$(BIN)/ruff check hub ledger adapters tests

typecheck: $(STAMP)
	$(BIN)/mypy hub ledger adapters

# Regenerate the protobuf/gRPC code from protos/ (one command, reproducible).
proto: $(STAMP)
	$(BIN)/python -m adapters.protogen $(PROTO_OUT)

# Fail when the committed generated code differs from what protos/ produces.
proto-check: $(STAMP)
	$(BIN)/python -m adapters.protogen --check $(PROTO_OUT)

# The dashboard end-to-end test drives headless Chromium (Debian package `chromium`).
# Idempotent; without apt-get nothing happens (browser tests skip locally, fail under CI=true).
chromium:
	@command -v chromium >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1 || \
	  { echo "installing chromium (dashboard browser test)"; \
	    $(SUDO) apt-get update -qq && \
	    $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

# Coverage-guided fuzzing, longer than the bounded runs in the test suite (FUZZ_RUNS each).
FUZZ_RUNS ?= 1000000
fuzz: $(STAMP)
	for h in tests/fuzz/fuzz_*.py; do \
	  $(BIN)/python -m tests.fuzz.$$(basename $$h .py) -runs=$(FUZZ_RUNS) -max_len=4096 -timeout=10 || exit 1; \
	done

bench: $(STAMP)
	$(BIN)/truc bench

clean:
	rm -rf $(VENV) var build *.egg-info
