# Everything runs inside a local virtualenv (.venv): nothing needs installing by hand.
# Needs only Python >= 3.10, pip, make and git.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PY     := $(BIN)/python
PYTEST_ARGS ?=
# The suite runs on one pytest-xdist worker per core (`make test PYTEST_WORKERS=0`: in one
# process); what must happen once per run (the wheel build) is shared between workers under a
# file lock (tests/conftest.py: run_folder, file_lock).
PYTEST_WORKERS ?= auto

.PHONY: help install dev test lint lint-ci build demo bench docker clean fuzz

help:
	@echo "make install  - create .venv and install ihe-test-utility"
	@echo "make dev      - install with development extras (tests, lint, build)"
	@echo "make test     - run the test suite (one worker per core; PYTEST_WORKERS=0: serial)"
	@echo "make lint     - ruff + mypy --strict"
	@echo "make lint-ci  - actionlint + zizmor (offline) on .github/ and action.yml"
	@echo "make build    - build wheel and sdist into dist/"
	@echo "make demo     - the main job end to end on the embedded simulator"
	@echo "make bench    - run the benchmarks (figures as ratios to in-run baselines)"
	@echo "make fuzz     - the long fuzzing pass (FUZZ_EXAMPLES inputs per target, random)"
	@echo "make docker   - build the Docker image from the wheel"
	@echo "make clean    - remove build outputs and the virtualenv"

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(PY) pyproject.toml
	$(PY) -m pip install --quiet .
	@touch $@

$(VENV)/.installed-dev: $(PY) pyproject.toml
	$(PY) -m pip install --quiet -e ".[dev]"
	@touch $@ $(VENV)/.installed

install: $(VENV)/.installed

dev: $(VENV)/.installed-dev

test: dev
	$(PY) -m pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

lint: dev
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy --strict src

$(VENV)/.installed-workflows: $(VENV)/.installed-dev
	$(PY) -m pip install --quiet -e ".[dev,workflows]"
	@touch $@

# actionlint reads .github/workflows/ (and, through `uses: ./`, action.yml); zizmor audits
# both with no network (--offline), at the "auditor" persona so nothing is waved through.
lint-ci: $(VENV)/.installed-workflows
	$(BIN)/actionlint
	$(BIN)/zizmor --offline --strict-collection --persona auditor .github/ action.yml
	$(BIN)/ruff check .github/action
	$(BIN)/mypy --strict .github/action/run.py

build: dev
	rm -rf dist
	$(PY) -m build --outdir dist .

demo: install
	$(BIN)/ihe demo

bench: dev
	$(PY) -m benchmarks

# The fuzzing pass of tests/fuzz/ with its long budget: FUZZ_EXAMPLES random inputs per target
# (the normal suite runs a few derandomized ones); hypothesis prints inputs tried per target.
FUZZ_EXAMPLES ?= 2000
fuzz: dev
	IHE_FUZZ=long IHE_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(PY) -m pytest tests/fuzz -p no:cacheprovider \
		--hypothesis-show-statistics -q $(PYTEST_ARGS)

docker: build
	docker build -t ihe-test-utility:0.1.0 -t ihe-test-utility:latest .

clean:
	rm -rf dist build .pytest_cache .mypy_cache .ruff_cache .coverage htmlcov src/*.egg-info $(VENV)
