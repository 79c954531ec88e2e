# Convolutional Networks for Computer Vision: one entry point for readers, students and TAs.
#   make book   set up the environment and build the executed book into _build/html
#   make test   set up the environment and run the whole test suite (what CI runs)
# Everything runs offline: data comes from packages or is generated.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   ?= .venv
BIN    := $(VENV)/bin
PY     := $(BIN)/python
STAMP  := $(VENV)/.installed
JOBS   ?= $(shell nproc 2>/dev/null || echo 2)
A      ?= all

.PHONY: setup system-deps browser-deps test-browser book book-clean test test-slow release validate grade bench student-bundle publish lock clean help

help:
	@echo "make book      build the executed book into _build/html (creates $(VENV) if absent)"
	@echo "make test      run the test suite (what CI runs)"
	@echo "make test-slow run also the slow checks"
	@echo "make test-browser  build the book and check every page in headless Chromium"
	@echo "make release   regenerate assignments/ from solutions/ (A=a1 for one)"
	@echo "make validate  solutions score full marks, blank releases score 0 (A=a1 for one)"
	@echo "make grade A=a1 SUBMISSIONS=dir [JOBS=n]   autograde a folder of notebooks, write feedback and grades.csv"
	@echo "make bench     run the benchmarks in bench/"
	@echo "make student-bundle   dist/cnn-course-student.tar.gz: the student repository as one archive"
	@echo "make publish   dist/site (the book, local MathJax) and dist/student-repo (no solutions)"

# The stamp is newer than both dependency files once the environment matches them,
# so a second `make` skips the install entirely.
$(STAMP): requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	@$(MAKE) --no-print-directory system-deps
	touch $(STAMP)

setup: $(STAMP)

# System packages, where apt-get exists and we are root: bubblewrap, the autograder's sandbox
# (without it `grade` asks for --no-sandbox and tests/test_hostile.py skips), and headless
# Chromium for tests/test_browser.py (skipped without it). Never fails the setup.
SYSTEM_PACKAGES_MISSING = $(strip $(if $(wildcard /usr/bin/bwrap),,bubblewrap) \
  $(if $(and $(wildcard /usr/bin/chromium),$(wildcard /usr/bin/chromedriver)),,chromium chromium-driver))
system-deps browser-deps:
	@if [ -z "$(SYSTEM_PACKAGES_MISSING)" ]; then :; \
	elif command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(SYSTEM_PACKAGES_MISSING) >/dev/null; } \
	    || echo "warning: could not install $(SYSTEM_PACKAGES_MISSING): the tests that need them will be skipped"; \
	else echo "note: no apt-get or not root: install $(SYSTEM_PACKAGES_MISSING) for the sandbox and browser tests"; fi

# The execution cache is keyed on each page's code only, so a change to the library the
# pages import must throw it away: we remember a hash of src/cnnbook next to the cache.
# Pages train small models, for which one math thread is fastest, and far faster than
# several when the cores are shared (as under `make test`, which builds beside other tests).
BOOK_THREADS ?= 1
# MathJax from the book itself or from a CDN: pages carry the path, so a switch re-renders them all
# (with --all; their execution stays cached).
export CNNBOOK_LOCAL_MATHJAX
MATHJAX_SWITCHED = $(shell [ "$$(cat _build/.mathjax-mode 2>/dev/null)" = "$(CNNBOOK_LOCAL_MATHJAX)" ] || echo --all)
LIB_HASH = $(shell cat src/cnnbook/*.py src/cnnbook/*/*.py 2>/dev/null | sha256sum | cut -c1-16)

