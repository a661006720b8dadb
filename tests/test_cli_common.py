"""The command line as a whole: help, version, the --redis URL and its errors, exit codes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from cli_helpers import cli_env, run_cli, write_session
from rtastream import __version__
from rtastream.redis_server import free_port

COMMANDS = ("demo", "inspect", "tail", "trim")


def test_help_lists_every_command_and_the_exit_codes():
    result = run_cli("--help")
    assert result.returncode == 0
    for command in COMMANDS:
        assert command in result.stdout
    assert "RTASTREAM_REDIS_URL" in result.stdout and "130" in result.stdout


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_with_the_redis_option(command):
    result = run_cli(command, "--help")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"usage: rtastream {command}")
    assert "--redis URL" in result.stdout


@pytest.mark.subprocess  # the installed script, in its own process
def test_console_script_and_version():
    script = Path(sys.executable).with_name("rtastream")
    result = subprocess.run(
        [str(script), "--version"], capture_output=True, text=True, env=cli_env(), timeout=60
    )
    assert result.returncode == 0
    assert result.stdout.strip() == f"rtastream {__version__}"


def test_no_command_is_a_usage_error():
    result = run_cli()
    assert result.returncode == 2
    assert "required" in result.stderr


@pytest.mark.parametrize(
    "url, problem",
    [
        ("http://localhost:6379", "expected redis://"),
        ("redis://localhost:notaport/0", "Port could not be cast"),
        ("redis://localhost:6379/zero", "database 'zero' is not a number"),
        ("redis://:secret@/0", "no host"),
    ],
)
def test_bad_url_is_one_line_with_exit_2_and_no_password(url, problem):
    result = run_cli("inspect", "--redis", url)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("rtastream: error: bad --redis URL")
    assert problem in result.stderr
    assert "secret" not in result.stderr


@pytest.mark.parametrize("command", ["inspect", "demo --fast"])  # demo connects its own way
def test_unreachable_redis_is_one_line_with_exit_1(command):
    url = f"redis://127.0.0.1:{free_port()}/0"
    result = run_cli(*command.split(), "--redis", url)
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert lines[-1] == lines[-1].strip() and f"cannot reach Redis at {url}" in lines[-1]
    assert "Traceback" not in result.stderr


def test_url_comes_from_the_environment(redis_url, r):
    write_session(r, "from-env", "envstream")
    env = cli_env() | {"RTASTREAM_REDIS_URL": redis_url}
    result = run_cli("inspect", env=env)
    assert result.returncode == 0, result.stderr
    assert "from-env" in result.stdout and "envstream" in result.stdout
    # an explicit --redis wins over the environment
    bad = run_cli("inspect", "--redis", f"redis://127.0.0.1:{free_port()}/0", env=env)
    assert bad.returncode == 1
