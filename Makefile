# The two commands that matter: `make run` and `make test`. Both set everything up first.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 5000
export CPU_INSTANCE_PATH ?= instance

.PHONY: run test install browser edge migrate demo bench clean

$(BIN)/.installed: pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) is required (set PYTHON=...)"; exit 1; }
	@echo "==> creating $(VENV) and installing pinned dependencies"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --progress-bar off -e '.[test]'
	@touch $@

install: $(BIN)/.installed

migrate: install
	$(BIN)/cpu db upgrade

demo: migrate
	$(BIN)/cpu demo
	$(BIN)/cpu search reindex

## make run: embedded default (SQLite shards under $(CPU_INSTANCE_PATH)/, in-process relay, demo data);
## gunicorn's control socket is $(CPU_INSTANCE_PATH)/gunicorn.ctl, so copies with their own folders run side by side
run: demo
	@echo "==> serving on http://127.0.0.1:$(PORT)  (instance: $(CPU_INSTANCE_PATH))"
	$(BIN)/gunicorn --config gunicorn.conf.py --bind 127.0.0.1:$(PORT) --workers 1 --threads 8 wsgi:app

# Browser tests drive Debian's chromium through Playwright (Playwright's own browser download
# cannot work here); install it when it is missing.
browser:
	@if [ ! -x /usr/bin/chromium ]; then \
		echo "==> installing Debian's chromium for the browser tests"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; \
	fi

# The topology test puts Debian's nginx in front of six region processes, as the edge of
# each data center does (deploy/nginx/), and its hurricane drill drops a database's port with
# Debian's iptables; install them when they are missing.
edge:
	@if ! command -v nginx >/dev/null && [ ! -x /usr/sbin/nginx ]; then \
		echo "==> installing Debian's nginx for the topology test"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq nginx >/dev/null; \
	fi
	@if ! command -v iptables >/dev/null && [ ! -x /usr/sbin/iptables ]; then \
		echo "==> installing Debian's iptables for the hurricane drill"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq iptables >/dev/null; \
	fi

## make test: the whole suite, on SQLite and on PostgreSQL, browser and topology tests included
test: install browser edge
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: install
	$(BIN)/python bench/router.py

clean:
	rm -rf $(VENV) instance .pytest_cache
