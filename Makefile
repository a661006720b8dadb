# One entry point for people and CI. Every target installs what it is missing first:
# system packages (liblz4-dev, redis-server) with apt-get, then a venv with the package.
#
# Every Python package comes from the lock (requirements/lock.txt, and tools-lock.txt for the
# docs and workflow tools), so a clean clone installs the same versions next month as today;
# `make lock` refreshes it. `LOCK=` (empty) installs the newest releases instead: CI's
# newest-dependencies job. uv installs (it is fast; pinned here, bootstrapped with pip).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
NATIVE := pyproject.toml CMakeLists.txt $(wildcard cext/*)
export PYTHONDONTWRITEBYTECODE := 1

UV_VERSION := 0.13.10
UV_VENV := .venv-uv
UV := $(UV_VENV)/bin/uv
LOCK ?= requirements/lock.txt
TOOLS_LOCK ?= requirements/tools-lock.txt
ifneq ($(LOCK),)
# Read by every uv pip install, in isolated build environments too (the wheel check's build).
export UV_CONSTRAINT := $(abspath $(LOCK))
endif
uv_install = $(UV) pip install -q --python $(1)

# WHEEL=path/to.whl: .venv gets that wheel (with its test extra) instead of the editable
# build, so the suite tests what ships (.ci/run does this with the wheel-check's wheel).
WHEEL ?=
INSTALLED := $(VENV)/.installed$(if $(WHEEL),-wheel)
# Tests run on every core; `make test PYTEST_WORKERS=0` runs them in one process.
PYTEST_WORKERS ?= auto
PYTEST_PARALLEL := $(if $(filter 0,$(PYTEST_WORKERS)),,-n $(PYTEST_WORKERS))

.PHONY: test demo bench bench-smoke fuzz wheel-check lint debug docs check-workflows protos \
	system install lock clean

test: install
	$(BIN)/python -m pytest $(PYTEST_PARALLEL) tests

# Streams a live session until Ctrl+C, serves the page that draws it (the URL is printed) and
# records it into the store under .rtastream/ (ignored by git; `rtastream export` reads it).
demo: install
	$(BIN)/python -m rtastream demo --serve --record .rtastream/store

# Benchmarks (pytest-benchmark, on a private redis-server): writes docs/benchmarks.md (the
# site's benchmarks page) and docs/benchmarks.png from the JSON results. matplotlib is
# needed only here.
BENCH_JSON := .benchmarks/results.json
bench: install
	$(call uv_install,$(BIN)/python) matplotlib
	@mkdir -p $(dir $(BENCH_JSON))
	$(BIN)/python -m pytest benchmarks -q --benchmark-json=$(BENCH_JSON)
	$(BIN)/python -m benchmarks.report $(BENCH_JSON) --markdown docs/benchmarks.md --plot docs/benchmarks.png

# CI: every benchmark runs once on small inputs, untimed, so the suite cannot rot.
bench-smoke: install
	$(BIN)/python -m pytest $(PYTEST_PARALLEL) benchmarks -q --benchmark-disable

# The decoder fuzz check of the test suite for longer: libFuzzer (atheris) feeds mutated
# messages to the native decoder and its twin; stats at the end (tests/fuzz_decoder.py).
FUZZ_SECONDS ?= 300
fuzz: install
	$(call uv_install,$(BIN)/python) atheris
	mkdir -p build/fuzz && cd tests && ../$(BIN)/python fuzz_decoder.py -max_total_time=$(FUZZ_SECONDS) \
	  -print_final_stats=1 -artifact_prefix=../build/fuzz/

# The release check (tools/wheel-check.sh): sdist, wheel built from it, auditwheel repair
# bundling liblz4 into wheelhouse/, then what only an installed wheel can prove (it imports
# from site-packages, carries liblz4, its stubs and the page's static files). The suite runs
# against that wheel with `make test WHEEL=wheelhouse/....whl`, as .ci/run does.
wheel-check: system $(UV)
	PYTHON=$(PYTHON) UV=$(abspath $(UV)) bash tools/wheel-check.sh

# ruff (lint, format check) and mypy --strict (options in pyproject.toml), in the package's
# venv so that mypy sees the dependencies' types. All three run; any finding fails.
lint: install $(VENV)/.lint-installed
	@status=0; \
	$(BIN)/ruff check . || status=1; \
	$(BIN)/ruff format --check . || status=1; \
	$(BIN)/mypy || status=1; \
	exit $$status

$(VENV)/.lint-installed: pyproject.toml $(LOCK) | $(BIN)/python
	$(call uv_install,$(BIN)/python) --group lint
	touch $@

# The native modules built with AddressSanitizer and UBSan (own build dir and venv), and the
# tests that need no Redis run against them. The interpreter is not instrumented, so the ASan
# runtime is preloaded; leak checks are off (CPython keeps memory until exit by design).
DEBUG_VENV := .venv-debug
debug: $(DEBUG_VENV)/.installed
	ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 \
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	LD_PRELOAD="$$(cc -print-file-name=libasan.so)" \
	$(DEBUG_VENV)/bin/python -m pytest $(PYTEST_PARALLEL) -p no:cacheprovider -q -m "not redis and not subprocess" tests

$(DEBUG_VENV)/.installed: $(NATIVE) $(LOCK) | system $(UV)
	$(UV) venv -q --allow-existing --python $(PYTHON) $(DEBUG_VENV)
	$(call uv_install,$(DEBUG_VENV)/bin/python) $(BUILD_DEPS)
	$(call uv_install,$(DEBUG_VENV)/bin/python) --no-build-isolation -C build-dir=build/debug \
	  -C cmake.build-type=RelWithDebInfo -C cmake.define.RTASTREAM_SANITIZE=ON \
	  --reinstall-package rtastream -e ".[test]"
	touch $@

# Tools that need no build of the package (docs, workflow checks) get a venv of their own,
# from the dependency groups in pyproject.toml.
TOOLS := .venv-tools
$(TOOLS)/.installed: pyproject.toml $(TOOLS_LOCK) | $(UV)
	$(UV) venv -q --allow-existing --python $(PYTHON) $(TOOLS)
	$(if $(TOOLS_LOCK),UV_CONSTRAINT=$(abspath $(TOOLS_LOCK)),env -u UV_CONSTRAINT) \
	  $(call uv_install,$(TOOLS)/bin/python) --group docs --group workflows
	touch $@

# The documentation site (mkdocs.yml; API pages from the docstrings and stubs), into
# build/site. --strict: a broken link or a missing reference fails the build.
docs: $(TOOLS)/.installed
	NO_MKDOCS_2_WARNING=1 $(TOOLS)/bin/mkdocs build --strict --site-dir build/site

# Static audit (zizmor, offline) and schema validation of the GitHub workflows.
check-workflows: $(TOOLS)/.installed
	$(TOOLS)/bin/zizmor --offline .github/workflows
	$(TOOLS)/bin/check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml

# System libraries and servers the build and the tests need; headless Chromium for the
# page tests (tests/server/test_page.py).
system:
	@if ! command -v redis-server >/dev/null || ! command -v pkg-config >/dev/null \
	    || ! pkg-config --exists liblz4; then \
	  echo "installing liblz4-dev, redis-server and pkg-config with apt-get"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq liblz4-dev redis-server pkg-config >/dev/null; \
	fi
	@if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then \
	  echo "installing chromium and chromium-driver with apt-get"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends \
	    chromium chromium-driver >/dev/null; \
	fi

$(UV):
	$(PYTHON) -m venv $(UV_VENV)
	$(UV_VENV)/bin/pip install -q --disable-pip-version-check uv==$(UV_VERSION)

# --seed: the venv has pip too, for people who use it.
$(BIN)/python: | $(UV)
	$(UV) venv -q --seed --python $(PYTHON) $(VENV)

# Editable install: Python files are live; the native core is rebuilt when its sources change.
BUILD_DEPS := scikit-build-core cython cython-cmake cmake ninja "numpy>=2.0"
$(INSTALLED): $(BIN)/python $(NATIVE) $(LOCK) $(WHEEL) | system
ifeq ($(WHEEL),)
	$(call uv_install,$(BIN)/python) $(BUILD_DEPS)
	$(call uv_install,$(BIN)/python) --no-build-isolation --reinstall-package rtastream -e ".[test]"
else
	$(call uv_install,$(BIN)/python) --reinstall-package rtastream "rtastream[test] @ $(abspath $(WHEEL))"
endif
	touch $@

install: system $(INSTALLED)

# The lock, from pyproject.toml (dependencies, extras, groups) and requirements/tools.in: the
# newest releases that fit, for every Python the package supports (the docs tools: 3.11+).
LOCK_COMPILE = env -u UV_CONSTRAINT $(UV) pip compile -q --universal --upgrade --custom-compile-command "make lock"
lock: | $(UV)
	$(LOCK_COMPILE) --python-version 3.10 --all-extras --group pyproject.toml:lint \
	  --no-emit-package rtastream pyproject.toml requirements/tools.in -o requirements/lock.txt
	$(LOCK_COMPILE) --python-version 3.11 --group pyproject.toml:docs \
	  --group pyproject.toml:workflows -o requirements/tools-lock.txt

# Regenerate the protobuf classes in src/rtastream/_proto from protos/.
protos: install
	$(call uv_install,$(BIN)/python) grpcio-tools
	$(BIN)/python -m grpc_tools.protoc -Iprotos --python_out=src/rtastream/_proto \
	  --pyi_out=src/rtastream/_proto protos/model_data.proto protos/net_stream.proto
	sed -i 's/^import model_data_pb2 as/from . import model_data_pb2 as/' \
	  src/rtastream/_proto/net_stream_pb2.py src/rtastream/_proto/net_stream_pb2.pyi

clean:
	rm -rf build dist wheelhouse $(VENV) $(DEBUG_VENV) $(TOOLS) $(UV_VENV) .pytest_cache .hypothesis .benchmarks
