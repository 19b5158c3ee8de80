# Targets match the README. Every target sets itself up on first use.
.PHONY: help setup demo test test-fast lint format clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-8s %s\n", $$1, $$2}'

setup:  ## virtual environment and Delta jars (done by every other target too)
	@scripts/bootstrap.sh

demo:  ## the main job on the embedded default (synthetic data, local Spark, ./data/)
	./spark-submit.sh pipeline

test:  ## ruff and the whole test suite (what CI runs)
	scripts/run-tests.sh

test-fast:  ## ruff and the suite without the `system` tests (cluster, SIGKILL): the edit loop
	scripts/run-tests.sh -m "not system"

lint:  ## ruff check and format check only
	@scripts/bootstrap.sh && .venv/bin/ruff check . && .venv/bin/ruff format --check .

format:  ## apply ruff's formatting and safe fixes
	@scripts/bootstrap.sh && .venv/bin/ruff check --fix . && .venv/bin/ruff format .

clean:  ## remove the data root, logs and build caches (keeps .venv and the jars)
	rm -rf data logs .cache/dist .pytest_cache .ruff_cache spark-warehouse
