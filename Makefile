# WardCare: `make demo` and `make test` do all set-up on a fresh machine.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

# Debian packages WardCare needs beyond Python: WeasyPrint renders PDFs with Pango/HarfBuzz and
# needs a font; the PDF tests read pages with poppler-utils; the UI tests drive chromium.
DEB_PACKAGES := libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core poppler-utils chromium

.PHONY: demo test lint format typecheck bench check-system install serve migrate clean

demo: install
	WARDCARE_DEV_MODE=1 $(BIN)/wardcare demo

test: install lint
	$(BIN)/pytest

install: check-system $(STAMP)

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test]"
	touch $(STAMP)

check-system:
	@missing=""; for p in $(DEB_PACKAGES); do \
	  dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "WardCare needs these Debian packages, which are not installed:$$missing"; \
	  echo "Install them with:  sudo apt-get update && sudo apt-get install -y$$missing"; \
	  exit 1; fi
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "WardCare needs Python 3.11 or newer")'

lint: install
	$(BIN)/ruff check src tests bench migrations
	$(BIN)/ruff format --check src tests bench migrations
	$(BIN)/lint-imports
	$(BIN)/mypy

format: install
	$(BIN)/ruff check --fix src tests bench migrations
	$(BIN)/ruff format src tests bench migrations

serve: install
	$(BIN)/wardcare serve

migrate: install
	$(BIN)/wardcare migrate

bench: install
	$(BIN)/python bench/fhir_api.py
	$(BIN)/python bench/assessments.py
	$(BIN)/python bench/mllp_ingest.py
	$(BIN)/python bench/hl7_outbound.py
	$(BIN)/python bench/handover.py
	$(BIN)/python bench/careplans.py
	$(BIN)/python bench/ui.py
	$(BIN)/python bench/security.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