book: $(STAMP)
	@mkdir -p _build
	@if [ "$(CNNBOOK_LOCAL_MATHJAX)" = 1 ]; then $(PY) tools/local_mathjax.py fetch; fi
	@if [ "$$(cat _build/.cnnbook-hash 2>/dev/null)" != "$(LIB_HASH)" ]; then \
	  echo "cnnbook changed: re-executing every page"; rm -rf _build/.jupyter_cache; fi
	OMP_NUM_THREADS=$(BOOK_THREADS) OPENBLAS_NUM_THREADS=$(BOOK_THREADS) MKL_NUM_THREADS=$(BOOK_THREADS) \
	  $(BIN)/jupyter-book build . --warningiserror --keep-going $(MATHJAX_SWITCHED)
	@echo "$(CNNBOOK_LOCAL_MATHJAX)" > _build/.mathjax-mode
	@echo "$(LIB_HASH)" > _build/.cnnbook-hash
	@echo "Book: $(CURDIR)/_build/html/index.html"

book-clean:
	rm -rf _build

test: $(STAMP)
	$(PY) -m pytest -n $(JOBS) $(PYTEST_ARGS)

test-browser: book
	$(PY) -m pytest -q tests/test_browser.py

test-slow: $(STAMP)
	$(PY) -m pytest -n $(JOBS) --runslow $(PYTEST_ARGS)

release: $(STAMP)
	$(PY) -m autograder release $(filter-out all,$(A))

validate: $(STAMP)
	$(PY) -m autograder validate $(filter-out all,$(A))

grade: $(STAMP)
	$(PY) -m autograder grade $(A) --submissions $(SUBMISSIONS) --jobs $(JOBS)

bench: $(STAMP)
	for b in bench/[!_]*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

student-bundle: $(STAMP)
	$(PY) tools/student_bundle.py dist/cnn-course-student.tar.gz

# What readers and students get: the book built with MathJax served from the site itself (so it
# renders without a CDN) copied to dist/site, and the public student repository in dist/student-repo.
# `python tools/publish.py --no-site` writes the student repository alone, in seconds.
# The site runs on the real data sets: CIFAR-10 and MNIST are downloaded (checked by SHA-256) into
# the data cache when they are not there, the ISBI membranes must be staged, and a missing one stops
# the publication with what to put where; the pages then run with CNNBOOK_STANDINS=0 (no fallback).
# `make publish STANDINS=1` publishes on the stand-ins instead, each page that used one saying so.
# The pages' execution cache is thrown away when the data differs from the last publication's.
# Last, every page of dist/site is loaded in headless Chromium as published (tests/test_browser.py):
# no JavaScript error, images and anchors resolve, math renders from the site's own MathJax.
STANDINS ?= 0
PUBLISH_DATA = $(if $(filter 1,$(STANDINS)),standins,real)
publish: $(STAMP)
	$(PY) tools/publish.py --prepare-data --data $(PUBLISH_DATA)
	@mkdir -p _build
	@if [ "$$(cat _build/.cnnbook-data 2>/dev/null)" != "$(PUBLISH_DATA)" ]; then \
	  echo "data ($(PUBLISH_DATA)) other than the last publication's: re-executing every page"; rm -rf _build/.jupyter_cache; fi
	@CNNBOOK_STANDINS=$(if $(filter 1,$(STANDINS)),1,0) $(MAKE) --no-print-directory book CNNBOOK_LOCAL_MATHJAX=1
	@echo "$(PUBLISH_DATA)" > _build/.cnnbook-data
	$(PY) tools/publish.py --dest dist --data $(PUBLISH_DATA)
	@if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then \
	  CNNBOOK_SITE=dist/site $(PY) -m pytest -q -p no:xdist -p no:cacheprovider tests/test_browser.py; \
	else echo "note: dist/site was not checked in a browser: run make browser-deps, then make publish again"; fi

# Re-resolve the pinned set from pyproject.toml in a scratch environment.
lock:
	rm -rf /tmp/cnnbook-lock && $(PYTHON) -m venv /tmp/cnnbook-lock
	/tmp/cnnbook-lock/bin/pip install --quiet ".[book,grading,test]"
	{ head -2 requirements.txt; /tmp/cnnbook-lock/bin/pip freeze | grep -v -e '^cnnbook' -e '^-e' | sed 's/^torch==2.13.0+cpu/torch==2.13.0/'; } > requirements.txt.new
	mv requirements.txt.new requirements.txt

clean:
	rm -rf _build .pytest_cache
