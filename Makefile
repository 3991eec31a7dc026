# Everything a fresh machine with Python 3 and pip needs: `make demo`, `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@

.PHONY: demo test bench-quick
demo: $(BIN)/.installed
	$(BIN)/python -m sklearn_pc demo

test: $(BIN)/.installed
	$(BIN)/python -m pytest

bench-quick: $(BIN)/.installed
	$(BIN)/python benchmarks/bench_classifier.py --quick
