# Every target installs from pinned versions: pyproject.toml pins the direct dependencies and
# constraints.txt pins everything they pull in.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv lint browser test test-long bench run simulate clean distclean

venv: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $@

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# Headless Chromium for the report screenshot tests (tests/e2e); installed from Debian when missing.
browser:
	command -v chromium >/dev/null || { \
	  SUDO=$$( [ "$$(id -u)" -eq 0 ] || echo sudo ); \
	  $$SUDO apt-get update && $$SUDO apt-get install -y --no-install-recommends chromium; }

test: lint browser
	$(BIN)/pytest -m "not slow" -n 2 --durations=15 -q

# The long sweeps: thousands of simulator seeds and the long hypothesis profile.
test-long: $(STAMP)
	HYPOTHESIS_PROFILE=long $(BIN)/pytest -m slow -n 2 -q

bench: $(STAMP)
	$(BIN)/python -m bench

# The live council: a broker, 33 agent processes, and demo motions decided as they land.
run: $(STAMP)
	$(BIN)/council up --council .council --init --demo 8 --serve

# The same council in the deterministic simulator, 10 of 33 Byzantine.
simulate: $(STAMP)
	$(BIN)/council simulate --agents 33 --byzantine 10 --requests 500 --seed 1

clean:
	rm -rf build dist *.egg-info .mypy_cache .ruff_cache .pytest_cache .hypothesis
	rm -f bench/results.json
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV) .council
