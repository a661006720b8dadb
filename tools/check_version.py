"""The release's version has one home, src/rtastream/_version.py: check that a release tag
and the built distributions agree with it.

    python tools/check_version.py [--tag vX.Y.Z] [--version-file PATH] [DIST_FILE ...]

Exits non-zero naming the first disagreement; prints the version when all agree.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

VERSION_FILE = Path(__file__).resolve().parent.parent / "src" / "rtastream" / "_version.py"
# The pattern scikit-build-core's regex provider reads the version with.
VERSION_RE = re.compile(r"""^__version__\s*=\s*['"](?P<value>[^'"]+)['"]""", re.MULTILINE)


def source_version(path: Path) -> str:
    match = VERSION_RE.search(path.read_text())
    if match is None:
        sys.exit(f'check_version: FAIL: no __version__ = "..." line in {path}')
    return match["value"]


def dist_version(name: str) -> str:
    """The version part of a wheel (name-version-tags.whl) or sdist (name-version.tar.gz)."""
    if name.endswith(".whl"):
        return name.split("-")[1]
    if name.endswith(".tar.gz"):
        return name[: -len(".tar.gz")].rsplit("-", 1)[1]
    sys.exit(f"check_version: FAIL: {name} is neither a wheel nor an sdist")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tag", help="the release tag, e.g. v0.1.0")
    parser.add_argument("--version-file", type=Path, default=VERSION_FILE)
    parser.add_argument("dists", nargs="*", type=Path, help="built wheels and sdists")
    args = parser.parse_args(argv)
    version = source_version(args.version_file)
    if args.tag is not None and args.tag != f"v{version}":
        sys.exit(
            f"check_version: FAIL: tag {args.tag} does not match _version.py's "
            f"{version} (expected tag v{version})"
        )
    for dist in args.dists:
        if dist_version(dist.name) != version:
            sys.exit(
                f"check_version: FAIL: {dist.name} is version {dist_version(dist.name)}, "
                f"_version.py says {version}"
            )
    print(
        f"check_version: {version}"
        + (f", tag {args.tag}" if args.tag else "")
        + (f", {len(args.dists)} distributions agree" if args.dists else "")
    )


if __name__ == "__main__":
    main()
