# Two commands for learners and teachers:  make lab  and  make test.
# Both create the virtual environment .venv when it is missing (plain venv + pip).

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
ARGS   ?=
# Exact versions CI used (make lock refreshes them); CONSTRAINTS= installs the newest within the ranges.
CONSTRAINTS ?= constraints.txt
PIP_C  := $(if $(wildcard $(CONSTRAINTS)),-c $(CONSTRAINTS))

NBVAL_FLAGS := --nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg \
               --nbval-cell-timeout=60

.PHONY: help venv lab test lint unit notebooks execute clean

help:
	@echo "make lab       set up .venv if needed, refresh your copies in workspace/, then open JupyterLab there (ARGS=... passes options)"
	@echo "make workspace make or refresh your copies of the chapters in workspace/ (RESET=04: a fresh copy of chapter 04)"
	@echo "make test      set up .venv if needed, then run ruff, the unit tests and every notebook (strict nbval)"
	@echo "make test-all  run the whole suite on each Python 3.10-3.13 found (PATH or pyenv), each in .venv-3.X"
	@echo "make test-browser  open every notebook in real JupyterLab in headless Chromium and check the widgets (needs chromium)"
	@echo "make assignments  release the graded assignments (nbgrader generate_assignment) into docs/assignments/release/"
	@echo "make test-course  the nbgrader round trip: release up to date, solutions full marks, release 0, wrong answers"
	@echo "make lock      write the exact versions installed in .venv (all extras) to constraints.txt, which make test installs"
	@echo "make test-latest  make test in a fresh .venv-latest with the newest versions the ranges in pyproject.toml allow"
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
$(STAMP): pyproject.toml $(wildcard $(CONSTRAINTS))
	$(BIN)/python -m pip install --quiet -e ".[test]" $(PIP_C)
	@touch $(STAMP)

# JupyterLab refuses to run as root unless told to (containers and CI machines often are root).
ROOT_FLAG := $(if $(filter 0,$(shell id -u 2>/dev/null)),--allow-root)

lab: workspace
	$(BIN)/jupyter lab $(WORKSPACE)/ $(ROOT_FLAG) $(ARGS)

# Learners work in their own copies (git-ignored): outputs cleared, never overwritten once edited.
# RESET=04 gives a fresh copy of chapter 04 and keeps yours as 04-....yours-1.ipynb.
# EDITION=zh_CN copies a language edition (notebooks/zh_CN/) to workspace/zh_CN/.
.PHONY: workspace
WORKSPACE := workspace$(if $(EDITION),/$(EDITION))
workspace: venv
	$(BIN)/python tools/workspace.py --dest $(WORKSPACE) $(if $(EDITION),--lang $(EDITION)) $(if $(RESET),--reset $(RESET))

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

$(BROWSER_STAMP): pyproject.toml $(wildcard $(CONSTRAINTS))
	$(BIN)/python -m pip install --quiet -e ".[test,browser]" $(PIP_C)
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

# The course kit (issue 11): graded assignments with nbgrader, only for teachers ("course" extra).
COURSE_STAMP := $(VENV)/.installed-course
.PHONY: assignments test-course

$(COURSE_STAMP): pyproject.toml $(wildcard $(CONSTRAINTS))
	$(BIN)/python -m pip install --quiet -e ".[test,course]" $(PIP_C)
	@touch $(COURSE_STAMP)

assignments: venv
	@$(MAKE) --no-print-directory $(COURSE_STAMP)
	$(BIN)/python tools/course.py release

test-course: venv
	@$(MAKE) --no-print-directory $(COURSE_STAMP)
	$(BIN)/python -m pytest tests/course tests/test_assignments_release.py $(ARGS)

# Reproducible in a year (issue 11): make test installs the exact versions of constraints.txt.
# make lock installs every extra into .venv (newest within the ranges for what is missing) and
# writes what is installed, as the section of .venv's Python (PYTHON=python3.12 make lock adds
# another); make test-latest runs the suite with the newest versions instead.
.PHONY: lock test-latest
lock: venv
	$(BIN)/python -m pip install --quiet -e ".[test,browser,course]"
	$(BIN)/python tools/lock.py $(BIN)/python constraints.txt
	@echo "now run make test, make test-browser and make test-course, then commit constraints.txt"

test-latest:
	rm -rf .venv-latest
	$(MAKE) --no-print-directory test VENV=.venv-latest CONSTRAINTS= PYTHON=$(PYTHON)
