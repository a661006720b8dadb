# One entry point for people and CI. Every target installs what it is missing first:
# system packages (liblz4-dev, redis-server) with apt-get, then a .venv with the package.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
INSTALLED := $(VENV)/.installed
NATIVE := pyproject.toml CMakeLists.txt $(wildcard cext/*)
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: test demo bench bench-smoke wheel-check protos system install clean

test: install
	$(BIN)/python -m pytest tests

demo: install
	$(BIN)/python -m rtastream demo

# Benchmarks (pytest-benchmark, on a private redis-server): writes BENCHMARKS.md and
# docs/benchmarks.png from the JSON results. matplotlib is needed only here.
BENCH_JSON := .benchmarks/results.json
bench: install
	$(BIN)/pip install -q matplotlib
	@mkdir -p $(dir $(BENCH_JSON))
	$(BIN)/python -m pytest benchmarks -q --benchmark-json=$(BENCH_JSON)
	$(BIN)/python -m benchmarks.report $(BENCH_JSON) --markdown BENCHMARKS.md --plot docs/benchmarks.png

# CI: every benchmark runs once on small inputs, untimed, so the suite cannot rot.
bench-smoke: install
	$(BIN)/python -m pytest benchmarks -q --benchmark-disable

# The release check (tools/wheel-check.sh): sdist, wheel built from it, auditwheel repair
# bundling liblz4, install into a fresh venv, tests run against that wheel, not src/.
# WHEEL_TESTS: pytest arguments, e.g. "-m 'not redis' tests" for the tests needing no Redis.
WHEEL_TESTS ?= tests
wheel-check: system
	PYTHON=$(PYTHON) WHEEL_TESTS="$(WHEEL_TESTS)" bash tools/wheel-check.sh

# System libraries and servers the build and the tests need.
system:
	@if ! command -v redis-server >/dev/null || ! command -v pkg-config >/dev/null \
	    || ! pkg-config --exists liblz4; then \
	  echo "installing liblz4-dev, redis-server and pkg-config with apt-get"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq liblz4-dev redis-server pkg-config >/dev/null; \
	fi

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# Editable install: Python files are live; the native core is rebuilt when its sources change.
$(INSTALLED): $(BIN)/python $(NATIVE) | system
	$(BIN)/pip install -q scikit-build-core cython cython-cmake cmake ninja "numpy>=2.0"
	$(BIN)/pip install -q --no-build-isolation -e ".[test]"
	touch $@

install: system $(INSTALLED)

# Regenerate the protobuf classes in src/rtastream/_proto from protos/.
protos: install
	$(BIN)/pip install -q grpcio-tools
	$(BIN)/python -m grpc_tools.protoc -Iprotos --python_out=src/rtastream/_proto \
	  --pyi_out=src/rtastream/_proto protos/model_data.proto protos/net_stream.proto
	sed -i 's/^import model_data_pb2 as/from . import model_data_pb2 as/' \
	  src/rtastream/_proto/net_stream_pb2.py src/rtastream/_proto/net_stream_pb2.pyi

clean:
	rm -rf build dist wheelhouse $(VENV) .pytest_cache .hypothesis .benchmarks
