# django-imageops developer commands. Everything runs from a fresh clone:
#   make test   creates .venv with python3, installs .[dev], runs the test suite
#   make demo   runs every operation x provider on the sample photos (embedded sandbox + S3)
#   make serve  the example project with the embedded sandbox + S3, and an admin user
PYTHON ?= python3
VENV ?= .venv
# Optional pip requirement for Django itself, e.g. DJANGO='Django~=6.1.0'
DJANGO ?=
PYTEST_ARGS ?=
# Address of `make serve`, e.g. ADDRPORT=0.0.0.0:8000 (default 127.0.0.1:8000)
ADDRPORT ?=
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install test lint demo serve sandbox benchmarks clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]' $(if $(DJANGO),'$(DJANGO)')
	touch $(STAMP)

install: $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

demo: $(STAMP)
	$(BIN)/python example_project/manage.py imageops_demo

serve: $(STAMP)
	$(BIN)/python example_project/manage.py imageops_serve $(ADDRPORT)

sandbox: $(STAMP)
	$(BIN)/python -m django_imageops.sandbox

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache example_project/var
