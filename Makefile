# D-Tech. `make run`: the app with demo data on SQLite. `make test`: the whole suite on SQLite, then PostgreSQL.
VENV := .venv
BIN := $(VENV)/bin
PYTHON ?= python3
PG_TEST_URL ?= postgresql://postgres:postgres@127.0.0.1:5432/dtech_test
export FLASK_APP := wsgi
# Translations: the .po files are in git, the compiled .mo files are built here (never committed).
TRANSLATIONS := app/translations
CATALOGUES := $(wildcard $(TRANSLATIONS)/*/LC_MESSAGES/messages.po)
# Keywords besides Babel's defaults (_, gettext, ngettext, N_ …), and directories to skip: not templates/_macros,
# which Babel's default (every _name) would. tests/functional/test_i18n.py extracts the same way.
EXTRACT_OPTIONS := -k _l -k lazy_gettext --ignore-dirs='.* __pycache__ node_modules'

# Static files: built into build/static (git-ignored, outside static/ so nothing built is served as a source):
# each file also under a content-hashed name, with .br and .gz beside it (app/web/static_files.py).
STATIC_BUILD := build/static/manifest.json
STATIC_SOURCES := $(shell find static -mindepth 1 -not -name '.*')

.PHONY: install migrate run serve test test-sqlite test-postgres lint bench bench-lighthouse clean translations translations-update static

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@

# Tools only the tests run, from npm at the versions in package-lock.json: web-push-testing, a push service the
# web push tests send to. Installed where Node.js is (the app never loads it); the tests that need it skip without
# it, and fail under CI, where .ci/run installs Node.js.
NODE_TOOLS := $(if $(shell command -v npm 2>/dev/null),node_modules/.package-lock.json)
node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

install: $(BIN)/.installed $(CATALOGUES:.po=.mo) $(STATIC_BUILD) $(NODE_TOOLS)

# Built again when a file in static/ changes, comes or goes (folders are prerequisites too), or the builder does.
$(STATIC_BUILD): $(STATIC_SOURCES) app/web/static_files.py $(BIN)/.installed
	$(BIN)/python -m app.web.static_files --quiet

static: $(BIN)/.installed
	$(BIN)/python -m app.web.static_files

# A catalogue is compiled again when its .po changes; an error in it (a broken placeholder) stops the build.
$(TRANSLATIONS)/%/LC_MESSAGES/messages.mo: $(TRANSLATIONS)/%/LC_MESSAGES/messages.po $(BIN)/.installed
	$(BIN)/pybabel compile --statistics -d $(TRANSLATIONS) -l $*

translations: $(BIN)/.installed
	$(BIN)/pybabel compile --statistics -d $(TRANSLATIONS)

# For developers after changing texts: the template from the sources, then each catalogue brought up to date.
# New texts come with an empty msgstr, changed ones as fuzzy: translate them; the tests fail until none is left.
translations-update: $(BIN)/.installed
	$(BIN)/pybabel extract -F babel.cfg $(EXTRACT_OPTIONS) --add-comments=TRANSLATORS: --no-wrap \
		--project=D-Tech --copyright-holder=D-Tech -o $(TRANSLATIONS)/messages.pot .
	$(BIN)/pybabel update -i $(TRANSLATIONS)/messages.pot -d $(TRANSLATIONS) --no-wrap --previous --ignore-obsolete

migrate: install
	$(BIN)/flask db upgrade

# Serve with gunicorn and run the task worker (the Huey consumer) beside it; Ctrl-C stops both.
run: migrate
	$(BIN)/flask demo seed --if-empty
	@echo ""
	@echo "  D-Tech is running at http://$${DTECH_BIND:-127.0.0.1:8000}  (Ctrl-C to stop)"
	@echo ""
	$(MAKE) --no-print-directory serve

# The consumer writes its task metrics where gunicorn's workers write theirs (gunicorn.conf.py), so /metrics has both.
serve:
	@export PROMETHEUS_MULTIPROC_DIR=$${PROMETHEUS_MULTIPROC_DIR:-$${DTECH_INSTANCE_DIR:-instance}/prometheus}; \
	mkdir -p "$$PROMETHEUS_MULTIPROC_DIR"; \
	$(BIN)/flask jobs worker --workers 3 --flush-locks & worker=$$!; \
	trap 'kill -INT $$worker 2>/dev/null; wait $$worker' EXIT INT TERM; \
	$(BIN)/gunicorn --config gunicorn.conf.py wsgi:app

lint: install
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-cache --no-logo
	$(BIN)/bandit --configfile pyproject.toml --quiet --recursive app config.py wsgi.py gunicorn.conf.py

test: lint test-sqlite test-postgres

test-sqlite: install
	env -u TEST_DATABASE_URL $(BIN)/pytest

# Runs when TEST_DATABASE_URL is set or a server answers on 127.0.0.1:5432. Under CI it must run.
test-postgres: install
	@if [ -n "$$TEST_DATABASE_URL" ] || $(BIN)/python -c "import socket; socket.create_connection(('127.0.0.1', 5432), 2)" 2>/dev/null; then \
		echo "== PostgreSQL run"; \
		TEST_DATABASE_URL=$${TEST_DATABASE_URL:-$(PG_TEST_URL)} $(BIN)/pytest; \
	elif [ -n "$$CI" ]; then \
		echo "CI needs PostgreSQL: set TEST_DATABASE_URL or start a server on 127.0.0.1:5432" >&2; exit 1; \
	else \
		echo "== PostgreSQL run skipped: no server on 127.0.0.1:5432 and TEST_DATABASE_URL is not set"; \
	fi

# Benchmarks print ratios against a baseline measured in the same run (SQLite; DATABASE_URL for PostgreSQL).
# bench/http_load.py drives the pages with Debian's wrk: installed here when missing (as root), or asked for.
bench: install
	@command -v wrk >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get install -y -qq wrk >/dev/null; } \
		|| { echo "make bench needs wrk: apt-get install wrk" >&2; exit 1; }
	$(BIN)/python bench/http_load.py
	$(BIN)/python bench/bill_run.py
	$(BIN)/python bench/push_fanout.py
	$(BIN)/python bench/reports.py

# Lighthouse (npm, pinned in bench/lighthouse/) against the demo site in Debian's Chromium: a few minutes.
bench/lighthouse/node_modules/.package-lock.json: bench/lighthouse/package.json bench/lighthouse/package-lock.json
	npm ci --prefix bench/lighthouse --no-audit --no-fund
	touch $@

bench-lighthouse: install bench/lighthouse/node_modules/.package-lock.json
	$(BIN)/python bench/lighthouse.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache build
