# The two commands of the README: `make run` and `make test`. Everything else supports them.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test install lint format schema migrate token clean bench

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

# The Node clients the tests drive (clients/: graphql-ws, relay-compiler, Apollo's manifest
# generator), at the versions of clients/package-lock.json. Without npm the Node client tests
# are skipped with the reason shown (CI sets REQUIRE_NODE=1, and they fail instead).
CLIENTS_STAMP := clients/node_modules/.installed

$(CLIENTS_STAMP): clients/package.json clients/package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
		cd clients && npm ci --no-audit --no-fund --loglevel=error && touch node_modules/.installed; \
	else \
		echo "npm is not installed: the Node client tests (tests/clients/) will be skipped."; \
	fi

# Everything the suite needs, installed once (.ci/run does this before running two suites at once).
install: $(STAMP) $(CLIENTS_STAMP)

# A development secret key, generated once per checkout and never committed.
.dev-secret-key:
	$(PYTHON) -c "import secrets; print(secrets.token_urlsafe(50))" > $@

DEV_ENV = DEBUG=1 SECRET_KEY=$$(cat .dev-secret-key)

migrate: $(STAMP) .dev-secret-key
	$(DEV_ENV) $(BIN)/python manage.py migrate --noinput
	$(DEV_ENV) $(BIN)/python manage.py load_reference_data

# The first run on an empty database (no incident, no partner) loads the demo data set
# (manage.py seed_demo, DEMO_SCALE incidents) and says so; `make run DEMO=0` starts empty.
# Later runs leave the data alone.
DEMO ?= 1
DEMO_SCALE ?= 300

run: migrate
	$(DEV_ENV) $(BIN)/python manage.py ensure_admin
ifneq ($(DEMO),0)
	$(DEV_ENV) $(BIN)/python manage.py seed_demo --first-run --scale $(DEMO_SCALE)
endif
	@echo "GraphiQL: http://$(HOST):$(PORT)/graphql/   admin: http://$(HOST):$(PORT)/admin/"
	$(DEV_ENV) $(BIN)/uvicorn opsapi.asgi:application --host $(HOST) --port $(PORT) --lifespan off

# An API token for a user of the development database, printed once on standard output:
# `export TOKEN=$$(make -s token USER=admin)`. USER counts only on make's command line (the
# shell's own $$USER is ignored); without it the token is the administrator's.
TOKEN_USER := $(if $(filter command line,$(origin USER)),$(USER),$(or $(OPSAPI_ADMIN_USERNAME),admin))
TOKEN_NAME ?= make token

token: $(STAMP) .dev-secret-key
	@$(DEV_ENV) $(BIN)/python manage.py create_token "$(TOKEN_USER)" --name "$(TOKEN_NAME)"

# The suite runs with production settings, which need a secret key: a throwaway one unless set.
test: $(STAMP) $(CLIENTS_STAMP)
	SECRET_KEY=$${SECRET_KEY:-$$($(BIN)/python -c "import secrets; print(secrets.token_urlsafe(50))")} \
		$(BIN)/python -m pytest $(PYTEST_ARGS)

# The benchmark (docs/benchmark.md): seeds, measures, writes bench/RESULTS.md. DATABASE_URL names
# a dedicated database (postgres://postgres@127.0.0.1:5432/opsapi_bench); unset, a SQLite file
# in bench/.cache/. BENCH_ARGS="--quick" for a short run.
bench: $(STAMP)
	$(BIN)/python -m bench $(BENCH_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

schema: $(STAMP)
	SECRET_KEY=schema-export-only-$$(date +%s)-not-a-real-deployment-key \
		$(BIN)/python manage.py export_schema opsapi.schema --path schema.graphql

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache clients/node_modules
