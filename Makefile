# `make demo` and `make test` work on a fresh machine with Python 3.11 and pip: the first
# target they depend on builds .venv from the lock file.
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PIP := $(BIN)/python -m pip --disable-pip-version-check --quiet

.PHONY: setup browser redis demo test test-fast check bench lock clean

setup: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -r requirements.lock
	# The venv's own setuptools builds the editable install: no build download needed.
	$(PIP) install --no-deps --no-build-isolation -e .
	touch $(STAMP)

# The browser tests drive Debian's chromium (Playwright never downloads a browser here), with
# a CJK font so screenshots show Chinese rather than boxes. Installed as root, or through sudo
# when it can run without a password.
browser:
	@if [ ! -x /usr/bin/chromium ] || ! fc-list :lang=zh 2>/dev/null | grep -q .; then \
		echo "正在安装 chromium 与中文字体（浏览器测试需要）"; \
		if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO="sudo -n"; fi; \
		$$SUDO apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends \
			chromium fonts-wqy-microhei fontconfig >/dev/null; \
	fi
	@test -x /usr/bin/chromium || { echo "缺少 /usr/bin/chromium：请安装 Debian 的 chromium 包"; exit 1; }
	@fc-list :lang=zh | grep -q . || { echo "缺少中文字体：请安装 Debian 的 fonts-wqy-microhei"; exit 1; }

# The Celery test runs real workers over Debian's redis-server (started by the test on
# 127.0.0.1, stopped by its process id); installed here when missing, as chromium is above.
redis:
	@if ! command -v redis-server >/dev/null 2>&1 && [ ! -x /usr/bin/redis-server ]; then \
		echo "正在安装 redis-server（Celery 多工作机测试需要）"; \
		if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO="sudo -n"; fi; \
		$$SUDO apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends \
			redis-server >/dev/null; \
	fi
	@command -v redis-server >/dev/null 2>&1 || test -x /usr/bin/redis-server || \
		{ echo "缺少 redis-server：请安装 Debian 的 redis-server 包"; exit 1; }

demo: setup
	$(BIN)/hub demo

# two test files at a time, each file whole on one worker (a file's tests share its fixtures
# and some run in order)
XDIST := -n 2 --dist loadfile

test: setup browser redis
	$(BIN)/pytest $(XDIST) -m "not serial"
	$(BIN)/pytest -m serial

test-fast: setup
	$(BIN)/pytest $(XDIST) -m "not slow and not serial"
	$(BIN)/pytest -m "serial and not slow"

check: setup
	$(BIN)/ruff check hub pipelines tests
	$(BIN)/ruff format --check hub pipelines tests
	$(BIN)/mypy

bench: setup
	$(BIN)/hub bench --residents 200000 --json
	$(BIN)/hub bench suggest --rows 100000 --json
	$(BIN)/hub bench linkage --records 200000 --json
	$(BIN)/hub bench districts --districts 4 --residents-per-district 300000 --workers 1 --workers 2 --json

# Re-pin after changing dependencies in pyproject.toml.
lock: setup
	$(PIP) install -e '.[dev]'
	$(BIN)/python -m pip freeze --all --exclude-editable | grep -v "^pip==" > requirements.lock

clean:
	rm -rf $(VENV) test-artifacts data/warehouse.duckdb* data/incoming data/archive data/published data/gx data/truth \
		data/reports data/submissions data/templates
