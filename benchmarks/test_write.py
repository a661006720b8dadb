"""Writing to Redis: rtastream's writers against a redis-py pipeline per burst and against
redis-benchmark, on a private redis-server started by the suite (loopback TCP).

Each timed round writes `n` bursts and waits until Redis has acknowledged all of them.
Before each pre-packed round (untimed) redis-benchmark sends `n` XADDs of the same payload
size over one connection, 16 per pipeline, to the same server; so every round is compared
with a floor measured moments before it, on the same noisy machine. The streams are emptied
before every round.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import itertools
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest
import redis

import rtastream
import rtastream.aio
from benchmarks import purepython, variants
from benchmarks.barewriter import BareWriter
from benchmarks.report_sections import BARE_INLINE, BARE_THREAD
from benchmarks.report_targets import LIVE_BURST, LIVE_CALL
from benchmarks.workloads import TYPICAL, WRITE_WORKLOAD
from rtastream import keys
from rtastream._columns import DEFAULT_TARGET
from rtastream.configuration import Configuration
from rtastream.writer.core import MAX_ROUND

STREAM = "bench"
FLOOR_STREAM = "redis-benchmark"
ROUNDS = 7


def redis_benchmark(port: int, payload: bytes, n: int) -> float:
    """XADDs per second redis-benchmark reaches: one connection, 16 per pipeline."""
    binary = shutil.which("redis-benchmark")
    if binary is None:
        raise FileNotFoundError(
            "redis-benchmark not found on PATH (Debian: apt-get install "
            "redis-tools, which redis-server pulls in)"
        )
    # -x reads the last argument from stdin, which redis-benchmark cuts at a NUL byte:
    # send a payload of the same size without NULs.
    command = [
        binary,
        "-p",
        str(port),
        "-c",
        "1",
        "-P",
        "16",
        "-n",
        str(n),
        "--csv",
        "-x",
        "XADD",
        keys.stream_key(FLOOR_STREAM),
        "*",
        keys.ENTRY_ID,
        "1",
        keys.ENTRY_DATA,
    ]
    out = subprocess.run(
        command, input=payload.replace(b"\0", b"\1"), capture_output=True, check=True
    ).stdout.decode()
    return float(list(csv.reader(io.StringIO(out)))[-1][1])


class Rounds:
    """Untimed work before each round: the redis-benchmark floor (when given a payload),
    then empty streams."""

    def __init__(self, server, n: int, payload: bytes | None = None) -> None:
        self.server, self.payload, self.n = server, payload, n
        self.client = redis.Redis.from_url(server.url)
        self.floor: list[float] = []

    def setup(self) -> None:
        if self.payload is not None:
            self.floor.append(redis_benchmark(self.server.port, self.payload, self.n))
        self.client.delete(keys.stream_key(FLOOR_STREAM), keys.stream_key(STREAM))

    def check(self, per_burst: int) -> None:
        """The last round's messages all arrived (earlier rounds' were deleted)."""
        assert self.client.xlen(keys.stream_key(STREAM)) == self.n * per_burst
        self.client.close()


DRIVERS = ["sync", "asyncio"]

RoundOf = Callable[[Callable[[], Any], int], Callable[[], None]]


@contextlib.contextmanager
def writer_session(
    url: str, identity: str, driver: str, config: Configuration | None = None
) -> Iterator[tuple[Any, RoundOf]]:
    """A session of the sync or asyncio writer (on an event loop of its own), bound to
    `config` if given, and how to time a round with it: round_of(step, n) calls step() n
    times (awaiting what it returns on asyncio), then flush()."""
    if driver == "sync":
        with rtastream.RedisStreamBuffer(url) as buffer:
            session = buffer.open_session(identity, STREAM, config=config)

            def sync_round_of(step: Callable[[], Any], n: int) -> Callable[[], None]:
                def write_round() -> None:
                    for _ in range(n):
                        step()
                    session.flush()

                return write_round

            yield session, sync_round_of
        return
    loop = asyncio.new_event_loop()
    buffer = rtastream.aio.RedisStreamBuffer(url)
    try:
        session = loop.run_until_complete(buffer.open_session(identity, STREAM, config=config))

        def async_round_of(step: Callable[[], Any], n: int) -> Callable[[], None]:
            async def write_round() -> None:
                for _ in range(n):
                    await step()
                await session.flush()

            return lambda: loop.run_until_complete(write_round())

        yield session, async_round_of
    finally:
        loop.run_until_complete(buffer.close())
        loop.close()


def named(variant: str, driver: str) -> str:
    return variant if driver == "sync" else f"{variant} {driver}"


def run_rounds(benchmark, rounds: Rounds, write_round, smoke: bool, **info) -> None:
    benchmark.pedantic(write_round, setup=rounds.setup, rounds=1 if smoke else ROUNDS)
    if rounds.floor:
        benchmark.extra_info["redis_benchmark_rps"] = rounds.floor
    benchmark.extra_info.update(info)


def count(smoke: bool, full: int) -> int:
    return 20 if smoke else full


# ---- pre-packed messages: the writer's own cost, encoding excluded -------------------

PREPACKED = "write: pre-packed ~64 KiB messages (XADD + HSET + EXPIRE per burst)"
PREPACKED_ABOUT = (
    f"One {WRITE_WORKLOAD.name} burst packed once (one ~56 KiB LZ4 message); each round "
    "writes it 2000 times with its time range (XADD, HSET tStart/tEnd/lastUpdated, EXPIRE "
    "per burst) and waits for every reply. The floor: redis-benchmark XADD of a payload of "
    "the same size, one connection, 16 per pipeline, run just before each round."
)


@pytest.mark.parametrize("driver", DRIVERS)
def test_write_prepacked_rtastream(benchmark, redis_server, redis_url, prepacked, smoke, driver):
    messages, _ = prepacked
    n = count(smoke, 2000)
    rounds = Rounds(redis_server, n, messages[0][0])
    with writer_session(redis_url, f"bench-prepacked-{driver}", driver) as (session, round_of):
        benchmark.group = PREPACKED
        run_rounds(
            benchmark,
            rounds,
            round_of(lambda: session.write_messages(messages), n),
            smoke,
            variant=named("rtastream", driver),
            messages=n,
            message_bytes=len(messages[0][0]),
            about=PREPACKED_ABOUT,
        )
        rounds.check(per_burst=1)


def test_write_prepacked_pure_python(benchmark, redis_server, redis_url, prepacked, smoke):
    messages, (start, end) = prepacked
    message = messages[0][0]
    n = count(smoke, 2000)
    rounds = Rounds(redis_server, n, message)
    client = redis.Redis.from_url(redis_url)
    writer = purepython.Writer(client, "bench-prepacked-pure", STREAM)

    def write_round() -> None:
        for _ in range(n):
            writer.write(message, start, end)

    benchmark.group = PREPACKED
    run_rounds(
        benchmark,
        rounds,
        write_round,
        smoke,
        variant="pure-python",
        messages=n,
        message_bytes=len(message),
    )
    rounds.check(per_burst=1)
    client.close()


# ---- encode and write, end to end ---------------------------------------------------

END_TO_END = f"write: encode + write {TYPICAL.channels}x{TYPICAL.samples} float64 per burst"
END_TO_END_ABOUT = (
    f"Each burst is built from numpy ({TYPICAL.name}, 64 KiB of values) and written: rtastream "
    "packs it into one message (75 KiB uncompressed) with Burst + session.write(); the "
    "pure-Python path builds one message with protobuf + python-lz4 and writes it with a "
    "redis-py pipeline. 1000 bursts per round, then wait for every reply. The floors encode "
    "the same way and send the same commands over a raw socket (benchmarks/barewriter.py)."
)


def _burst_args():
    ts = TYPICAL.timestamps
    return TYPICAL.channel_ids, ts, TYPICAL.values, int(ts[0]), int(ts[-1])


@pytest.mark.parametrize("driver", DRIVERS)
def test_encode_write_rtastream(benchmark, redis_server, redis_url, smoke, driver):
    ids, ts, values, start, end = _burst_args()
    n = count(smoke, 1000)
    rounds = Rounds(redis_server, n)
    with writer_session(redis_url, f"bench-e2e-{driver}", driver) as (session, round_of):

        def encode_and_write() -> Any:
            burst = rtastream.Burst()
            burst.timestamped(ids, ts, values)
            burst.time_range(start, end)
            return session.write(burst)

        benchmark.group = END_TO_END
        run_rounds(
            benchmark,
            rounds,
            round_of(encode_and_write, n),
            smoke,
            variant=named("rtastream", driver),
            messages=n,
            message_bytes=sum(map(len, variants.rtastream_encoder(TYPICAL)())),
            about=END_TO_END_ABOUT,
        )
        rounds.check(per_burst=1)


def test_encode_write_pure_python(benchmark, redis_server, redis_url, smoke):
    ids, ts, values, start, end = _burst_args()
    n = count(smoke, 1000)
    rounds = Rounds(redis_server, n)
    client = redis.Redis.from_url(redis_url)
    writer = purepython.Writer(client, "bench-e2e-pure", STREAM)

    def write_round() -> None:
        for _ in range(n):
            writer.write(purepython.timestamped(ids, ts, values), start, end)

    benchmark.group = END_TO_END
    run_rounds(
        benchmark,
        rounds,
        write_round,
        smoke,
        variant="pure-python",
        messages=n,
        message_bytes=len(purepython.timestamped(ids, ts, values)),
    )
    rounds.check(per_burst=1)
    client.close()


@pytest.mark.parametrize("threaded", [True, False], ids=["thread", "inline"])
def test_encode_write_bare_floor(benchmark, redis_server, redis_url, smoke, threaded):
    ids, ts, values, start, end = _burst_args()
    n = count(smoke, 1000)
    rounds = Rounds(redis_server, n)
    writer = BareWriter(redis_url, STREAM, "bench-e2e-bare", threaded)

    def write_round() -> None:
        for _ in range(n):
            burst = rtastream.Burst()
            burst.timestamped(ids, ts, values)
            burst.time_range(start, end)
            for message, _ in burst.pack_with_time_ranges(2 * DEFAULT_TARGET):
                writer.write(message, start, end)
        writer.flush()

    benchmark.group = END_TO_END
    run_rounds(
        benchmark,
        rounds,
        write_round,
        smoke,
        variant=BARE_THREAD if threaded else BARE_INLINE,
        messages=n,
        message_bytes=sum(map(len, variants.rtastream_encoder(TYPICAL)())),
    )
    rounds.check(per_burst=1)
    writer.close()


# ---- encode and write through the live API, beside Burst + write() --------------------

LIVE = (
    f"write: live API, session.timestamped() of {TYPICAL.channels}x{TYPICAL.samples} "
    "float64, channel ids as a list"
)
LIVE_ABOUT = (
    f"Each call hands one block ({TYPICAL.name}, 64 KiB of values, channel ids as a Python "
    "list) to session.timestamped(), which checks it and, the block filling a burst, encodes, "
    "packs and queues it at once; 1000 calls per round, then wait for every reply. Beside it, "
    "the same blocks built by the caller (Burst.timestamped() and time_range()) and sent "
    "with session.write(). Targets: the live API within 1.2x of Burst + write(), the "
    "asyncio driver within 1.1x of the sync one."
)


def _live_call(session: Any, live: bool) -> Callable[[], Any]:
    """The round's next call: the next block, its timestamps after the previous one's,
    through the live API or built into a Burst and written (a coroutine on asyncio)."""
    ts, ids, values = TYPICAL.timestamps, TYPICAL.channel_ids.tolist(), TYPICAL.values
    span = int(ts[-1] - ts[0]) + int(ts[1] - ts[0])
    blocks = itertools.count()

    def call() -> Any:
        times = ts + next(blocks) * span
        if live:
            return session.timestamped(ids, times, values)
        burst = rtastream.Burst()
        burst.timestamped(ids, times, values)
        burst.time_range(int(ts[0]), int(times[-1]))
        return session.write(burst)

    return call


@pytest.mark.parametrize("driver", DRIVERS)
@pytest.mark.parametrize("live", [True, False], ids=["live", "burst"])
def test_encode_write_live_rtastream(benchmark, redis_server, redis_url, smoke, live, driver):
    n = count(smoke, 1000)
    rounds = Rounds(redis_server, n)
    with writer_session(redis_url, f"bench-live-{driver}", driver) as (session, round_of):
        benchmark.group = LIVE
        run_rounds(
            benchmark,
            rounds,
            round_of(_live_call(session, live), n),
            smoke,
            variant=named(LIVE_CALL if live else LIVE_BURST, driver),
            messages=n,
            message_bytes=sum(map(len, variants.rtastream_encoder(TYPICAL)())),
            about=LIVE_ABOUT,
        )
        rounds.check(per_burst=1)


# ---- the live API, one call per sample: the README's loop ------------------------------

PER_SAMPLE = "write: live API, one call per sample of 3 float64 channels"
PER_SAMPLE_ABOUT = (
    "The README's loop: session.row([1, 2, 3], t, row) once per 1 kHz sample (row the 24 "
    "bytes of its three float64 values, t an int), each row its own RowData; beside it "
    "session.timestamped([1, 2, 3], [t], values) once per sample (values a (3, 1) float64 "
    "array), which the writer merges into one TimestampedData per channel per burst. The "
    "writer checks every call. 20 000 samples per round, then wait for every reply; the "
    "time is per sample (bursts/s is samples/s here), and the ratio sets each form beside "
    "the same samples given to session.timestamped() in blocks of 1000: the cost of the "
    "calls themselves."
)
PER_SAMPLE_CALLS = 20_000
PER_BLOCK = "session.timestamped(), 1000 samples a call"
PER_SAMPLE_FORMS = {
    "row": ("session.row(), a call per sample", rtastream.RowItem),
    "timestamped": ("session.timestamped(), a call per sample", rtastream.TimestampedItem),
    "block": (PER_BLOCK, rtastream.TimestampedItem),
}


@pytest.mark.parametrize("form", list(PER_SAMPLE_FORMS))
def test_encode_write_live_per_sample(benchmark, redis_server, redis_url, smoke, form):
    n = count(smoke, PER_SAMPLE_CALLS)
    ids, period, block = [1, 2, 3], 1_000_000, 1000
    values = np.sin(np.arange(3 * n) / 100.0).reshape(3, n)
    samples = [np.ascontiguousarray(values[:, k : k + 1]) for k in range(n)]
    rows = [sample.tobytes() for sample in samples]
    rounds = Rounds(redis_server, n)
    start = itertools.count(int(TYPICAL.timestamps[0]), n * period)
    with rtastream.RedisStreamBuffer(redis_url) as buffer:
        session = buffer.open_session("bench-per-sample", STREAM)

        def write_round() -> None:
            t0 = next(start)
            if form == "row":
                for k in range(n):
                    session.row(ids, t0 + k * period, rows[k])
            elif form == "timestamped":
                for k in range(n):
                    session.timestamped(ids, [t0 + k * period], samples[k])
            else:
                times = t0 + np.arange(n, dtype=np.int64) * period
                for k in range(0, n, block):
                    session.timestamped(ids, times[k : k + block], values[:, k : k + block])
            session.flush()

        variant, kind = PER_SAMPLE_FORMS[form]
        benchmark.group = PER_SAMPLE
        run_rounds(
            benchmark,
            rounds,
            write_round,
            smoke,
            variant=variant,
            baseline=PER_BLOCK,
            messages=n,
            message_bytes=values[:, 0].nbytes,
            about=PER_SAMPLE_ABOUT,
        )
    written = [
        item
        for _, fields in rounds.client.xrange(keys.stream_key(STREAM))
        for item in rtastream.decode(fields[keys.ENTRY_DATA.encode()])
        if isinstance(item, kind)
    ]
    # The last round's samples (earlier rounds' were deleted): a row holds one of each
    # channel, a TimestampedData one channel's.
    found = sum(
        len(i.channel_ids) if isinstance(i, rtastream.RowItem) else len(i.timestamps)
        for i in written
    )
    assert found == 3 * n
    rounds.client.close()


# ---- the live API with a configuration, beside the same calls without one ------------

CONFIGURED = "write: live API with and without a configuration"
CONFIGURED_ABOUT = (
    "The same calls with and without a configuration bound to the session (with one, each "
    "call's channels, kind and dtype are looked up in a table made when it was bound; a "
    "row's inside the encoder's call): "
    f"session.timestamped() of {TYPICAL.name} blocks (1000 calls a round), and the README's "
    "loop, session.row() of 3 float64 channels once per sample (20 000 calls a round). "
    "Each round is paired with a round of the other variant run just before it (untimed by "
    "pytest-benchmark, timed alike), so the two alternate in one run: the ratio is the "
    "median over those pairs, both orders pooled (and the same of the caller thread's CPU "
    "time, where the checks run). "
    "Target: with a configuration within 1.05x of without."
)
CONFIGURED_FORMS = {"blocks": 1000, "row per sample": PER_SAMPLE_CALLS}
CONFIGURED_ROUNDS = 15  # each variant's: 30 pairs in all, half of them in each order


def _configured_round(session: Any, form: str) -> Callable[[], Any]:
    if form == "blocks":
        return _live_call(session, live=True)
    row = np.zeros(3).tobytes()
    times = itertools.count(int(TYPICAL.timestamps[0]), 1_000_000)
    return lambda: session.row([1, 2, 3], next(times), row)


def _configuration(form: str) -> Configuration:
    if form == "blocks":
        ids = TYPICAL.channel_ids.tolist()
        return Configuration.simple(
            "bench", {f"c{i}": ("f64", "timestamped", "") for i in ids}, first_channel=ids[0]
        )
    return Configuration.simple("bench", {f"c{i}": ("f64", "row", "") for i in (1, 2, 3)})


class PairedRounds(Rounds):
    """Before each timed round (untimed), a round of the other variant, timed here; and
    the CPU time of the caller's thread in each (where the checks run: steadier than the
    time on a busy machine, as it leaves out the I/O thread and Redis)."""

    def __init__(self, server, n: int, other_round: Callable[[], None]) -> None:
        super().__init__(server, n)
        self.other_round = other_round
        self.other: list[float] = []
        self.other_cpu: list[float] = []
        self.cpu: list[float] = []  # the timed rounds'

    def setup(self) -> None:
        super().setup()
        start, cpu = time.perf_counter(), time.thread_time()
        self.other_round()
        self.other.append(time.perf_counter() - start)
        self.other_cpu.append(time.thread_time() - cpu)
        super().setup()

    def timing_cpu(self, write_round: Callable[[], None]) -> Callable[[], None]:
        def timed_round() -> None:
            cpu = time.thread_time()
            write_round()
            self.cpu.append(time.thread_time() - cpu)

        return timed_round


@pytest.mark.parametrize("configured", [False, True], ids=["without", "with"])
@pytest.mark.parametrize("form", list(CONFIGURED_FORMS))
def test_live_with_configuration(benchmark, redis_server, redis_url, smoke, form, configured):
    n = count(smoke, CONFIGURED_FORMS[form])
    config = _configuration(form)
    with (
        writer_session(redis_url, f"bench-plain-{form}", "sync") as plain,
        writer_session(redis_url, f"bench-configured-{form}", "sync", config) as checked,
    ):
        # Each (session, round_of) pair: a round of the first, flushed by it.
        (timed, timed_round_of), (other, other_round_of) = (
            (checked, plain) if configured else (plain, checked)
        )
        other_round = other_round_of(_configured_round(other, form), n)
        rounds = PairedRounds(redis_server, n, other_round)
        benchmark.group = f"{CONFIGURED}, {form}"
        benchmark.pedantic(
            rounds.timing_cpu(timed_round_of(_configured_round(timed, form), n)),
            setup=rounds.setup,
            rounds=1 if smoke else CONFIGURED_ROUNDS,
        )
        benchmark.extra_info.update(
            variant=f"{form}, {'with' if configured else 'without'} configuration",
            baseline=f"{form}, without configuration",
            paired_with_other=rounds.other,
            caller_cpu=rounds.cpu,
            caller_cpu_paired_with_other=rounds.other_cpu,
            messages=n,
            message_bytes=(
                sum(map(len, variants.rtastream_encoder(TYPICAL)())) if form == "blocks" else 24
            ),
            about=CONFIGURED_ABOUT,
        )
    assert rounds.client.xlen(keys.stream_key(STREAM)) >= 1
    rounds.client.close()


# ---- back-pressure: a stalled Redis must not grow the writer's memory ----------------

QUEUE_SIZE = 64


def test_queue_stays_bounded_when_redis_stalls(benchmark, redis_url, prepacked, smoke):
    """CLIENT PAUSE ... WRITE stalls every write command on the server (reads still run) while
    a producer writes bursts as fast as it can. The producer must block once the queue is
    full: bursts accepted but not yet in Redis stay within queue_size batches plus the one
    round the I/O thread holds, and all of them arrive once Redis resumes."""
    messages, _ = prepacked
    pause = 0.5 if smoke else 3.0
    admin = redis.Redis.from_url(redis_url)
    stream_key = keys.stream_key(STREAM)
    result: dict[str, object] = {}

    def stall() -> None:
        with rtastream.RedisStreamBuffer(redis_url, queue_size=QUEUE_SIZE) as buffer:
            session = buffer.open_session("bench-stall", STREAM)
            depths, backlog, written = [0], [0], [0]
            stop = threading.Event()

            def watch() -> None:  # XLEN is a read: it runs while writes are paused
                while not stop.is_set():
                    depths.append(buffer._core.queued)
                    backlog.append(written[0] - admin.xlen(stream_key))
                    time.sleep(0.005)

            watcher = threading.Thread(target=watch)
            base = admin.xlen(stream_key)
            admin.execute_command("CLIENT", "PAUSE", int(pause * 1000), "WRITE")
            paused_until = time.monotonic() + pause
            watcher.start()
            while time.monotonic() < paused_until:
                session.write_messages(messages)
                written[0] += 1
            during = written[0]
            session.flush()
            stop.set()
            watcher.join()
            result.update(
                written=written[0],
                during=during,
                depths=depths,
                backlog=backlog,
                arrived=admin.xlen(stream_key) - base,
            )

    benchmark.group = "queue bound"
    benchmark.pedantic(stall, rounds=1, iterations=1)
    bound = QUEUE_SIZE + MAX_ROUND + 1
    benchmark.extra_info.update(
        variant="rtastream",
        about=(
            f"Redis stalled for {pause:g} s with CLIENT PAUSE WRITE while one producer "
            f"writes pre-packed ~56 KiB bursts as fast as it can (queue_size={QUEUE_SIZE})."
        ),
        bursts_written_during_stall=result["during"],
        max_queue_depth=max(result["depths"]),
        queue_size=QUEUE_SIZE,
        max_bursts_accepted_not_in_redis=max(result["backlog"]),
        bound_queue_size_plus_one_round=bound,
        bursts_written=result["written"],
        bursts_arrived=result["arrived"],
    )
    admin.close()
    assert max(result["depths"]) <= QUEUE_SIZE
    assert max(result["backlog"]) <= bound
    assert result["arrived"] == result["written"]
