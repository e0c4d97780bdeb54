# caregrid: `make demo` serves a demo district, `make test` runs every check. See README.md.
.PHONY: setup demo test test-sqlite test-postgres test-browser lint format bench clean

PORT ?= 8000

setup:
	@bash scripts/setup.sh

demo: setup
	@PORT=$(PORT) bash scripts/demo.sh

test: setup
	@bash scripts/test.sh

test-sqlite: setup
	@.venv/bin/pytest -m "not browser" -n 2

test-postgres: setup
	@bash scripts/with-postgres.sh .venv/bin/pytest -m "not browser" -n 2

test-browser: setup
	@bash scripts/ensure-chromium.sh && .venv/bin/pytest -m browser

lint: setup
	@.venv/bin/ruff check . && .venv/bin/ruff format --check .

format: setup
	@.venv/bin/ruff format . && .venv/bin/ruff check --fix .

bench: setup
	@.venv/bin/caregrid bench

clean:
	rm -rf .venv node_modules var/static
