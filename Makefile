# Two commands set everything up on a fresh machine: `make up` and `make test`.
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PROTO_OUT := adapters/pb

.PHONY: up test lint typecheck proto proto-check bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

up: $(STAMP)
	$(BIN)/truc up

test: $(STAMP)
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

clean:
	rm -rf $(VENV) var build *.egg-info
