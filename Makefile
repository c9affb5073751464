# Two commands set everything up on a fresh machine: `make demo` and `make test`.
# Both find a Python >= 3.12 (on PATH, else pyenv's newest), create .venv if missing and install.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

define FIND_PYTHON
for p in python3 python3.13 python3.12 python; do \
  if command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1; then \
    $$p -c 'import sys; print(sys.executable)'; exit 0; fi; \
done; \
root=$$(pyenv root 2>/dev/null || echo $$HOME/.pyenv); \
for d in $$(ls -d $$root/versions/3.* 2>/dev/null | sort -V -r); do \
  if [ -x $$d/bin/python3 ] && $$d/bin/python3 -c 'import sys; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1; then \
    echo $$d/bin/python3; exit 0; fi; \
done; \
echo "no Python >= 3.12 found (on PATH or under pyenv)" >&2; exit 1
endef
export FIND_PYTHON

.PHONY: demo test test-fast test-slow lint bench install clean sample

$(PY):
	@base=$$(bash -c "$$FIND_PYTHON") && echo "creating $(VENV) with $$base" && $$base -m venv $(VENV)

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/partner-forecast validate data/sample
	$(VENV)/bin/partner-forecast forecast data/sample

test: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy
	$(PY) -m pytest -n 2 -m "not slow" -q
	$(PY) -m pytest -m slow -q

test-fast: $(STAMP)
	$(PY) -m pytest -n 2 -m "not slow" -q

test-slow: $(STAMP)
	$(PY) -m pytest -m slow -q

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy

bench: $(STAMP)
	$(PY) benchmarks/simulate.py

sample: $(STAMP)
	$(VENV)/bin/partner-forecast sample data/sample --seed 2026

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .partner_forecast
