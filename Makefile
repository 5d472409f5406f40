# Perpetua: `make run` sets everything up and opens the station; `make test` runs every check.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# System libraries the program needs: zbar for pyzbar, PulseAudio client for sounds,
# the X/GL libraries Qt loads, and Xvfb for window tests.
SYSTEM_PACKAGES := libzbar0 libpulse0 libgl1 libegl1 libxkbcommon0 libxkbcommon-x11-0 \
	libfontconfig1 libdbus-1-3 xvfb xdotool libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1

.PHONY: run test lint typecheck system-packages venv clean bench screenshots drills

run: venv
	$(BIN)/perpetua db upgrade
	$(BIN)/perpetua demo --if-empty
	$(BIN)/perpetua verify
	$(BIN)/perpetua station

# The suite runs on PYTEST_WORKERS processes (pytest-xdist; 0 runs it in this one process).
# Tests marked xdist_group("heavy") (the drills, process races, real X servers, the bench) run
# one after another on one worker, never two at once; every other test goes to whichever worker
# is free. PYTEST_ARGS adds options, e.g. PYTEST_ARGS="-k offline" or "--durations=20".
PYTEST_WORKERS ?= 2

test: venv
	$(BIN)/ruff check app tests bench
	$(BIN)/ruff format --check app tests bench
	$(BIN)/mypy
	QT_QPA_PLATFORM=offscreen $(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadgroup $(PYTEST_ARGS)

lint:
	$(BIN)/ruff check app tests bench
	$(BIN)/ruff format --check app tests bench

typecheck:
	$(BIN)/mypy

bench: venv
	$(BIN)/python bench/ledger.py

# The fault drills at the sizes of RELIABILITY.md (make test runs them smaller): network cuts (T4),
# database restarts (T3), station kills (T2), the window through a cut (T14). They need PostgreSQL:
# PERPETUA_TEST_DATABASE_URL, as for make test. Each prints one JSON line of figures.
drills: venv
	PERPETUA_DRILLS=full QT_QPA_PLATFORM=offscreen $(BIN)/pytest -s \
		$(sort $(wildcard tests/*/test_drill_*.py))

venv: system-packages $(STAMP)

# Installs missing Debian packages when running as root; otherwise names them.
system-packages:
	@missing=""; for p in $(SYSTEM_PACKAGES); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			echo "installing system packages:$$missing"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
		else \
			echo "missing system packages:$$missing (install them with: sudo apt-get install$$missing)"; \
		fi; \
	fi

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

clean:
	rm -rf $(VENV) build dist *.egg-info .mypy_cache .ruff_cache .pytest_cache .hypothesis

# Screenshots of every station screen for the documentation (its own Xvfb, and a demo database on
# the PostgreSQL of PERPETUA_TEST_DATABASE_URL or 127.0.0.1:5432, reached through a proxy it cuts
# for the offline picture).
screenshots: venv
	$(BIN)/python -m tests.e2e.screenshots docs
