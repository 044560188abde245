# fundledger — the two commands: `make run` and `make test`. Everything else is setup.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PG_TEST_URL ?= postgresql://postgres@127.0.0.1:5432/test
DEMO_DB := instance/demo.db
DEMO_FILES := instance/demo-bank-files

.PHONY: run demo-cli test test-sqlite test-postgresql lint bench bench-import install postgres chromium messages clean

$(BIN)/fundledger: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@

install: $(BIN)/fundledger

run: demo-books
	DATABASE_URL=sqlite:///$(DEMO_DB) scripts/run-demo

demo-books: install
	rm -rf $(DEMO_DB) $(DEMO_DB)-wal $(DEMO_DB)-shm $(DEMO_FILES)
	DATABASE_URL=sqlite:///$(DEMO_DB) $(BIN)/fundledger init --demo
	DATABASE_URL=sqlite:///$(DEMO_DB) $(BIN)/fundledger imports demo $(DEMO_FILES)
	DATABASE_URL=sqlite:///$(DEMO_DB) $(BIN)/fundledger jobs run reconcile
	DATABASE_URL=sqlite:///$(DEMO_DB) $(BIN)/fundledger jobs run ageing

demo-cli: demo-books
	@echo "demo books in $(DEMO_DB); explore with: DATABASE_URL=sqlite:///$(DEMO_DB) $(BIN)/fundledger --help"
	DATABASE_URL=sqlite:///$(DEMO_DB) $(BIN)/fundledger balances --depth 3
	DATABASE_URL=sqlite:///$(DEMO_DB) $(BIN)/fundledger trial-balance --totals-only
	DATABASE_URL=sqlite:///$(DEMO_DB) $(BIN)/fundledger verify
	DATABASE_URL=sqlite:///$(DEMO_DB) $(BIN)/fundledger fund list
	DATABASE_URL=sqlite:///$(DEMO_DB) $(BIN)/fundledger capital show
	DATABASE_URL=sqlite:///$(DEMO_DB) $(BIN)/fundledger report banks
	DATABASE_URL=sqlite:///$(DEMO_DB) $(BIN)/fundledger imports list

test: test-sqlite test-postgresql

test-sqlite: install chromium
	TEST_DATABASE_URL=sqlite $(BIN)/pytest $(PYTEST_ARGS)

test-postgresql: install postgres chromium
	TEST_DATABASE_URL=$(PG_TEST_URL) $(BIN)/pytest $(PYTEST_ARGS)

postgres:
	@scripts/ensure-postgres

chromium:
	@scripts/ensure-chromium

messages: install
	$(BIN)/python scripts/messages.py

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: install postgres
	$(BIN)/python bench/posting.py --sqlite --postgresql $(PG_TEST_URL)
	$(BIN)/python bench/processes.py --sqlite --postgresql $(PG_TEST_URL)

bench-import: install postgres
	$(BIN)/python bench/import.py --sqlite --postgresql $(PG_TEST_URL) --memory-rows 1000000

clean:
	rm -rf $(VENV) instance/*.db* .pytest_cache .ruff_cache
