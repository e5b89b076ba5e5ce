# pomdb: `make demo` sets up and runs the main job, `make test` sets up and runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CSLE_DIR := .tools/csle

.PHONY: setup demo test test-python test-node test-e2e extension tools bench clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/pip install --quiet --disable-pip-version-check -e ".[test]"
	touch $@

# The main job: a scripted debug session over DAP on the scenario fitted from real IDS
# measurements, with the sample PPO policy.
demo: setup
	$(BIN)/pomdb debug samples/intrusion_prevention_emulation.yaml \
		--policy samples/policies/ppo_emulation.json --seed 13 --script samples/demo.pomdb

# --ignore-scripts: keytar, an optional dependency of @vscode/vsce, would download a
# prebuilt binary from outside the package registry.
extension:
	cd extension && npm ci --ignore-scripts --no-audit --no-fund
	cd extension && npm run compile && npm run package

# code-server, playwright-core, the Node test packages, Debian's chromium, and CSLE's
# package for the side-by-side tests.
tools: setup
	scripts/install-vscode-test.sh
	scripts/install-csle.sh $(CSLE_DIR)

test: setup tools
	$(MAKE) test-python test-node test-e2e

test-python:
	POMDB_CSLE_DIR=$(CURDIR)/$(CSLE_DIR) $(BIN)/python -m pytest -q

test-node:
	cd tests && npm run test:node

test-e2e:
	cd tests && npm run test:e2e

bench: setup
	scripts/install-csle.sh $(CSLE_DIR)
	POMDB_CSLE_DIR=$(CURDIR)/$(CSLE_DIR) $(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) .tools extension/out extension/node_modules tests/node_modules
