"""`rtastream serve`: the Stream Service's live WebSocket endpoint, its REST API and a page."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from rtastream.cli.arguments import RECONNECT_TIMEOUT, add_reconnect_timeout, port_number
from rtastream.cli.connection import CliError, connect, redact
from rtastream.cli.record import STORE_HELP, store_of

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8180


def add_parser(commands: Any, parent: argparse.ArgumentParser) -> None:
    parser = commands.add_parser(
        "serve",
        parents=[parent],
        help="serve live sessions to RTA clients and browsers",
        description="Serve the sessions in Redis, and with --store those the recorder "
        "kept, as RTA's services do: the live WebSocket endpoint "
        "/rta/v2/sessions/{identity}/stream (sub-protocol mat.ocs.rta.stream-lz4), the "
        "RTA REST API under /rta/v2 (sessions, configs, data), /health, and at / a page "
        "that draws sessions as scrolling waveforms. Ctrl+C stops it (exit status 0). "
        "Needs the serve extra: pip install 'rtastream[serve]' (and 'rtastream[store]' "
        "for --store).",
    )
    add_listen_options(parser)
    parser.add_argument(
        "--store",
        metavar="DIR|URL",
        help=f"also serve the recorder's store (read only; several servers may share one): "
        f"{STORE_HELP.removeprefix('the store: ')}",
    )
    parser.add_argument(
        "--no-redis",
        action="store_true",
        help="serve the --store alone, with no Redis (no live WebSocket stream)",
    )
    add_reconnect_timeout(
        parser, "serve closes the WebSocket clients of its streams (1011) and answers REST with 503"
    )
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


def start(
    url: str | None,
    host: str,
    port: int,
    store: str | None = None,
    reconnect_timeout: float = RECONNECT_TIMEOUT,
) -> Any:
    """The server running on a thread of its own (`rtastream demo --serve`)."""
    server_module()
    from rtastream.server.background import ServerThread

    try:
        return ServerThread(url, host, port, store, reconnect_timeout)
    except OSError as exc:
        raise CliError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None


def run(args: argparse.Namespace) -> int:
    if args.no_redis and args.store is None:
        raise CliError("--no-redis serves a store alone: give --store DIR|URL", code=2)
    redis_url = None if args.no_redis else args.redis
    if redis_url is not None:
        connect(redis_url).close()  # fail now, with one line, if Redis is not there
    if args.store is not None:
        _check_store(args.store)
    server = start(redis_url, args.host, args.port, args.store, args.reconnect_timeout)
    print(
        f"serving {_what(redis_url, args.store)} at {server.url} (Ctrl+C to stop)",
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


def _check_store(url: str) -> None:
    """Fail now, with one line, if the store cannot be opened (a local one must exist:
    serving a mistyped path would show an empty store, not an error)."""
    local = url.removeprefix("file://") if "://" not in url or url.startswith("file://") else None
    if local is not None and not os.path.isdir(local):
        raise CliError(f"no store at {local!r}: rtastream record --store creates one", code=2)
    store_of(url)


def _what(redis_url: str | None, store: str | None) -> str:
    parts = [f"the sessions in {redact(redis_url)}"] if redis_url is not None else []
    parts += [f"the store {redact(store)}"] if store is not None else []
    return " and ".join(parts)
