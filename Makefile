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
	@echo "make site      build the course website from the stored outputs into build/site/html (no network once set up)"
	@echo "make test-site build the site, then check every page in headless Chromium (needs chromium)"
	@echo "make test-hub  (root) a real JupyterHub with Unix students: chapters through their servers, isolation, load"
	@echo "make execute   re-run every notebook in place (Restart & Run All) to regenerate stored outputs"
	@echo "make lab-zh    JupyterLab in Chinese on the Chinese chapters; make zh / make translations: see the Makefile"
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
	$(BIN)/ruff check ipc_helpers tests tools benchmarks notebooks docs/assignments
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
	$(BIN)/python -m pip install --quiet -e ".[test,browser,zh]" $(PIP_C)
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

# ---- The course website (make site, make test-site) ------------------------------------------
# Sphinx + MyST-NB + Sphinx Book Theme from the "site" extra (Python >= 3.11), installed once with
# its own stamp. tools/build_site.py fetches mermaid.min.js once with npm (pinned version, checked
# checksum) into build/site-vendor/, then builds build/site/html from the stored outputs with
# warnings as errors; the build itself never downloads. test-site checks every page in Chromium.
SITE_STAMP := $(VENV)/.installed-site
.PHONY: site test-site

$(SITE_STAMP): pyproject.toml
	$(BIN)/python -m pip install --quiet -e ".[test,site]"
	@touch $(SITE_STAMP)

site: venv
	@$(MAKE) --no-print-directory $(SITE_STAMP)
	$(BIN)/python tools/build_site.py

test-site: site
	@$(MAKE) --no-print-directory $(BROWSER_STAMP)
	$(BIN)/ruff check docs/site
	$(BIN)/python -m pytest tests/site $(ARGS)

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
	$(BIN)/python -m pip install --quiet -e ".[test,browser,course,site,zh,hub]"
	$(BIN)/python tools/lock.py $(BIN)/python constraints.txt
	@echo "now run make test, make test-browser and make test-course, then commit constraints.txt"

test-latest:
	rm -rf .venv-latest
	$(MAKE) --no-print-directory test VENV=.venv-latest CONSTRAINTS= PYTHON=$(PYTHON)

# --- Chinese edition (issue 15) ----------------------------------------------------------------
# English notebooks are the source; locales/ holds the gettext catalogs (tools/translate.py says how).
#   make translations           refresh locales/templates/*.pot and merge them into the catalogs
#   make translations START=03  begin the catalog of chapter 03
#   make zh                     build notebooks/zh_CN/ from the English notebooks and the catalogs
#   make zh-status              how far each chapter's translation is
#   make zh-preview CHAPTER=03  a chapter in progress, English where untranslated, in build/zh_CN/
#   make lab-zh                 JupyterLab in Chinese, on your copies of the Chinese chapters
.PHONY: translations zh zh-status zh-preview lab-zh

translations: venv
	$(BIN)/python tools/translate.py update $(if $(START),--start $(START))

zh: venv
	$(BIN)/python tools/translate.py build

zh-status: venv
	$(BIN)/python tools/translate.py status

zh-preview: venv
	$(BIN)/python tools/translate.py preview $(CHAPTER)

# The language pack comes from the "zh" extra; the interface language is set by an overrides.json in
# the project (locales/zh_CN/jupyterlab-settings/), so nothing in .venv or ~/.jupyter is edited.
ZH_STAMP := $(VENV)/.installed-zh
$(ZH_STAMP): pyproject.toml
	$(BIN)/python -m pip install --quiet -e ".[test,zh]"
	@touch $(ZH_STAMP)

# Opens on your own copies (make workspace) of the Chinese chapters, workspace/zh_CN/; the English
# copies beside them in workspace/ are what each chapter's "English" link opens.
lab-zh: venv
	@$(MAKE) --no-print-directory $(ZH_STAMP)
	@$(MAKE) --no-print-directory workspace
	@$(MAKE) --no-print-directory workspace EDITION=zh_CN
	$(BIN)/jupyter lab workspace/ $(ROOT_FLAG) --ContentsManager.preferred_dir=zh_CN \
		--LabApp.app_settings_dir=$(CURDIR)/locales/zh_CN/jupyterlab-settings $(ARGS)

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
