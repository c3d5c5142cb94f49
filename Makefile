# Glabella — two commands: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint typecheck pytest bench system-deps clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

## make run: install, migrate the SQLite database under ./var, create the first admin, serve.
run: $(STAMP)
	mkdir -p var
	$(BIN)/glabella db upgrade
	GLABELLA_HOST=$(HOST) GLABELLA_PORT=$(PORT) $(BIN)/glabella users ensure-admin
	GLABELLA_HOST=$(HOST) GLABELLA_PORT=$(PORT) $(BIN)/uvicorn glabella.web.app:create_app --factory --host $(HOST) --port $(PORT) \
		--forwarded-allow-ips "$${GLABELLA_TRUSTED_PROXIES:-}"

## system-deps: what the tests need from Debian (Chromium for the browser tests, fonts).
system-deps:
	@bash scripts/system-deps.sh

## make test: install everything the tests need, then lint, type-check and run the suite.
test: $(STAMP) system-deps lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff check src tests $(wildcard bench)
	$(BIN)/ruff format --check src tests $(wildcard bench)
	$(BIN)/lint-imports
	$(BIN)/mypy tests --exclude '^tests/.+/conftest\.py$$'
	for conftest in $$(find tests -mindepth 2 -name conftest.py); do MYPYPATH=tests $(BIN)/mypy "$$conftest" || exit 1; done

typecheck: $(STAMP)
	$(BIN)/mypy src

pytest: $(STAMP)
	$(BIN)/pytest -n 2 -p no:cacheprovider

## make bench: benchmarks (not tests); results are written to bench/results/.
bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[bench]' || true
	bash bench/install_r.sh || echo "R metafor unavailable: the meta benchmark runs without it"
	$(BIN)/python -m bench.run
	$(BIN)/python -m bench.cli_bench
	if [ -f bench/clinic_bench.py ]; then $(BIN)/python -m bench.clinic_bench; fi
	if [ -f bench/multiprocess_bench.py ]; then $(BIN)/python -m bench.multiprocess_bench; fi
	if [ -f bench/report_bench.py ]; then $(BIN)/python -m bench.report_bench; fi
	if [ -f bench/biomarker_bench.py ]; then $(BIN)/python -m bench.biomarker_bench; fi
	if [ -f bench/idempotency_bench.py ]; then $(BIN)/python -m bench.idempotency_bench; fi
	$(BIN)/python -m bench.dashboard_bench

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
