# Works on a fresh machine with nothing but Python 3.11: every target builds .venv first.
#   make install   the package and its command, nothing else (what a user needs)
#   make dev       the package with the test extras (pytest, mypy, ruff, provider SDKs)
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev

.PHONY: install dev lint test fuzz bench serve screenshots clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $(STAMP)

$(DEV_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(DEV_STAMP) $(STAMP)

install: $(STAMP)

dev: $(DEV_STAMP)

lint: $(DEV_STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

# Two processes (pytest-xdist, one per core here), each test file on one of them so
# module-scoped fixtures are built once; the log scan covers both (tests/logscan.py).
test: lint
	$(BIN)/pytest -n auto --dist loadfile

# The fuzzers with ten times their examples (make test runs them bounded).
fuzz: $(DEV_STAMP)
	CONSENTLINE_FUZZ_EXAMPLES=100 $(BIN)/pytest -n auto --dist loadfile \
		tests/http/test_webhook_fuzz.py tests/http/test_openapi_fuzz.py

serve: $(STAMP)
	$(BIN)/consentline --db sqlite:///./var/consentline.db init
	$(BIN)/consentline serve

# The README's screenshots of the web UI, taken by its browser tests.
screenshots: $(DEV_STAMP)
	CONSENTLINE_SCREENSHOTS=docs/screenshots $(BIN)/pytest -q tests/web/test_browser.py

bench: $(DEV_STAMP)
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info .pytest_cache .mypy_cache .ruff_cache
