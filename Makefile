# caretrack: `make run` to try it, `make test` to check it. See README.md.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
FLASK := FLASK_APP=caretrack $(BIN)/flask
STAMP := $(VENV)/.installed

.PHONY: run test lint translations clean-instance bench

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	$(BIN)/pybabel compile --statistics -d caretrack/translations >/dev/null 2>&1 || $(BIN)/pybabel compile -d caretrack/translations
	touch $(STAMP)

## run: install, migrate the SQLite database under instance/, load the demo city once, serve with the scheduler
## and one queue worker (Ctrl-C stops all three)
run: $(STAMP)
	$(FLASK) db upgrade
	$(FLASK) caretrack init
	$(FLASK) caretrack demo --if-empty
	@echo "caretrack: http://127.0.0.1:5000  (Ctrl-C stops the web server, the scheduler and the worker)"
	@$(FLASK) caretrack scheduler & scheduler=$$!; \
	  $(FLASK) caretrack worker & worker=$$!; \
	  trap 'kill $$scheduler $$worker 2>/dev/null; wait $$scheduler $$worker 2>/dev/null' EXIT INT TERM; \
	  $(FLASK) run --host 127.0.0.1 --port 5000

## test: install the test dependencies and run the whole suite
test: $(STAMP)
	$(BIN)/pybabel compile -d caretrack/translations >/dev/null
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## bench: build the 200,000-student city (deterministic), run every benchmark beside its floor in the same run
## (hand-written SQL, a bare Flask app under the same gunicorn, load from wrk or tests/perf/loadgen.py), rewrite
## docs/benchmarks.md. BENCH_DATABASE_URL=postgresql+psycopg://... for PostgreSQL (drops and recreates the
## database named by CARETRACK_BENCH_DATABASE, default caretrack_bench); empty for a SQLite temp file.
BENCH_DATABASE_URL ?=
bench: $(STAMP)
	$(BIN)/python -m tests.perf.run_benchmarks $(if $(BENCH_DATABASE_URL),--database-url $(BENCH_DATABASE_URL)) $(BENCH_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .

## translations: extract the messages and update the English catalog (then translate and compile)
translations: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k N_ -k _l -k lazy_gettext -o caretrack/translations/messages.pot .
	$(BIN)/pybabel update -i caretrack/translations/messages.pot -d caretrack/translations -l en --no-fuzzy-matching --ignore-obsolete
