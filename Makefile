# One entry point. `make build` is the main job, `make test` the test suite; both create
# the project's virtual environment (.venv) on first use: the main job with what it needs
# (requirements.txt), the tests, lint and review with the development set on top
# (requirements-dev.txt).
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
REVIEW_VENV := .venv-review

# Where the monthly workbooks and the trust_metrics extract are.
CHS_DATA_DIR ?= ../shared/data/chswl
CHS_TRUST_METRICS_CSV ?= ../shared/data/trust_metrics_extract.csv
# dbt / loader target: duckdb (embedded, default) or postgres.
CHS_TARGET ?= duckdb

export DBT_PROFILES_DIR := $(CURDIR)
export DBT_SEND_ANONYMOUS_USAGE_STATS := false
export CHS_TARGET

.PHONY: help setup setup-dev build land dbt-build release publish test lint format dq-summary propose-mapping bench clean review review-server bench-review report docs

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

$(BIN)/dbt: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	@touch $@

setup: $(BIN)/dbt  ## create .venv with what the main job needs (requirements.txt, pinned)

$(VENV)/.dev-installed: $(BIN)/dbt requirements-dev.txt
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $@

setup-dev: $(VENV)/.dev-installed  ## add the development set: pytest, sqlfluff, ruff, mypy, playwright (requirements-dev.txt)

build: land dbt-build  ## MAIN JOB: land every workbook and the extract, then dbt build and its summary (default DuckDB; V=1: dbt's per-node lines)

land: setup  ## land the workbooks in CHS_DATA_DIR and the extract CSV
	@$(BIN)/python -m loader land "$(CHS_DATA_DIR)" "$(CHS_TRUST_METRICS_CSV)"

# V=1 (or CHS_VERBOSE=1): dbt's per-node lines on the console; they are always in logs/dbt.log
V ?=

dbt-build: setup  ## dbt build under the writer lock: seeds, models, every test, then the data-quality summary
	@$(BIN)/python -m loader build $(if $(V),-v)

release: setup  ## monthly release: fetch new/revised workbooks into CHS_DATA_DIR (writable), land, build, report (CHS_PUBLISH=1: and publish)
	$(BIN)/python -m loader release --data-dir "$(CHS_DATA_DIR)" --extract "$(CHS_TRUST_METRICS_CSV)"

publish: setup  ## community_health_data into the live trust_metrics table (PostgreSQL; CHS_LIVE_SCHEMA / CHS_LIVE_TABLE)
	$(BIN)/python -m loader publish

test: setup-dev $(REVIEW_VENV)/bin/recce  ## the test suite on every core (PostgreSQL tests run when CHS_PG_HOST is set)
	$(BIN)/pytest -n auto --dist worksteal --durations=15

lint: setup-dev  ## sqlfluff (on every core), ruff and mypy
	$(BIN)/sqlfluff lint --processes 0 models tests macros analyses
	$(BIN)/ruff check loader tests bench
	$(BIN)/ruff format --check loader tests bench
	$(BIN)/mypy

format: setup-dev  ## apply sqlfluff and ruff fixes
	$(BIN)/sqlfluff fix models tests macros analyses
	$(BIN)/ruff format loader tests bench

dq-summary: setup  ## data-quality summary of the last dbt build
	$(BIN)/python -m loader dq-summary

# OUT: the directory propose-mapping writes one CSV per seed into
OUT ?= target/proposals

propose-mapping: setup  ## rows proposed for the seeds, one CSV per seed: OUT/trust_mapping.csv, OUT/trust_successors.csv
	$(BIN)/python -m loader propose-mapping --out "$(OUT)"

report: setup  ## release report, one HTML file: reports/community-waits-YYYY-MM.html (PERIOD=YYYY-MM; default latest)
	$(BIN)/python -m loader report $(if $(PERIOD),--period $(PERIOD))

docs: setup  ## analysts' catalogue: dbt docs as one page that opens from disk (target/static_index.html)
	$(BIN)/dbt docs generate --static
	@echo "catalogue: $(CURDIR)/target/static_index.html"

BENCH_VENV := .venv-bench

$(BENCH_VENV)/bin/python: bench/requirements.txt
	$(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/pip install --quiet --disable-pip-version-check -r bench/requirements.txt
	@touch $@

# BENCH_ARGS="--decade /tmp/decade": also ten years of synthetic history (docs/performance.md)
BENCH_ARGS ?=

bench: setup $(BENCH_VENV)/bin/python  ## benchmark: landing, dbt build, backfill and monthly increment
	$(BIN)/python bench/bench.py --baseline-python $(BENCH_VENV)/bin/python $(BENCH_ARGS)

# Data review of a model change (loader/review.py): recce runs from its own environment
# (REVIEW_VENV, defined at the top: make test needs it too).
BASE ?= origin/main
REVIEW_PORT ?= 8000

$(REVIEW_VENV)/bin/recce: requirements-review.txt
	$(PYTHON) -m venv $(REVIEW_VENV)
	$(REVIEW_VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-review.txt
	@touch $@

review: setup-dev $(REVIEW_VENV)/bin/recce  ## what this tree does to the data vs BASE (git ref, default origin/main): target/review.md
	$(BIN)/python -m loader review --base "$(BASE)" --recce-venv $(REVIEW_VENV)

bench-review: setup-dev $(REVIEW_VENV)/bin/recce  ## benchmark: a data review of the 12 months on DuckDB (bench/review.py)
	$(BIN)/python bench/review.py

review-server: setup-dev $(REVIEW_VENV)/bin/recce  ## recce server on 127.0.0.1:REVIEW_PORT over the last review (locks the DuckDB file)
	$(BIN)/python -m loader review-server --recce-venv $(REVIEW_VENV) --port $(REVIEW_PORT)

clean:  ## remove dbt artefacts and the local DuckDB warehouse
	rm -rf target target-base logs warehouse.duckdb warehouse.duckdb.wal
