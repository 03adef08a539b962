# towerledger — the two commands of the quick start are `make demo` and `make test`.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
PG_URL  ?= postgres://postgres@127.0.0.1:5432/postgres
DEMO_DATA ?= $(CURDIR)/data/demo
JOBS    ?= $(shell nproc 2>/dev/null || echo 2)
PYTEST  := $(BIN)/python -m pytest -n $(JOBS) --durations=15

.PHONY: install demo test test-sqlite test-postgres chromium java postgres bench bench-national lint messages clean

$(VENV)/.installed: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check --upgrade pip
	$(BIN)/pip install -q --disable-pip-version-check -e ".[dev,spark]"
	touch $@

install: $(VENV)/.installed

## make demo: install, build a synthetic province into the embedded SQLite file, serve it
demo: install
	TOWERLEDGER_DATA=$(DEMO_DATA) $(BIN)/towerledger demo

## make test: install, then every test on SQLite and every database test on PostgreSQL
# Tests that touch no database (pure functions and hypothesis: tests/domain, tests/unit,
# tests/reference) run in the SQLite pass only: on PostgreSQL they would run the same code
# again. tests/conftest.py refuses a test in those folders that asks for the database.
# xdist's default scheduling keeps pytest-django's order in each process (database tests
# before those that flush the database); --dist worksteal broke it (a process stole plain
# database tests after a flush had removed the migrations' data: seen on PostgreSQL).
NO_DB_TESTS := tests/domain tests/unit tests/reference
test: install chromium java postgres
	$(MAKE) --no-print-directory test-sqlite test-postgres

test-sqlite: install
	$(PYTEST) -q -p no:cacheprovider

test-postgres: install postgres
	DATABASE_URL=$(PG_URL) $(PYTEST) -q -p no:cacheprovider \
	  $(addprefix --ignore=,$(NO_DB_TESTS))

# Debian's chromium drives the browser tests (no browser download at test time).
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian chromium for the browser tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null; }

# Debian's Java 17 runs Spark in local mode for the meter-analytics engine test.
java:
	@command -v java >/dev/null 2>&1 || { \
	  echo "installing Debian's Java 17 for Spark (meter analytics)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless >/dev/null; }

# Start the installed PostgreSQL cluster if it is stopped.
postgres:
	@pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null || { \
	  ver=$$(ls /etc/postgresql 2>/dev/null | sort -V | tail -1); \
	  if [ -n "$$ver" ]; then echo "starting PostgreSQL $$ver"; \
	    pg_ctlcluster --skip-systemctl-redirect $$ver main start; \
	    for i in $$(seq 1 30); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 1; done; \
	  else echo "PostgreSQL is not installed" >&2; exit 1; fi; }

## make bench: a 100,000-site province through every stage; figures go to bench/RESULTS.md
bench: install postgres
	DATABASE_URL=$(PG_URL) $(BIN)/python bench/run.py --sites 100000 --results bench/RESULTS.md

## make bench-national: a 2,000,000-site month through every stage on one PostgreSQL, each
## stage beside its PostgreSQL floor; figures go to bench/RESULTS-national.md (hours; ~10 GB RAM)
bench-national: install postgres
	DATABASE_URL=$(PG_URL) $(BIN)/python bench/national.py --sites 2000000 --results bench/RESULTS-national.md

lint: install
	$(BIN)/ruff check src tests bench

messages: install
	$(BIN)/python scripts/compile_messages.py

clean:
	rm -rf $(VENV) data .pytest_cache
