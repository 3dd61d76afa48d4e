# Two commands for learners and teachers:  make lab  and  make test.
# Both create the virtual environment .venv when it is missing (plain venv + pip).

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
ARGS   ?=

NBVAL_FLAGS := --nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg \
               --nbval-cell-timeout=60

.PHONY: help venv lab test lint unit notebooks execute clean

help:
	@echo "make lab       set up .venv if needed, then open JupyterLab on notebooks/ (ARGS=... passes options)"
	@echo "make test      set up .venv if needed, then run ruff, the unit tests and every notebook (strict nbval)"
	@echo "make execute   re-run every notebook in place (Restart & Run All) to regenerate stored outputs"
	@echo "make clean     remove .venv and caches"
	@echo "PYTHON=python3.12 make test   uses another interpreter (the venv is rebuilt for it)"

# Rebuild the venv when it is missing or was made with another interpreter.
venv:
	@want=$$($(PYTHON) -c 'import sys; print(sys.version)') || { echo "error: $(PYTHON) not found"; exit 1; }; \
	have=$$($(BIN)/python -c 'import sys; print(sys.version)' 2>/dev/null); \
	if [ "$$want" != "$$have" ]; then \
		echo "Creating $(VENV) with $(PYTHON) ($$(echo $$want | cut -d' ' -f1))"; \
		rm -rf $(VENV) && $(PYTHON) -m venv $(VENV) || exit 1; \
	fi
	@$(MAKE) --no-print-directory $(STAMP)

# Reinstall only when pyproject.toml changed since the last install.
$(STAMP): pyproject.toml
	$(BIN)/python -m pip install --quiet -e ".[test]"
	@touch $(STAMP)

lab: venv
	$(BIN)/jupyter lab notebooks/ $(ARGS)

test: venv
	$(BIN)/ruff check ipc_helpers tests tools benchmarks notebooks
	$(BIN)/python -m pytest $(NBVAL_FLAGS) $(ARGS)

# Quicker loops for authors.
unit: venv
	$(BIN)/python -m pytest tests $(ARGS)

notebooks: venv
	$(BIN)/python -m pytest $(NBVAL_FLAGS) notebooks $(ARGS)

execute: venv
	$(BIN)/python tools/execute_notebooks.py $(ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache build *.egg-info
