# Two commands do everything: `make demo` and `make test`.
# Both create the virtual environment if needed and (re)install seqlab when pyproject.toml or
# setup.cfg changed. VENV can point elsewhere (CI keeps one under ~/.cache/seqlab/).
VENV ?= .venv
PYTHON := $(VENV)/bin/python
# The stamp is keyed by this checkout's path: a shared venv is re-pointed at a new clone.
STAMP := $(VENV)/.seqlab-installed-$(shell pwd | cksum | cut -d' ' -f1)
PYTEST_ARGS ?=

.PHONY: all install demo test test-slow lint bench clean

all: test

$(STAMP): pyproject.toml setup.cfg
	@test -x $(PYTHON) || python3 -m venv $(VENV)
	$(PYTHON) -m pip install -q --upgrade pip
	$(PYTHON) -m pip install -q -e '.[dev]'
	@rm -f $(VENV)/.seqlab-installed-*
	@touch $@

install: $(STAMP)

demo: $(STAMP)
	bash data/demo.sh $(VENV)

test: $(STAMP)
	$(PYTHON) -m pytest $(PYTEST_ARGS)

test-slow: $(STAMP)
	$(PYTHON) -m pytest -m slow $(PYTEST_ARGS)

lint: $(STAMP)
	$(PYTHON) -m ruff check seqlab tests bench recipes
	$(PYTHON) -m ruff format --check seqlab tests bench recipes

clean:
	rm -rf build *.egg-info .pytest_cache
