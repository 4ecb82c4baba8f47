# The two commands of the README: `make demo` and `make test`. Both bootstrap the
# virtual environment (idempotent: reinstalls only when pyproject.toml changes).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test bench venv sysdeps clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit("xlhtx needs Python >= 3.11, found " + sys.version.split()[0]) if sys.version_info < (3, 11) else None'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -e '.[test]'
	@touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/xlhtx demo

test: $(STAMP)
	$(PY) -m pytest

bench: $(STAMP)
	$(PY) benchmarks/kernels.py --json

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .hypothesis artifacts
