# precert: `make run` (start the app on the embedded default) and `make test` (everything CI runs).
VENV   ?= .venv
PY     := $(VENV)/bin/python
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell sha1sum pyproject.toml | cut -c1-12)
HOST   ?= 127.0.0.1
PORT   ?= 8000
SIM_PORT ?= 8100
PORTAL_PORT ?= 8200

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

# The demo payers' electronic channels go to the payer simulator that `make run` starts beside
# the app: Coralbay Medicaid by X12 278, Northwind Health by Da Vinci PAS (docs/payer-sim.md);
# Acme Health through mock portal (a), by the shipped modern-wizard SOPs (docs/portal-sim.md).
DEMO_PAYERS := PRECERT_X12_URL=$${PRECERT_X12_URL:-http://$(HOST):$(SIM_PORT)/x12} \
	PRECERT_PAS_ENDPOINTS=$${PRECERT_PAS_ENDPOINTS:-northwind-health=http://$(HOST):$(SIM_PORT)/fhir} \
	PRECERT_PORTALS=$${PRECERT_PORTALS:-acme-health=modern-wizard@http://$(HOST):$(PORTAL_PORT)} \
	PRECERT_BASE_URL=$${PRECERT_BASE_URL:-http://$(HOST):$(PORT)} \
	PRECERT_INQUIRY_MINUTES=$${PRECERT_INQUIRY_MINUTES:-1}

# The demo queue (synthetic patients, demo logins) is loaded once; later runs add nothing.
# The simulators (payer simulator, mock portal) stop with the app (Ctrl-C).
run: venv
	$(BIN)/precert db upgrade
	$(BIN)/precert payers list
	$(DEMO_FAX) PRECERT_HOST=$(HOST) PRECERT_PORT=$(PORT) $(BIN)/precert demo load
	$(BIN)/precert payer-sim --host $(HOST) --port $(SIM_PORT) & SIM=$$!; \
	$(BIN)/precert portal-sim --host $(HOST) --port $(PORTAL_PORT) & PORTAL=$$!; \
	trap 'kill $$SIM $$PORTAL 2>/dev/null' EXIT INT TERM; \
	$(DEMO_FAX) $(DEMO_PAYERS) $(BIN)/precert serve --host $(HOST) --port $(PORT)

test: venv lint types imports pytest

lint:
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/ruff format --check src tests bench scripts

types:
	$(BIN)/mypy

imports:
	$(BIN)/lint-imports

pytest:
	$(BIN)/pytest -n 2 --dist worksteal -q --durations=15

bench: venv
	$(PY) bench/requirements.py
	$(PY) bench/api_latency.py
	$(PY) bench/schedule_import.py
	$(PY) bench/queue_page.py

clean:
	rm -rf $(VENV) precert.db* var .pytest_cache .mypy_cache .ruff_cache
