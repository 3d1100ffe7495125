# Two commands: `make demo` runs the daily job on the sample world, `make test` runs the suite.
# Both create .venv with the project installed on first use (only Python 3.11 and make needed).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lab sample-data bench clean-venv

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	$(BIN)/python -m ipykernel install --sys-prefix --name bo-workbench --display-name "Back-office workbench (.venv)" >/dev/null
	@touch $(STAMP)

# official schemas (13F validation) when the reference folder sits beside the repo, as in CI
REFERENCE_DIR := $(abspath $(wildcard ../shared/reference))

demo: $(STAMP)
	BO_REFERENCE_DIR=$${BO_REFERENCE_DIR:-$(REFERENCE_DIR)} $(BIN)/bo run

test: $(STAMP)
	$(BIN)/python -m pytest

# JupyterLab on lab/ (working copies of notebooks/, never the templates) with a scratch copy of the
# store; `bo lab` adds --allow-root as root. `make lab ARGS="--port 8899"` passes options to jupyter lab.
lab: $(STAMP)
	$(BIN)/bo lab $(if $(ARGS),-- $(ARGS),)

sample-data: $(STAMP)
	$(BIN)/bo sample-data

clean-venv:
	rm -rf $(VENV)

bench: $(STAMP)
	$(BIN)/python bench/daily_run.py
