# diemcau: the commands a newcomer runs.
#   make demo    install what is missing, load the Ba Vì scenario, serve on http://127.0.0.1:8000
#                (with the live runtime: Janus nodes, a synthetic host feed, HLS; LIVE=0 leaves it out)
#   make test    install what is missing (Debian packages: APT_TEST), then the whole suite
#                (PostgreSQL when DATABASE_URL is set, plus a smoke run on SQLite)
#   make lint    ruff and lint-imports (the layers: docs/ARCHITECTURE.md, "Layout")
#   make bench-<name>   one benchmark from bench/<name>.py (load, planner, voice, ...)
#   make cluster        (root) diemcau on a harness of network namespaces: nginx, two app hosts,
#                PostgreSQL + Redis, the demo; prints the URL (http://10.210.0.3/). make cluster-down

SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT_DEMO := python3-venv python3-dev gettext redis-server janus ffmpeg fonts-dejavu-core fonts-noto-color-emoji libpango-1.0-0 libpangoft2-1.0-0
APT_TEST := $(APT_DEMO) postgresql chromium poppler-utils nginx iproute2 openssl coturn kamailio kamailio-tls-modules rtpengine-daemon baresip-core baresip-ffmpeg
export PYTHONPATH := $(CURDIR)/src

.PHONY: demo serve test test-main test-smoke lint deps-demo deps-test messages migrate clean-demo cluster cluster-down

# --- installation ---------------------------------------------------------------------------
deps-demo:
	@missing=$$(for p in $(APT_DEMO); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then echo "Installing Debian packages: $$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; fi

deps-test:
	@missing=$$(for p in $(APT_TEST); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then echo "Installing Debian packages: $$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; fi

$(VENV)/.installed: pyproject.toml
	@[ -x $(PY) ] || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	@touch $@

venv: $(VENV)/.installed

messages: $(VENV)/.installed
	@cd src/diemcau && ../../$(PY) ../../manage.py compilemessages -v 0

migrate: messages
	$(PY) manage.py migrate --noinput -v 0

# --- the demo -------------------------------------------------------------------------------
# The demo holds the seed's conference today (a rehearsal), so badges, posters and the live programme are valid.
demo: export DIEMCAU_DEMO_DAY ?= today
# A rehearsal may run at any hour: the demo widens the check-in window (120/60 minutes in production)
# to the whole day, so its sessions accept check-ins whenever someone tries it.
demo: export DIEMCAU_CHECKIN_MARGIN_BEFORE_MINUTES ?= 720
demo: export DIEMCAU_CHECKIN_MARGIN_AFTER_MINUTES ?= 720
demo: deps-demo migrate
	$(PY) manage.py load_demo --size demo
	$(PY) manage.py load_demo_events
	$(PY) manage.py load_demo_voice
	$(MAKE) --no-print-directory serve

serve:
	@echo
	@echo "diemcau is running at http://$(HOST):$(PORT)/  (Ctrl+C stops it)"
	@$(PY) manage.py demo_accounts
	@# Background jobs: a private redis-server on a unix socket under var/ (the task broker and, through
	@# REDIS_URL, the channel layer, so pages hear the worker) and one Celery worker with beat, unless
	@# REDIS_URL names a Redis already. The live runtime (Janus root + edge, the synthetic host feed,
	@# HLS) runs beside the web server (uvicorn) too (LIVE=0 serves without it); all stop with it.
	@mkdir -p var; if [ -z "$$REDIS_URL" ]; then export REDIS_URL=unix://$(CURDIR)/var/redis.sock; \
	    setsid redis-server --port 0 --unixsocket $(CURDIR)/var/redis.sock --unixsocketperm 700 --dir $(CURDIR)/var \
	      --save "" --appendonly yes --logfile redis.log & redis=$$!; \
	    for i in $$(seq 100); do [ -S var/redis.sock ] && break; sleep 0.1; done; fi; \
	  $(VENV)/bin/celery -A diemcau worker -B -l WARNING & worker=$$!; \
	  if [ "$(SIP)" = "1" ]; then $(PY) deploy/sip/hall.py up && sip="--sip 10.233.0.1"; fi; \
	  if [ "$(LIVE)" != "0" ]; then $(PY) manage.py run_live --hls $$sip & live=$$!; fi; \
	  trap '[ -n "$$live" ] && kill $$live 2>/dev/null; kill $$worker 2>/dev/null; wait $$worker; \
	    [ -n "$$redis" ] && kill $$redis 2>/dev/null; wait' EXIT INT TERM; \
	  $(VENV)/bin/uvicorn diemcau.asgi:application --host $(HOST) --port $(PORT) --loop uvloop --http httptools --ws websockets --lifespan off --no-access-log --no-proxy-headers

clean-demo:
	rm -rf var

# --- tests ----------------------------------------------------------------------------------
# deps-test first, as the demo does: without Chromium, Janus, Redis or PostgreSQL the browser and media
# tests would skip quietly and a newcomer's run would not be the whole suite.
test: deps-test $(VENV)/.installed messages
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/lint-imports --no-logo
	@# With DATABASE_URL (CI): the main run in two processes (pytest-xdist, a test database each), then
	@# the tests that want the machine to themselves one at a time (marked serial in tests/conftest.py:
	@# timing bounds, server kills, the cluster harness), then the SQLite smoke run the same way. Each
	@# PostgreSQL part lists its slowest tests: the suite must stay well under CI's 30 minutes.
	@if [ -n "$$DATABASE_URL" ]; then \
	  echo "== main run on $${DATABASE_URL%%:*}, two processes"; \
	  $(PY) -m pytest -n 2 -m "not serial" --durations=15 $(PYTEST_ARGS) && \
	  echo "== main run, the serial part" && \
	  $(PY) -m pytest -m serial --durations=15 $(PYTEST_ARGS) && \
	  echo "== smoke run on SQLite" && \
	  env -u DATABASE_URL $(PY) -m pytest -n 2 -m "smoke and not serial" -q -p no:randomly $(PYTEST_ARGS) && \
	  env -u DATABASE_URL $(PY) -m pytest -m "smoke and serial" -q -p no:randomly $(PYTEST_ARGS); \
	else \
	  echo "== run on SQLite (a file test database, so the server-process tests run too)"; \
	  DIEMCAU_SQLITE_TEST=$(CURDIR)/var/test.sqlite3 $(PY) -m pytest $(PYTEST_ARGS); \
	fi

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/lint-imports --no-logo

# --- the cluster harness (deploy/cluster/harness.py; docs/OPERATIONS.md, "The cluster harness") ---
APT_CLUSTER := postgresql nginx redis-server openssl iproute2
cluster: deps-test $(VENV)/.installed messages
	@missing=$$(for p in $(APT_CLUSTER); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then echo "Installing Debian packages: $$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; fi
	$(SUDO) $(PY) deploy/cluster/harness.py up --scenario demo

cluster-down:
	$(SUDO) $(PY) deploy/cluster/harness.py down

# --- benchmarks -----------------------------------------------------------------------------
bench-media-sip: $(VENV)/.installed messages
	$(PY) bench/media_sip.py $(BENCH_ARGS)

bench-%: $(VENV)/.installed messages
	$(PY) bench/$*.py $(BENCH_ARGS)
