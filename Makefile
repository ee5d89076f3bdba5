# precert: `make run` (start the app on the embedded default) and `make test` (everything CI runs).
VENV   ?= .venv
PY     := $(VENV)/bin/python
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell sha1sum pyproject.toml | cut -c1-12)
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: run test lint types imports pytest venv bench clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

# The demo clinic's fax cover details (555-01xx numbers are reserved for fiction), unless set.
DEMO_FAX := PRECERT_FAX_SENDER_PHONE=$${PRECERT_FAX_SENDER_PHONE:-555-555-0100} \
	PRECERT_FAX_SENDER_NUMBER=$${PRECERT_FAX_SENDER_NUMBER:-555-555-0199}

# The demo queue (synthetic patients, demo logins) is loaded once; later runs add nothing.
run: venv
	$(BIN)/precert db upgrade
	$(BIN)/precert payers list
	$(DEMO_FAX) PRECERT_HOST=$(HOST) PRECERT_PORT=$(PORT) $(BIN)/precert demo load
	$(DEMO_FAX) $(BIN)/precert serve --host $(HOST) --port $(PORT)

test: venv lint types imports pytest

lint:
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/ruff format --check src tests bench scripts

types:
	$(BIN)/mypy

imports:
	$(BIN)/lint-imports

pytest:
	$(BIN)/pytest -n 2 -q

bench: venv
	$(PY) bench/requirements.py
	$(PY) bench/api_latency.py
	$(PY) bench/schedule_import.py
	$(PY) bench/queue_page.py

clean:
	rm -rf $(VENV) precert.db* var .pytest_cache .mypy_cache .ruff_cache
