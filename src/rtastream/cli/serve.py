"""`rtastream serve`: the Stream Service's live WebSocket endpoint, its REST API and a page."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from rtastream.cli.arguments import port_number
from rtastream.cli.connection import CliError, connect, redact

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8180


def add_parser(commands: Any, parent: argparse.ArgumentParser) -> None:
    parser = commands.add_parser(
        "serve",
        parents=[parent],
        help="serve live sessions to RTA clients and browsers",
        description="Serve the sessions in Redis as the RTA Stream Service does: the live "
        "WebSocket endpoint /rta/v2/sessions/{identity}/stream (sub-protocol "
        "mat.ocs.rta.stream-lz4), GET /rta/v2/sessions, /rta/v2/sessions/{identity} "
        "and /health, and at / a page that draws live sessions as scrolling "
        "waveforms. Ctrl+C stops it (exit status 0). Needs the serve extra: "
        "pip install 'rtastream[serve]'.",
    )
    add_listen_options(parser)
    parser.set_defaults(run=run)


def add_listen_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--host",
        default=DEFAULT_HOST,
        help=f"address to listen on (default {DEFAULT_HOST}: this machine "
        "only; 0.0.0.0 for every interface)",
    )
    parser.add_argument(
        "--port",
        type=port_number,
        default=DEFAULT_PORT,
        help=f"TCP port (default {DEFAULT_PORT}; 0 picks a free one)",
    )


def server_module() -> Any:
    """rtastream.server, or CliError naming the extra to install."""
    try:
        import rtastream.server
    except ModuleNotFoundError as exc:
        if exc.name != "aiohttp":
            raise
        raise CliError(str(exc)) from None
    return rtastream.server


def start(url: str, host: str, port: int) -> Any:
    """The server running on a thread of its own (`rtastream demo --serve`)."""
    server_module()
    from rtastream.server.background import ServerThread

    try:
        return ServerThread(url, host, port)
    except OSError as exc:
        raise CliError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None


def run(args: argparse.Namespace) -> int:
    connect(args.redis).close()  # fail now, with one line, if Redis is not there
    server = start(args.redis, args.host, args.port)
    print(
        f"serving the sessions in {redact(args.redis)} at {server.url} (Ctrl+C to stop)",
        file=sys.stderr,
        flush=True,
    )
    try:
        server.thread.join()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
    return 0
