# The two set-up commands of the README: `make demo` and `make test`.
# Both create the virtual environment and install the package on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint install browser asyncapi-parser

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/customs-stream demo

lint: $(STAMP)
	$(BIN)/ruff check stream schemas tests bench examples
	$(BIN)/mypy
	$(BIN)/mypy --strict examples

# The board's test drives Debian's headless Chromium; the secured broker's certificates
# are made with openssl; Prometheus checks its config, rules and the dashboard's queries.
browser:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }
	@command -v openssl >/dev/null 2>&1 || \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openssl >/dev/null; }
	@command -v promtool >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	  apt-get install -y -qq --no-install-recommends prometheus >/dev/null; }

# The official AsyncAPI parser, for the check of schemas/asyncapi.json (npm, git-ignored).
NODE_TOOLS := .cache/node
asyncapi-parser:
	@[ -d $(NODE_TOOLS)/node_modules/@asyncapi/parser ] || \
	  { mkdir -p $(NODE_TOOLS) && cd $(NODE_TOOLS) && npm init -y >/dev/null && \
	    npm install --silent --no-audit --no-fund @asyncapi/parser@3.6.3 >/dev/null; }

test: lint browser asyncapi-parser
	$(BIN)/pytest -n 2 --dist loadscope --cov --cov-report=term --durations=30
