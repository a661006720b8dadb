"""`rtastream record`, `export` and `replay`: sessions kept in a store, and taken out."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from typing import Any

from rtastream import keys
from rtastream.cli.arguments import positive_int
from rtastream.cli.connection import CliError, connect, redact

STORE_HELP = "the store: a directory, or s3://BUCKET/PREFIX[?endpoint_override=HOST:PORT&...]"


def need_store_extra() -> None:
    """CliError naming the extra to install when pyarrow is missing."""
    try:
        import rtastream.store  # noqa: F401
    except ModuleNotFoundError as exc:
        if exc.name != "pyarrow":
            raise
        raise CliError(f"{exc}: pip install 'rtastream[store]'") from None


def store_of(url: str, **options: Any) -> Any:
    """The Store at `url`, or CliError naming the extra to install or what is wrong."""
    need_store_extra()
    from rtastream.store import Store

    try:
        return Store(url, **options)
    except (OSError, ValueError) as exc:
        raise CliError(f"cannot open the store {url!r}: {exc}", code=2) from None


def add_parser(commands: Any, parent: argparse.ArgumentParser) -> None:
    """`record`, `export` and `replay`."""
    add_record_parser(commands, parent)
    add_export_parser(commands, parent)
    add_replay_parser(commands, parent)


def add_record_parser(commands: Any, parent: argparse.ArgumentParser) -> None:
    record = commands.add_parser(
        "record",
        parents=[parent],
        help="keep every session of every stream in a store (Parquet)",
        description="Follow every stream listed in `streams` (new ones within a second) and "
        "keep each session in the store: its Session JSON history, items and bound "
        "configurations; an ended session gets files of its own. Data trimmed from "
        "Redis before it was read is reported on stderr and in the store. A lease in "
        "Redis keeps two recorders off one stream. SIGINT or SIGTERM: commit what was "
        "read, give the leases back, exit 0. Needs the store extra: "
        "pip install 'rtastream[store]'.",
    )
    record.add_argument("--store", required=True, metavar="DIR|URL", help=STORE_HELP)
    record.add_argument(
        "--stream",
        action="append",
        metavar="NAME",
        help="record only this stream (repeatable; default: every stream)",
    )
    record.add_argument(
        "--flush-interval",
        type=float,
        default=1.0,
        metavar="S",
        help="seconds between commits to the store: how fresh a live session is there (default 1)",
    )
    record.add_argument(
        "--lease-ttl",
        type=float,
        default=10.0,
        metavar="S",
        help="seconds a stream's lease outlives its recorder (default 10): how long "
        "another recorder waits to take over a stream whose recorder died",
    )
    record.add_argument(
        "--abandon-after",
        type=float,
        default=keys.ABANDON_AFTER,
        metavar="S",
        help="seconds after which an open session whose writer stopped (no heartbeat in "
        f"its hash, no entry) gets its files as `abandoned` (default {keys.ABANDON_AFTER:g})",
    )
    record.add_argument(
        "--name",
        help="this recorder's name in its leases (default: host, process id and a random "
        "part); a recorder restarted under its old name takes its streams back at once",
    )
    record.add_argument(
        "--compaction-memory",
        type=positive_int,
        default=256,
        metavar="MIB",
        help="MiB of decoded samples an ended session's compaction gathers in memory "
        "before it sorts them into scratch files beside the store (default 256; its peak "
        "memory is about 1.5 times this)",
    )
    record.set_defaults(run=run_record)


def add_export_parser(commands: Any, parent: argparse.ArgumentParser) -> None:
    export = session_parser(
        commands,
        parent,
        "export",
        help="write one session, of a store or straight from Redis, as Parquet, Arrow or CSV",
        description="Write session IDENTITY of the store (--store) or, without --store, as "
        "Redis holds it now (--redis: its messages not trimmed yet) into folder OUT: "
        "session.json and one file per table (samples per kind and type, rows, events, "
        "history), in the store's layout; channels gain their names when a bound "
        "configuration gives them.",
        store_required=False,
    )
    export.add_argument("--format", choices=("parquet", "arrow", "csv"), default="parquet")
    export.add_argument("--out", required=True, metavar="OUT", help="folder to write into")
    export.set_defaults(run=run_export)


def add_replay_parser(commands: Any, parent: argparse.ArgumentParser) -> None:
    replay = session_parser(
        commands,
        parent,
        "replay",
        help="stream a stored session back into Redis as a new live session",
        description="Stream session IDENTITY of the store into Redis through the writer, as "
        "a new session with the original's timing (or --speed times faster; 0: at once), "
        "timestamps shifted to start now unless --keep-time. Prints the new identity.",
    )
    replay.add_argument("--speed", type=float, default=1.0, help="time factor (default 1)")
    replay.add_argument("--as", dest="new_identity", metavar="IDENTITY", help="new identity")
    replay.add_argument("--to-stream", metavar="NAME", help="stream (default: the original's)")
    replay.add_argument("--keep-time", action="store_true", help="keep the original timestamps")
    replay.set_defaults(run=run_replay)


def session_parser(
    commands: Any,
    parent: argparse.ArgumentParser,
    name: str,
    store_required: bool = True,
    **texts: str,
) -> argparse.ArgumentParser:
    """A command about one session of a store: IDENTITY and --store."""
    parser: argparse.ArgumentParser = commands.add_parser(name, parents=[parent], **texts)
    parser.add_argument("identity", metavar="IDENTITY")
    parser.add_argument("--store", required=store_required, metavar="DIR|URL", help=STORE_HELP)
    return parser


def run_record(args: argparse.Namespace) -> int:
    store = store_of(args.store, compaction_memory=args.compaction_memory << 20)
    from rtastream.recorder import Recorder

    try:
        recorder = Recorder(
            connect(args.redis),
            store,
            streams_only=args.stream,
            flush_interval=args.flush_interval,
            lease_ttl=args.lease_ttl,
            name=args.name,
            abandon_after=args.abandon_after,
        )
    except ValueError as exc:
        raise CliError(str(exc), code=2) from None
    logging.basicConfig(format="rtastream record: %(message)s", level=logging.INFO)
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: recorder.stop())
    print(
        f"recording {redact(args.redis)} into {args.store} (Ctrl+C to stop)",
        file=sys.stderr,
        flush=True,
    )
    recorder.run()
    return 0


def run_export(args: argparse.Namespace) -> int:
    if args.store is not None:
        store = store_of(args.store)
        from rtastream.store.export import export

        try:
            written = export(store, args.identity, args.format, args.out)
        except KeyError as exc:
            raise CliError(str(exc.args[0])) from None
    else:
        written = export_from_redis(args)
    for path in written:
        print(path)
    return 0


def export_from_redis(args: argparse.Namespace) -> list[str]:
    need_store_extra()
    from rtastream import SessionNotFound
    from rtastream.store.export import export_from_redis

    client = connect(args.redis)
    try:
        with client:
            written: list[str] = export_from_redis(client, args.identity, args.format, args.out)
    except SessionNotFound as exc:
        raise CliError(str(exc)) from None
    except KeyError as exc:
        raise CliError(str(exc.args[0])) from None
    return written


def run_replay(args: argparse.Namespace) -> int:
    store = store_of(args.store)
    connect(args.redis).close()  # fail now, with one line, if Redis is not there
    from rtastream.recorder.replay import replay

    try:
        identity = replay(
            store,
            args.identity,
            args.redis,
            speed=args.speed,
            new_identity=args.new_identity,
            stream=args.to_stream,
            keep_time=args.keep_time,
        )
    except KeyError as exc:
        raise CliError(str(exc.args[0])) from None
    except ValueError as exc:
        raise CliError(str(exc), code=2) from None
    print(identity)
    return 0
