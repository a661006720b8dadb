"""Check an installed rtastream wheel: run with the Python of the environment it went into,
from a directory outside the source tree.

Asserts that rtastream is imported from that environment (not from src/), that the wheel
carries its own liblz4 and that, on Linux, the process really maps that copy and not the
system's; that the version metadata matches rtastream.__version__; and that the type stubs
were installed, and the live page's static files with them. Exits non-zero with the reason
on the first failure.
"""

from __future__ import annotations

import sys
from importlib import metadata
from pathlib import Path

import rtastream
from rtastream import _native

LIB_SUFFIXES = (".so", ".dylib", ".dll")


def fail(reason: str) -> None:
    sys.exit(f"check_installed: FAIL: {reason}")


def bundled_lz4(dist: metadata.Distribution) -> list[Path]:
    """The liblz4 copies the repair step (auditwheel, delocate, delvewheel) put in the wheel."""
    files = [Path(str(dist.locate_file(f))) for f in dist.files or ()]
    return [f for f in files if "lz4" in f.name and any(s in f.name for s in LIB_SUFFIXES)]


def mapped_lz4() -> list[Path]:
    """Every liblz4 file this process has mapped (Linux: /proc/self/maps)."""
    paths = {line.split(maxsplit=5)[-1].strip() for line in open("/proc/self/maps")}
    return sorted(Path(p) for p in paths if "liblz4" in Path(p).name)


def main() -> None:
    package = Path(rtastream.__file__).resolve().parent
    prefix = Path(sys.prefix).resolve()
    if sys.prefix == sys.base_prefix:
        fail(f"not running in a virtual environment ({sys.executable})")
    if not package.is_relative_to(prefix) or "site-packages" not in package.parts:
        fail(f"rtastream imported from {package}, not from the environment at {prefix}")
    if _native.Burst.__module__ != "rtastream._native":
        fail(f"Burst.__module__ is {_native.Burst.__module__!r}, not 'rtastream._native'")

    dist = metadata.distribution("rtastream")
    if dist.version != rtastream.__version__:
        fail(f"metadata version {dist.version} != rtastream.__version__ {rtastream.__version__}")
    for stub in ("py.typed", "_native.pyi", "_resp.pyi"):
        if not (package / stub).is_file():
            fail(f"{stub} is not installed in {package}")
    for page_file in ("index.html", "page.css", "page.js", "rta.js"):
        if not (package / "server" / "static" / page_file).is_file():
            fail(f"the page's {page_file} is not installed in {package / 'server' / 'static'}")

    bundled = bundled_lz4(dist)
    if not bundled:
        fail("the wheel carries no liblz4: was it repaired (auditwheel/delocate/delvewheel)?")
    if rtastream.unpack(rtastream.compress(b"rtastream " * 100)) != b"rtastream " * 100:
        fail("LZ4 round trip through the native module changed the data")
    if sys.platform.startswith("linux"):
        mapped = mapped_lz4()
        if not mapped or any(m.resolve() not in {b.resolve() for b in bundled} for m in mapped):
            fail(f"liblz4 mapped from {[str(m) for m in mapped]}, expected only {bundled}")
        where = f"loaded from {mapped[0]}"
    else:
        where = f"bundled as {bundled[0]} (load path checked on Linux only)"

    lz4 = _native.LZ4_VERSION
    print(f"rtastream {dist.version} from {package}")
    print(f"liblz4 {lz4 // 10000}.{lz4 // 100 % 100}.{lz4 % 100} {where}")
    print("check_installed: OK")


if __name__ == "__main__":
    main()
