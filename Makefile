# The two commands of the README:
#   make start   set everything up and run the product on its embedded default (SQLite,
#                tasks in-process, demo data) at http://127.0.0.1:8000
#   make test    install what the tests need and run the whole suite against PostgreSQL,
#                Redis and a real Celery worker
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python

# Settings of the test run; every one can be overridden from the environment.
# One database name per run (pytest-django creates test_<name> and drops it), so that two runs
# on one machine never share a database.
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/dialinsight_$(shell date +%s%N | tail -c 9)
# A Redis database per run too (1-13; 14 is the benchmarks'), so that concurrent runs do not
# flush each other's queues.
TEST_REDIS_URL ?= redis://127.0.0.1:6379/$(shell shuf -i 1-13 -n 1)

.PHONY: start test venv lint

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt $(VENV)/bin/python
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt $(VENV)/.installed
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

venv: $(VENV)/.installed

# The project's own OpenAI-compatible test server runs beside the web server, registered as the
# demo project's endpoint, so every stage works offline.
start: $(VENV)/.installed
	DEBUG=true $(PY) manage.py migrate --noinput
	DEBUG=true $(PY) manage.py seed_demo
	@echo "Dial-insight Studio on http://127.0.0.1:8000 (log in as admin, lead or annotator; password dialinsight-demo)"
	DEBUG=true sh -c '$(PY) manage.py fake_llm_server --port 8765 --latency-ms 200 & llm=$$!; \
	  trap "kill $$llm 2>/dev/null" EXIT INT TERM; $(PY) manage.py runserver 127.0.0.1:8000'

test: $(VENV)/.installed-dev
	bash .ci/system-deps
	bash .ci/services
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) DEBUG=false HTTPS_ONLY=false \
	  SECRET_KEY=$$($(PY) -c 'import secrets; print(secrets.token_urlsafe(64))') \
	  sh -c '$(PY) manage.py collectstatic --noinput -v0 && $(PY) -m pytest $(PYTEST_ARGS)'

lint: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check .
