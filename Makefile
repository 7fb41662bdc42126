# One target per habit. `make demo` and `make test` work from a fresh clone.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
PLUGIN_PROJECTS := $(wildcard plugins/*/pyproject.toml)
PLUGIN_DIRS := $(patsubst %/pyproject.toml,%,$(PLUGIN_PROJECTS))
STAMP := $(VENV)/.socialkit-installed
PYTEST_ARGS ?=

.PHONY: install demo test lint typecheck pytest bench docs format clean

# The core first, then every plugin with --no-deps: a plugin's dependency on
# socialkit-engine is satisfied by the checkout, never by an index.
$(STAMP): pyproject.toml $(PLUGIN_PROJECTS)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev,postgres,docs,bench]'
	@for dir in $(PLUGIN_DIRS); do \
		echo "installing plugin $$dir"; \
		$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e $$dir || exit 1; \
	done
	@touch $@

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/socialkit demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy --strict src/

pytest: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test: lint typecheck pytest

bench: $(STAMP)
	@failed=""; for script in benchmarks/*.py; do echo "== $$script"; \
		$(BIN)/python $$script || failed="$$failed $$script"; done; \
	if [ -n "$$failed" ]; then echo "failed:$$failed"; exit 1; fi

docs: $(STAMP)
	$(BIN)/mkdocs build --strict

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) site .mypy_cache .ruff_cache .pytest_cache socialkit-demo
