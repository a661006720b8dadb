"""The `rtastream` command line: demo, inspect, record, export, replay, serve, tail, trim.

Exit status: 0 success; 1 an error at run time (Redis unreachable, unknown session or
stream, Redis refused a command); 2 bad usage (arguments, --redis URL); 130 interrupted by
Ctrl+C, 143 by SIGTERM (the demo still closes its session as truncated first). `tail` and
`serve` end with 0 on Ctrl+C, because that is the normal way to stop them.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

import redis

from rtastream._version import __version__
from rtastream.cli import demo, inspect, record, serve, tail, trim
from rtastream.cli.connection import FALLBACK_URL, URL_ENV, CliError, default_url

COMMANDS = (demo, inspect, record, serve, tail, trim)

EPILOG = f"""\
Every command takes --redis URL (default: ${URL_ENV}, else {FALLBACK_URL});
the demo starts a private redis-server when neither is given.
Exit status: 0 ok, 1 error (e.g. Redis unreachable, unknown session), 2 bad usage,
130 Ctrl+C (tail and serve: 0, their normal way to stop), 143 SIGTERM."""


def redis_option(default: str) -> argparse.ArgumentParser:
    """The --redis option every command shares (a parent parser)."""
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument(
        "--redis",
        metavar="URL",
        default=None,
        help=f"Redis to use: redis://HOST[:PORT][/DB], rediss://..., unix:///PATH, "
        f"redis+sentinel://HOST[:PORT][,...]/SERVICE[/DB] (default: {default})",
    )
    return parent


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rtastream",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Stream live telemetry into Redis in the McLaren RTA protocol, "
        "and look at what is there.",
    )
    parser.add_argument("--version", action="version", version=f"rtastream {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in COMMANDS:
        default = getattr(command, "REDIS_DEFAULT", f"${URL_ENV}, else {FALLBACK_URL}")
        command.add_parser(commands, redis_option(default))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.redis is None and args.command != "demo":  # the demo decides for itself
        args.redis = default_url()
    try:
        code: int = args.run(args)
        return code
    except CliError as exc:
        return fail(str(exc), exc.code)
    except redis.ConnectionError as exc:
        return fail(f"lost the connection to Redis: {exc}", 1)
    except redis.RedisError as exc:
        return fail(f"Redis error: {exc}", 1)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `rtastream inspect | head`: the reader left, nothing to report
        # Point stdout at devnull so the interpreter's final flush does not fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def fail(message: str, code: int) -> int:
    print(f"rtastream: error: {message}", file=sys.stderr)
    return code
