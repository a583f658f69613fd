# The two set-up commands (see README): `make demo` runs Unhazzle on the bundled example,
# `make test` runs every check and test. Both install what they need on a fresh machine.
VENV ?= .venv
PYTHON ?= python3

.PHONY: demo test lint bench prebuilt golden clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[test]'
	touch $@

demo: $(VENV)/.installed
	bash scripts/demo.sh

test: $(VENV)/.installed
	bash scripts/test.sh

lint: $(VENV)/.installed
	bash scripts/lint.sh

bench: $(VENV)/.installed
	$(VENV)/bin/python -m bench

prebuilt: $(VENV)/.installed
	$(VENV)/bin/python scripts/prebuild.py

golden: $(VENV)/.installed
	$(VENV)/bin/pytest tests -k golden --update-golden

clean:
	rm -rf $(VENV) out
