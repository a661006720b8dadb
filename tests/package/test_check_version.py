"""tools/check_version.py: the release tag and every built distribution must carry the
version of _version.py, or the release stops with the disagreement named."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import rtastream

pytestmark = pytest.mark.subprocess  # the version check, in its own process

TOOL = Path(__file__).resolve().parents[2] / "tools" / "check_version.py"


@pytest.fixture
def version_file(tmp_path):
    path = tmp_path / "_version.py"
    path.write_text('__version__ = "1.2.3"\n')
    return path


def check(version_file: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(TOOL), "--version-file", str(version_file), *args],
        capture_output=True,
        text=True,
    )


def test_tag_and_distributions_that_agree_pass(version_file):
    result = check(
        version_file,
        "--tag",
        "v1.2.3",
        "dist/rtastream-1.2.3.tar.gz",
        "rtastream-1.2.3-cp314-cp314-manylinux_2_28_x86_64.whl",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "check_version: 1.2.3, tag v1.2.3, 2 distributions agree\n"


def test_a_tag_that_disagrees_stops_the_release(version_file):
    result = check(version_file, "--tag", "v1.2.4")
    assert result.returncode == 1
    assert result.stderr == (
        "check_version: FAIL: tag v1.2.4 does not match _version.py's 1.2.3 (expected tag v1.2.3)\n"
    )


def test_a_distribution_of_another_version_stops_the_release(version_file):
    result = check(
        version_file, "rtastream-1.2.3.tar.gz", "rtastream-1.2.2-cp310-abi3-win_amd64.whl"
    )
    assert result.returncode == 1
    assert result.stderr == (
        "check_version: FAIL: rtastream-1.2.2-cp310-abi3-win_amd64.whl is "
        "version 1.2.2, _version.py says 1.2.3\n"
    )


def test_a_file_that_is_no_distribution_is_refused(version_file):
    result = check(version_file, "rtastream-1.2.3.zip")
    assert result.returncode == 1
    assert result.stderr == (
        "check_version: FAIL: rtastream-1.2.3.zip is neither a wheel nor an sdist\n"
    )


def test_a_version_file_without_a_version_is_refused(tmp_path):
    path = tmp_path / "_version.py"
    path.write_text("version = 1\n")
    result = check(path)
    assert result.returncode == 1
    assert result.stderr == f'check_version: FAIL: no __version__ = "..." line in {path}\n'


def test_by_default_the_package_version_file_is_read():
    if not (TOOL.parent.parent / "src" / "rtastream" / "_version.py").is_file():
        pytest.skip("tests/ and tools/ copied without src/ (the wheel tests)")
    version = rtastream.__version__
    result = subprocess.run(
        [sys.executable, str(TOOL), "--tag", f"v{version}"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"check_version: {version}, tag v{version}\n"
