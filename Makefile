# Everything a fresh machine with Python 3 and pip needs: `make demo`, `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test,plot]"
	touch $@

.PHONY: demo test bench-quick examples docs
demo: $(BIN)/.installed
	$(BIN)/python -m sklearn_pc demo

test: $(BIN)/.installed
	$(BIN)/python -m pytest

bench-quick: $(BIN)/.installed
	$(BIN)/python benchmarks/bench_classifier.py --quick
	$(BIN)/python benchmarks/reproduce_pc_decay.py --quick
	$(BIN)/python benchmarks/reproduce_ngc.py --quick
	$(BIN)/python benchmarks/compare_autoencoders.py --quick
	$(BIN)/python benchmarks/complete_digits.py --quick
	$(BIN)/python benchmarks/ablate_ngc.py --quick
	$(BIN)/python benchmarks/bench_core.py --quick
	$(BIN)/python benchmarks/bench_accelerator.py --quick
	$(BIN)/python benchmarks/bench_peers.py --quick --skip-peers
	$(BIN)/python benchmarks/bench_generation.py --quick
	$(BIN)/python benchmarks/classify_generate_front.py --quick
	$(BIN)/python benchmarks/pc_regime.py --quick
	$(BIN)/python benchmarks/probe_settling.py --quick
	$(BIN)/python benchmarks/probe_settling.py --quick --model pdh --no-lateral
	$(BIN)/python benchmarks/check_defaults.py --quick

examples: $(BIN)/.installed
	mkdir -p build/examples
	for script in examples/*.py; do \
		$(BIN)/python $$script --output build/examples/$$(basename $$script .py).png || exit 1; \
	done

docs: $(BIN)/.installed
	$(BIN)/python -m pip install --quiet -e ".[docs]"
	$(BIN)/python -m sphinx -W --keep-going -b html docs docs/_build/html
