# The two commands of the README: `make demo` and `make test`. Both bootstrap the
# virtual environment (idempotent: reinstalls only when pyproject.toml changes).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test bench venv sysdeps clean

# System packages the tests need, from Debian's packages: headless Calc, its SDK
# (unoidl-write compiles the Calc extension's interface), LibreOffice's Python UNO bridge
# (drives Calc in the tests), poppler's pdftoppm (rendering checks), Node.js (runs the
# Office.js add-in's functions.js) and openssl (the test server's certificate).
# Installed only when missing.
SYSPKGS := libreoffice-calc-nogui libreoffice-dev python3-uno poppler-utils nodejs openssl
LO_SDK := /usr/lib/libreoffice/sdk/bin/unoidl-write
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit("xlhtx needs Python >= 3.11, found " + sys.version.split()[0]) if sys.version_info < (3, 11) else None'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -e '.[test]'
	@touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/xlhtx demo --out xlhtx-demo

sysdeps:
	@if command -v soffice >/dev/null && command -v pdftoppm >/dev/null && [ -x $(LO_SDK) ] && \
	  /usr/bin/python3 -c 'import uno' 2>/dev/null && command -v node >/dev/null && \
	  command -v openssl >/dev/null; then :; else \
	  echo "installing $(SYSPKGS) (Debian packages) for the tests"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $(SYSPKGS) >/dev/null; \
	fi

test: $(STAMP) sysdeps
	$(PY) -m pytest

bench: $(STAMP)
	$(PY) benchmarks/kernels.py --json
	$(PY) benchmarks/udfs.py --json
	$(PY) benchmarks/bulk.py --json
	$(PY) benchmarks/recalc.py --json

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .hypothesis artifacts
