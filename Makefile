# Personal budgets service. `make help` lists the targets.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1:8000
# Tests always run on PostgreSQL: the local server unless DATABASE_URL says otherwise.
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/postgres
# Two test processes (pytest-xdist; the machines have two cores); `make test PYTEST_ARGS=` runs one.
PYTEST_ARGS ?= -n 2

.DEFAULT_GOAL := help
.PHONY: help install machine run test lint format bench clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "} {printf "  make %-9s %s\n", $$1, $$2}'

install: $(VENV)/.installed ## Create .venv and install the project with its test tools (quick when nothing changed)

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@

run: install ## Migrate, load the demo data, print the demo logins, start the background worker and serve on http://127.0.0.1:8000
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo
	@# The daily reminder of reviews come due (production runs it from cron); e-mails print here.
	$(BIN)/python manage.py send_review_reminders
	@echo "Serving on http://$(HOST) with a background-job worker (Ctrl-C stops both)"
	@DJANGO_DEBUG=$${DJANGO_DEBUG:-true} bash -c '\
	  $(BIN)/python manage.py db_worker --no-reload --verbosity 0 & worker=$$!; \
	  trap "kill $$worker 2>/dev/null" EXIT INT TERM; \
	  $(BIN)/python manage.py runserver $(HOST)'

machine: ## Install and start what the tests need from the machine (Debian packages, PostgreSQL); quick when present
	@scripts/setup-machine

test: machine lint ## ruff, makemigrations --check and the whole suite (browser tests included) on PostgreSQL
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} $(BIN)/python manage.py makemigrations --check --dry-run
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} $(BIN)/pytest $(PYTEST_ARGS)

lint: install ## ruff check and ruff format --check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install ## Apply ruff's fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: install ## Benchmarks that print figures: engine throughput; re-pricing 100,000 people; 1,000 letters; calibrating 10,000 cases; reports for 50,000 people; people search among 100,000; 50 users' load on gunicorn, and each page's own cost
	DJANGO_SETTINGS_MODULE=ras_site.settings $(BIN)/python -m benchmarks.engine_throughput
	$(BIN)/python -m benchmarks.repricing_100k
	$(BIN)/python -m benchmarks.letters
	$(BIN)/python -m benchmarks.calibration_10k
	$(BIN)/python -m benchmarks.reports_50k
	$(BIN)/python -m benchmarks.search_100k
	$(BIN)/python -m benchmarks.load
	$(BIN)/python -m benchmarks.page_cost

clean: ## Remove the virtualenv, the local SQLite file and caches
	rm -rf $(VENV) db.sqlite3 staticfiles .pytest_cache .ruff_cache
