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
	@echo "make test-all  run the whole suite on each Python 3.10-3.13 found (PATH or pyenv), each in .venv-3.X"
	@echo "make test-browser  open every notebook in real JupyterLab in headless Chromium and check the widgets (needs chromium)"
	@echo "make test-hub  (root) a real JupyterHub with Unix students: chapters through their servers, isolation, load"
	@echo "make execute   re-run every notebook in place (Restart & Run All) to regenerate stored outputs"
	@echo "make clean     remove .venv and caches"
	@echo "PYTHON=python3.12 make test   uses another interpreter (the venv is rebuilt for it)"

# Create the venv when it is missing; rebuild it when PYTHON=... names another interpreter
# than the one it was made with (without PYTHON=..., an existing working venv is kept).
PYTHON_GIVEN := $(if $(filter file,$(origin PYTHON)),,yes)

venv:
	@have=$$($(BIN)/python -c 'import sys; print(sys.version)' 2>/dev/null); \
	if [ -n "$$have" ] && [ -z "$(PYTHON_GIVEN)" ]; then want="$$have"; else \
	want=$$($(PYTHON) -c 'import sys; print(sys.version)') || { echo "error: $(PYTHON) not found"; exit 1; }; fi; \
	if [ "$$want" != "$$have" ]; then \
		echo "Creating $(VENV) with $(PYTHON) ($$(echo $$want | cut -d' ' -f1))"; \
		rm -rf $(VENV) && $(PYTHON) -m venv $(VENV) || exit 1; \
	fi
	@$(MAKE) --no-print-directory $(STAMP)

# Reinstall only when pyproject.toml changed since the last install.
$(STAMP): pyproject.toml
	$(BIN)/python -m pip install --quiet -e ".[test]"
	@touch $(STAMP)

# JupyterLab refuses to run as root unless told to (containers and CI machines often are root).
ROOT_FLAG := $(if $(filter 0,$(shell id -u 2>/dev/null)),--allow-root)

lab: venv
	$(BIN)/jupyter lab notebooks/ $(ROOT_FLAG) $(ARGS)

test: venv
	$(BIN)/ruff check ipc_helpers tests tools benchmarks notebooks
	$(BIN)/python -m pytest $(NBVAL_FLAGS) $(ARGS)

# Every supported Python that is installed, each in its own .venv-3.X; one summary line per version.
# ARGS are passed to pytest; VERSIONS=3.11,3.13 limits the versions.
.PHONY: test-all
test-all:
	$(PYTHON) tools/test_all.py $(if $(VERSIONS),--versions $(VERSIONS)) $(if $(ARGS),-- $(ARGS))

# Quicker loops for authors.
unit: venv
	$(BIN)/python -m pytest tests $(ARGS)

# The hygiene tests come along so that tests/conftest.py (own TMPDIR, leftover check) is loaded.
notebooks: venv
	$(BIN)/python -m pytest $(NBVAL_FLAGS) tests/test_notebook_hygiene.py notebooks $(ARGS)

execute: venv
	$(BIN)/python tools/execute_notebooks.py $(ARGS)

# Real JupyterLab in headless Chromium (Debian's chromium package, driven by Playwright;
# no browser download). Needs the "browser" extra, installed once with its own stamp.
BROWSER_STAMP := $(VENV)/.installed-browser
.PHONY: test-browser

$(BROWSER_STAMP): pyproject.toml
	$(BIN)/python -m pip install --quiet -e ".[test,browser]"
	@touch $(BROWSER_STAMP)

test-browser: venv
	@$(MAKE) --no-print-directory $(BROWSER_STAMP)
	@chromium="$${CHROMIUM:-$$(if [ -x /usr/bin/chromium ]; then echo /usr/bin/chromium; else command -v chromium; fi)}"; \
	if [ -z "$$chromium" ] || [ ! -x "$$chromium" ]; then \
		echo "make test-browser needs the Chromium browser and did not find it ($${CHROMIUM:+CHROMIUM=$$CHROMIUM, }/usr/bin/chromium, chromium on PATH)."; \
		echo "  Debian:     sudo apt-get install chromium"; \
		echo "  elsewhere:  install Chromium or Google Chrome, then  CHROMIUM=/path/to/the/browser make test-browser"; \
		echo "Playwright's own browser download is not used. make test does not need a browser."; \
		exit 1; \
	fi; \
	CHROMIUM="$$chromium" $(BIN)/python -m pytest tests/browser $(ARGS)

clean:
	rm -rf $(VENV) .venv-3.* .pytest_cache .ruff_cache build *.egg-info screenshots

# A class on one machine (issue 12): a real JupyterHub, real Unix students ipcstuNN, chapters run
# through their own servers, isolation and load tests. Needs root (it creates users; CI is root).
# The hub's environment is built from a *system* Python outside /root (students must read it).
# STUDENTS=3 run chapters 04 and 06 and the isolation tests; LOAD=N students run 04-08 at once.
HUB_PYTHON ?= /usr/bin/python3
HUB_DIR    ?= /opt/ipc-tutorial-hub
STUDENTS   ?= 3
LOAD       ?= 3
HUB_TESTS  ?= tests/hub
.PHONY: test-hub test-hub-clean

test-hub:
	@if [ "$$(id -u)" != 0 ]; then \
		echo "make test-hub: SKIPPED: it creates Unix users and runs servers as them, so it needs root (sudo make test-hub)"; \
		exit 0; fi
	@sh tools/hub_env.sh "$(HUB_PYTHON)" "$(HUB_DIR)"
	nice -n 10 $(HUB_DIR)/venv/bin/python -m pytest $(HUB_TESTS) --timeout=3600 \
		--hub-venv $(HUB_DIR)/venv --hub-proxy $(HUB_DIR)/proxy/node_modules/.bin/configurable-http-proxy \
		--hub-students $(STUDENTS) --hub-load $(LOAD) $(ARGS)

# Remove what a crashed hub test left (ipcstuNN users, homes, processes, files in /tmp, the hub).
test-hub-clean:
	$(HUB_DIR)/venv/bin/python tests/hub/hubkit.py --sweep $(HUB_DIR)/state
