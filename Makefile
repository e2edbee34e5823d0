# django-imageops developer commands. Everything runs from a fresh clone:
#   make test   creates .venv with python3, installs .[dev], runs the test suite (two sessions:
#               the main one, then tests/contrib/wagtail/ with its Wagtail settings)
#   make demo   runs every operation x provider on the sample photos (embedded sandbox + S3)
#   make serve  the example project with the embedded sandbox + S3, and an admin user
#   make serve-wagtail  the same with Wagtail's admin at /cms/ and the samples in its images
#   make docs   installs .[docs] too, builds docs/ into docs/_build/html (warnings are errors)
#   make messages         extracts marked strings into the fr/de/es catalogues, lists what is
#                         left to translate (needs GNU gettext: apt-get install gettext)
#   make compilemessages  compiles the catalogues into the .mo files the package ships
PYTHON ?= python3
VENV ?= .venv
# Optional pip requirement for Django itself, e.g. DJANGO='Django~=6.1.0'
DJANGO ?=
# Optional pip requirement for Wagtail (the dev extra has it), e.g. WAGTAIL='wagtail~=7.4.0'
WAGTAIL ?=
PYTEST_ARGS ?=
# Address of `make serve`, e.g. ADDRPORT=0.0.0.0:8000 (default 127.0.0.1:8000)
ADDRPORT ?=
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DOCS_STAMP := $(VENV)/.installed-docs

.PHONY: install test lint docs messages compilemessages demo serve serve-wagtail sandbox benchmarks clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]' $(if $(DJANGO),'$(DJANGO)') $(if $(WAGTAIL),'$(WAGTAIL)')
	touch $(STAMP)

$(DOCS_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,docs]' $(if $(DJANGO),'$(DJANGO)') $(if $(WAGTAIL),'$(WAGTAIL)')
	touch $(DOCS_STAMP)

install: $(STAMP)

# Two sessions: the suite, then tests/contrib/wagtail/ with its own settings (a Wagtail site).
test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)
	$(BIN)/python -m pytest --ds=tests.contrib.wagtail.settings tests/contrib/wagtail $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m mypy

docs: $(DOCS_STAMP)
	rm -rf docs/_build
	$(BIN)/python -m sphinx -W --keep-going -q -b html docs docs/_build/html
	@echo "docs/_build/html/index.html"

# docs/development.md#translations
messages: $(STAMP)
	$(BIN)/python -m tests.i18n.catalogues

compilemessages: $(STAMP)
	$(BIN)/python -m tests.i18n.catalogues --compile

demo: $(STAMP)
	$(BIN)/python example_project/manage.py imageops_demo

serve: $(STAMP)
	$(BIN)/python example_project/manage.py imageops_serve $(ADDRPORT)

serve-wagtail: $(STAMP)
	$(BIN)/python example_project/manage.py imageops_serve --settings=example_project.settings_wagtail $(ADDRPORT)

sandbox: $(STAMP)
	$(BIN)/python -m django_imageops.sandbox

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache example_project/var docs/_build docs/_generated dist
