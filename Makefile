# The two commands: `make run` and `make test`. Both build .venv on first use.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: run test unit lint lock soak bench engine install clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "Marketplace needs Python 3.11 or newer (set PYTHON=python3.11)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Dependencies come from the hashed locks (exact versions), then the project itself without
# resolving anything; a stamp is older than its lock after `make lock` or a pull, so it re-installs.
$(VENV)/.installed: requirements.lock pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	$(BIN)/python -m pip check
	@touch $@

$(VENV)/.installed-test: requirements-test.lock pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements-test.lock
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	$(BIN)/python -m pip check
	@touch $@ $(VENV)/.installed

install: $(VENV)/.installed

run: $(VENV)/.installed
	$(BIN)/marketplace dev

# The linters first (seconds), then the suite on TEST_WORKERS pytest-xdist workers: the tests that
# share the broker's names, the default ports or the Docker engine run in order within a group of
# their own (tests/conftest.py), everything else beside them. TEST_WORKERS=0 runs it in one process.
TEST_WORKERS ?= 2

test: lint
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadgroup $(PYTEST_ARGS)

# The fast tier, to run first: domain rules on an in-memory unit of work, no broker or database server.
unit: $(VENV)/.installed-test
	$(BIN)/python -m pytest tests/unit $(PYTEST_ARGS)

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/mypy $(wildcard shared services marketplace)

# The one command that regenerates both locks from pyproject.toml: requirements.lock (the runtime:
# the image and `make run`) and requirements-test.lock (runtime + the test extra, pinned to the same
# versions: `make test` and CI). pip-compile keeps today's pins; to take upgrades:
# `make lock LOCK_ARGS=--upgrade` (or LOCK_ARGS='--upgrade-package flask').
LOCK_VENV  := .venv-lock
PIP_TOOLS  := pip-tools==7.6.2
LOCK_FLAGS := --quiet --generate-hashes --allow-unsafe --strip-extras --build-deps-for=wheel \
              --no-emit-index-url --no-emit-find-links $(LOCK_ARGS)

$(LOCK_VENV)/.installed:
	$(PYTHON) -m venv $(LOCK_VENV)
	$(LOCK_VENV)/bin/python -m pip install --quiet '$(PIP_TOOLS)'
	@touch $@

lock: $(LOCK_VENV)/.installed
	CUSTOM_COMPILE_COMMAND="make lock" $(LOCK_VENV)/bin/pip-compile $(LOCK_FLAGS) \
		--output-file=requirements.lock pyproject.toml
	CUSTOM_COMPILE_COMMAND="make lock" $(LOCK_VENV)/bin/pip-compile $(LOCK_FLAGS) \
		--extra=test --constraint=requirements.lock --output-file=requirements-test.lock pyproject.toml

# A Docker engine and every image compose needs, where none runs and no registry answers (deploy/README.md).
engine:
	deploy/local-engine.sh app

# The long fault-injection run: the whole suite as processes under every fault at once (needs RabbitMQ and PostgreSQL).
soak: $(VENV)/.installed-test
	$(BIN)/python -m pytest tests/faults -m soak -s $(PYTEST_ARGS)

# The benchmarks (bench/README.md): the real topology on this machine against baselines run beside it.
# The load generator, the charts and the profiler live in bench/.venv, apart from the services' environment.
BENCH_VENV := bench/.venv

$(BENCH_VENV)/.installed: bench/requirements.txt
	$(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(BENCH_VENV)/bin/python -m pip install --quiet -r bench/requirements.txt
	@touch $@

bench: $(VENV)/.installed-test $(BENCH_VENV)/.installed
	@command -v wrk >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
		echo "installing wrk (the HTTP load generator) with apt-get" && apt-get install -y -qq wrk >/dev/null; } || \
		{ echo "make bench needs wrk: apt-get install wrk (Debian, Ubuntu) or brew install wrk (macOS)"; exit 1; }
	$(BIN)/python -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) $(LOCK_VENV) $(BENCH_VENV) var .pytest_cache .hypothesis
