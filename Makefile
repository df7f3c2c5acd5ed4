# The two commands a newcomer needs: `make run` and `make test`. Only Python 3.11+ and pip
# are assumed; uv is installed on first use if it is missing.

PYTHON ?= python3
UV := $(shell command -v uv 2>/dev/null)
ifeq ($(UV),)
UV := $(PYTHON) -m uv
endif
HOST ?= 127.0.0.1
PORT ?= 8000
export UV_PYTHON ?= $(PYTHON)

.PHONY: run test migrate sync uv lint format bench compose-config token fuzz openapi client

# uv from PyPI with pip; on a system Python that refuses pip installs (PEP 668, e.g. Debian's),
# into the user's site instead.
uv:
	@command -v uv >/dev/null 2>&1 || $(PYTHON) -m uv --version >/dev/null 2>&1 \
		|| $(PYTHON) -m pip install --quiet uv 2>/dev/null \
		|| $(PYTHON) -m pip install --quiet --user --break-system-packages uv

# --compile-bytecode: the .pyc files are written once here, not by every first start.
sync: uv
	$(UV) sync --frozen --compile-bytecode

migrate: sync
	$(UV) run --frozen iro migrate

run: migrate
	$(UV) run --frozen iro serve --no-migrate --host $(HOST) --port $(PORT)

test: sync
	$(UV) run --frozen pytest

lint: sync
	$(UV) run --frozen ruff check .
	$(UV) run --frozen ruff format --check .

format: sync
	$(UV) run --frozen ruff check --fix .
	$(UV) run --frozen ruff format .

# Every benchmark with its baselines (bench/suite.py, bench/README.md): reduced sizes by default
# (under 10 minutes on 2 cores), BENCH_SIZE=full for the targets' sizes. It starts its own
# PostgreSQL 15 unless IRO_BENCH_POSTGRES_URL is set; results go to bench/results/.
BENCH_SIZE ?= reduced
bench: sync
	$(UV) run --frozen python bench/suite.py --size $(BENCH_SIZE)

# schemathesis over the three services (.ci/fuzz: pinned, in its own venv, not in uv.lock); the
# longer run, its figures recorded. CI runs `.ci/fuzz` with its short default.
FUZZ_EXAMPLES ?= 100
fuzz: sync
	.ci/fuzz --examples $(FUZZ_EXAMPLES) --record bench/results/fuzz-$$(date -u +%F).json

# The OpenAPI snapshots (services/*/openapi.json) from the code; commit them with the change.
openapi: sync
	$(UV) run --frozen iro openapi

# The TypeScript client (clients/typescript) from the snapshots, type-checked; needs npm.
client:
	.ci/ts-client

# Prints only the token (uv's own messages go to stderr): TOKEN=$$(make -s token ROLE=iro).
token: uv
	@$(UV) run --frozen --quiet iro token --role $(or $(ROLE),iro_manager)

compose-config:
	docker-compose config -q
