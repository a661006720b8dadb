"""The benchmarks page's sections, declared: their prose and their tables' columns (see
benchmarks/report_tables.py); the few sentences computed from a run's figures are the
functions here."""

from __future__ import annotations

import statistics
from collections.abc import Callable

from benchmarks.report_tables import (
    BASELINE,
    THIS,
    Cell,
    Col,
    Groups,
    Prose,
    Row,
    Section,
    Table,
    best,
    fmt_bytes,
    fmt_ratio,
    fmt_time,
    group,
    info,
    markdown_table,
    name,
    of,
    per,
    rate,
    ratio,
    time,
)
from benchmarks.report_targets import LZ4, PURE, RTA, floor_ratios
from benchmarks.workloads import PERIOD, PROFILES

COPY, ONE_BLOCK = "copy floor", "lz4 one block"
FRESH, PER_ITEM = "rtastream, fresh Burst", "rtastream, one call per item"
BARE_THREAD, BARE_INLINE = "floor: bare I/O thread", "floor: bare, caller sends"
SINGLE, CLUSTER = "single Redis", "Redis Cluster, 3 masters"
READY, CHUNKED = "served from ready chunks", "served, chunked per request"
REST_FLOOR, REST_PURE = "pyarrow alone (floor)", "pure Python"

WORKLOAD = Col("workload", info("workload"))
VALUES = Col("values", info("value_bytes", fmt_bytes))
SPEEDUP = Col("speed-up vs pure-Python", ratio(PURE, THIS))
VS_LZ4 = Col("time vs lz4 floor", ratio(THIS, LZ4))


def ns_per_sample(variant: str, spec: str) -> Cell:
    return per(variant, "total_samples", spec, 1e9)


def about(table: Table) -> Prose:
    """What the benchmarks of the table's rows measure, as they describe it."""

    def part(groups: Groups) -> list[str]:
        said = next((row.info["about"] for row in table.rows(groups) if "about" in row.info), None)
        return [] if said is None else [said, ""]

    return part


ENCODE = Section(
    "Encoding one burst (build + pack)",
    (
        "An `rtastream.Burst` reused with `clear()` (as the writers keep theirs), the "
        "workload's items plus a time range, then `pack()` (LZ4 raw blocks of about 64 KiB); "
        "periodic, row and event items by the column APIs (`periodics`, `rows`, `events`). "
        "Beside it: a fresh Burst each time, and one call per item. The pure-Python path "
        "builds the same burst with protobuf and compresses it with python-lz4.",
        f"Workloads are `kind channels x samples profile`, timestamps every {PERIOD // 10**6} ms "
        "unless irregular; `periodic` is one PeriodicData per channel, `row` one RowData per "
        "instant (128 rows of 64 float64), `event` 100 events of 4 raw doubles. Profiles:",
        "\n".join(f"- `{profile}`: {text}" for profile, text in PROFILES.items()),
        "Ratios (best of rounds; above 1x in the first column means rtastream is faster, the "
        "floor columns say how many times the floor's time rtastream takes):",
        Table(
            (
                WORKLOAD,
                VALUES,
                SPEEDUP,
                VS_LZ4,
                Col("fresh Burst vs lz4 floor", ratio(FRESH, LZ4)),
                Col("one call per item vs lz4 floor", ratio(PER_ITEM, LZ4)),
                Col("time vs copy floor", ratio(THIS, COPY)),
            ),
            "encode: ",
            (RTA,),
        ),
        "Absolute (best of rounds):",
        Table(
            (
                WORKLOAD,
                Col("rtastream", time()),
                Col("pure-Python", time(PURE)),
                Col("lz4 floor", time(LZ4)),
                Col("copy floor", time(COPY)),
                Col("rtastream MB/s of values", rate(THIS, "value_bytes", "{:.0f}", 1e6)),
                Col("rtastream ns/sample", ns_per_sample(THIS, "{:.1f}")),
            ),
            "encode: ",
            (RTA,),
        ),
    ),
)


def sweep_table(key: str) -> Table:
    return Table(
        (
            Col(key, info(key)),
            VALUES,
            SPEEDUP,
            VS_LZ4,
            Col("time vs lz4 of the burst as one block", ratio(THIS, ONE_BLOCK)),
            Col("rtastream / burst", time()),
            Col("rtastream ns/sample", ns_per_sample(THIS, "{:.1f}")),
            Col("pure-Python / burst", time(PURE)),
            Col("pure-Python ns/sample", ns_per_sample(PURE, "{:.0f}")),
        ),
        f"sweep {key}: ",
        (RTA,),
        order=lambda row: row.info[key],
    )


SWEEPS = {key: sweep_table(key) for key in ("channels", "samples")}


def split_note(key: str) -> Prose:
    """Where single items outgrow pack()'s 64 KiB target and the split path shows."""

    def note(groups: Groups) -> list[str]:
        split = [
            str(row.info[key])
            for row in SWEEPS[key].rows(groups)
            if LZ4 in row.variants
            and best(row.variants[RTA]) > 10 * best(row.variants[LZ4])
            and row.info["encoded_bytes"] > 65536
        ]
        if not split:
            return []
        return [
            f"At {key} = {', '.join(split)}, single items are larger than pack()'s "
            "64 KiB target and are split into pieces; that path costs over 10x the "
            "LZ4 floor here.",
            "",
        ]

    return note


def sweep_section(groups: Groups, plot_link: str) -> list[str]:
    parts = [f"![throughput vs burst size]({plot_link})"]
    for key, title in (
        ("channels", "Channels (16 samples each)"),
        ("samples", "Samples per item (4 channels)"),
    ):
        if SWEEPS[key].rows(groups):
            parts += [f"### {title}", SWEEPS[key], split_note(key)]
    return Section("How cost grows", tuple(parts)).render(groups)


IDS = Section(
    "Channel ids as lists, tuples, ranges",
    (
        "Build + pack of the same burst, the channel ids given "
        "in four forms (one Burst reused with `clear()`).",
        Table(
            (
                Col("channel ids as", name),
                Col("time", time()),
                Col("vs numpy array", ratio(THIS, "numpy array")),
            ),
            "channel ids: ",
            ("numpy array",),
            per_variant=True,
        ),
    ),
    each="channel ids: ",
)


def threads_prose(groups: Groups) -> list[str]:
    ((variants),) = groups.values()
    one = variants["1 thread"]["extra_info"]
    return [
        f"`pack(threads=...)` of one built burst ({one['messages']} messages; "
        f"this machine has {one['cores']} cores): the messages are compressed "
        "by a pool of threads, the C core running without the GIL; they are "
        "byte-identical whatever the number.",
        "",
    ]


THREADS = Section(
    "Packing on several cores",
    (
        threads_prose,
        Table(
            (
                Col("threads", name),
                Col("time", time()),
                Col("speed-up vs 1 thread", ratio("1 thread", THIS)),
                Col("MB/s of values", rate(THIS, "value_bytes", "{:.0f}", 1e6)),
            ),
            "pack threads: ",
            ("1 thread",),
            per_variant=True,
        ),
    ),
    each="pack threads: ",
)

DECODE = Section(
    "Decoding one message",
    (
        "`rtastream.decode` (the wire format parsed in C; values are views of the "
        "decompressed message, timestamps computed when read) beside LZ4 decompression "
        "alone: python-lz4 with the 1 MiB cap a reader must give it (the floor), and "
        "`rtastream.unpack`. The pure-Python twin decodes with protobuf.",
        Table(
            (
                WORKLOAD,
                Col("items", info("items")),
                Col("message", info("message_bytes", fmt_bytes)),
                VS_LZ4,
                Col("time vs unpack", ratio(THIS, "rtastream.unpack")),
                Col(
                    "with every item's timestamps and values, vs lz4 floor",
                    ratio("rtastream + timestamps and values", LZ4),
                ),
                SPEEDUP,
                Col("rtastream", time()),
                Col("lz4 floor", time(LZ4)),
            ),
            "decode: ",
            (RTA,),
        ),
    ),
)


def floor_cell(paired: bool) -> Cell:
    """The row's rate against redis-benchmark's XADD: best vs best, or paired rounds."""

    def cell(row: Row) -> str | None:
        if "redis_benchmark_rps" not in row.info:
            return None
        return f"{floor_ratios(row.variants[row.this])[paired]:.0%}"

    return cell


def mb_per_s(bench: dict) -> float:
    recorded = bench["extra_info"]
    return recorded["messages"] / best(bench) * recorded["message_bytes"] / 1e6


def _shapes_verdict(inline_over_thread: float) -> str:
    """What the bare caller-sends / bare I/O-thread time ratio says."""
    if inline_over_thread < 0.95:
        return (
            "here, where redis-server competes with the writer's threads for the two "
            "cores, a second busy thread costs more than it overlaps."
        )
    if inline_over_thread > 1.05:
        return "the I/O thread's overlap pays for itself in this run."
    return "within noise of each other in this run."


def bare_note(groups: Groups) -> list[str]:
    ((v),) = groups.values()
    if not {RTA, BARE_THREAD, BARE_INLINE} <= v.keys():
        return []
    shapes = best(v[BARE_INLINE]) / best(v[BARE_THREAD])
    return [
        f"The bare floors write the same messages with nothing around them "
        f"(benchmarks/barewriter.py: no session records, no error handling, no "
        f"reconnects). rtastream takes {best(v[RTA]) / best(v[BARE_THREAD]):.2f}x the "
        f"time of the bare writer of its own shape (an I/O thread fed by a queue). The "
        f"bare writer that sends from the caller's thread takes {shapes:.2f}x the bare "
        f"I/O thread's time: {_shapes_verdict(shapes)}",
        "",
    ]


WRITES = Table(
    (
        Col("variant", name),
        Col("vs redis-benchmark (best vs best)", floor_cell(False), optional=True),
        Col("vs redis-benchmark (median of paired rounds)", floor_cell(True), optional=True),
        Col("time vs {baseline}", ratio(THIS, BASELINE), optional=True),
        Col("speed-up vs pure-Python", ratio(PURE, THIS, of_itself=False), optional=True),
        Col("bursts/s", rate(THIS, "messages", "{:,.0f}")),
        Col("MB/s of messages", of(THIS, mb_per_s, "{:.0f}")),
        Col("time per burst", per(THIS, "messages", fmt_time)),
        Col(
            "redis-benchmark XADD/s (best)",
            info("redis_benchmark_rps", lambda f: f"{max(f):,.0f}"),
            optional=True,
        ),
    ),
    "write: ",
    per_variant=True,
    order=lambda row: row.this,
)

WRITE = Section(
    "Writing to Redis",
    (
        about(WRITES),
        WRITES,
        bare_note,
    ),
    each="write: ",
    sort_groups=True,
    heading=lambda group: group.removeprefix("write: "),
)


def microseconds(seconds: float) -> str:
    return f"{seconds * 1e6:.0f} µs"


CLUSTERS = Table(
    (
        Col("sessions", info("sessions")),
        Col(f"{SINGLE}: bursts/s", rate(SINGLE, "messages", "{:,.0f}")),
        Col(f"{CLUSTER}: bursts/s", rate(CLUSTER, "messages", "{:,.0f}")),
        Col("cluster vs single (above 1x: cluster faster)", ratio(SINGLE, CLUSTER)),
        *(
            Col(
                f"{who} CPU / burst: {where}",
                info(f"{who.lower()}_cpu_per_burst", microseconds, variant),
            )
            for who in ("writer", "Redis")
            for where, variant in (("single", SINGLE), ("cluster", CLUSTER))
        ),
    ),
    "cluster: ",
    (SINGLE, CLUSTER),
    order=lambda row: row.info["sessions"],
)


def cluster_prose(groups: Groups) -> list[str]:
    """What the figures of the most sessions (every master busy) say of the capacity."""
    most = CLUSTERS.rows(groups)[-1]
    single, cluster = most.variants[SINGLE]["extra_info"], most.variants[CLUSTER]["extra_info"]
    redis_single, writer_single = single["redis_cpu_per_burst"], single["writer_cpu_per_burst"]
    redis_cluster, writer_cluster = cluster["redis_cpu_per_burst"], cluster["writer_cpu_per_burst"]
    per_master = 1 / redis_cluster
    return [
        f"What the figures mean. Everything shares {cluster['cores']} cores here: the writer's "
        "process (the caller, an I/O thread per master) and the Redis servers. A single "
        "redis-server executes commands on one thread, so it uses one core at most: at about "
        f"{redis_single * 1e6:.0f} µs of server CPU per burst it tops out near "
        f"{1 / redis_single:,.0f} bursts/s, while the writer needs about "
        f"{writer_single * 1e6:.0f} µs per burst of the other core. The cluster spreads the "
        "servers' work over every core (a burst's XADD runs on its stream's master, its HSET "
        "and EXPIRE on its hash's master, often another), so it can be faster even here. "
        f"{_cluster_writer_cost(writer_single, writer_cluster)} With one master per core, "
        "capacity grows by about "
        f"{per_master:,.0f} bursts/s (~{per_master * cluster['message_bytes'] / 1e6:.0f} MB/s) "
        f"per master (the {redis_cluster * 1e6:.0f} µs of Redis CPU per burst measured on "
        "the cluster, spread over the masters), until the writer's process is the limit: at "
        f"{writer_cluster * 1e6:.0f} µs per burst, much of it Python that runs one thread at "
        f"a time, one process writes at most about {1 / writer_cluster:,.0f} bursts/s however "
        "many masters there are; beyond that, several writer processes (one per car or rig) "
        "share the cluster.",
        "",
    ]


def _cluster_writer_cost(single: float, cluster: float) -> str:
    """What the cluster's extra work costs the writer, as this run measured it."""
    work = "a MULTI/EXEC block per key and round, a connection and a thread per master"
    extra_us = round((cluster - single) * 1e6)
    if extra_us > 0:
        return f"What it costs is the writer's time: +{extra_us} µs of CPU per burst ({work})."
    return (
        f"What it asks more of the writer ({work}) did not show in this run: "
        f"{cluster * 1e6:.0f} µs of writer CPU per burst on the cluster, "
        f"{single * 1e6:.0f} µs on a single Redis."
    )


CLUSTER_SECTION = Section(
    "Redis Cluster against a single Redis", (about(CLUSTERS), CLUSTERS, cluster_prose)
)


def against_recorded_baseline(paired: bool) -> Cell:
    """wait_replicas=1 over the wait_replicas=0 rounds it recorded: best vs best, or the
    median of each round over the baseline round measured just before it."""

    def cell(row: Row) -> str:
        bench, baseline = row.variants[row.this], row.info["wait_replicas_0_seconds"]
        if not paired:
            return fmt_ratio(best(bench) / min(baseline))
        times = bench["stats"]["data"]
        return fmt_ratio(statistics.median(t / b for t, b in zip(times, baseline, strict=True)))

    return cell


REPLICAS = Section(
    "Waiting for replicas",
    (
        "The same writes to a master with one replica on this machine, with `wait_replicas=1` "
        "(each pipeline round ends with `WAIT 1`, and counts as acknowledged once the replica "
        "has it) and with 0; replication runs in both. Each timed round with `wait_replicas=1` "
        "follows a round with 0 measured just before it (benchmarks/test_replicas.py).",
        Table(
            (
                Col("writes", group),
                Col("time with 1 / with 0 (best vs best)", against_recorded_baseline(False)),
                Col(
                    "time with 1 / with 0 (median of paired rounds)",
                    against_recorded_baseline(True),
                ),
                Col(
                    "time per burst with 0",
                    lambda row: fmt_time(
                        min(row.info["wait_replicas_0_seconds"]) / row.info["messages"]
                    ),
                ),
                Col("time per burst with 1", per(THIS, "messages", fmt_time)),
            ),
            "replicas: ",
            ("wait_replicas=1",),
            sort_groups=True,
        ),
    ),
)


MEMORY = Section(
    "Memory over many bursts",
    (
        "Growth is measured between the first and the last of ten checkpoints, after a "
        "warm-up; tracemalloc runs only for encoding (it slows the writer's Python code "
        "fivefold). The peak one burst allocates is the Python memory of its messages.",
        Table(
            (
                WORKLOAD,
                Col("bursts", info("bursts", "{:,}")),
                Col("peak RSS", info("peak_rss", fmt_bytes)),
                Col("RSS growth / burst", info("rss_growth_per_burst", "{:.3f} B")),
                Col("live Python blocks growth / burst", info("blocks_growth_per_burst", "{:.4f}")),
                Col(
                    "Python heap growth / burst (tracemalloc)",
                    info("traced_growth_per_burst", "{:.3f} B"),
                ),
                Col(
                    "Python memory at one burst's peak", info("burst_peak_python_bytes", fmt_bytes)
                ),
                Col("time / burst", per(THIS, "bursts", fmt_time)),
            ),
            "memory",
            per_variant=True,
        ),
    ),
)


def queue_section(groups: Groups) -> list[str]:
    """The stall's figures as the benchmark recorded them, one row each."""
    v = groups.get("queue bound", {})
    if RTA not in v:
        return []
    recorded = v[RTA]["extra_info"]
    rows = [
        [k.replace("_", " "), str(val)]
        for k, val in recorded.items()
        if k not in ("variant", "about")
    ]
    title = "## The writer's queue under a slow Redis"
    return [title, "", recorded.get("about", ""), ""] + markdown_table(["", "measured"], rows)


def live_prose(groups: Groups) -> list[str]:
    first = LIVE_TABLE.rows(groups)[0].info
    return [
        f"One producer XADDs a 64 x 128 float64 burst ({fmt_bytes(first['message_bytes'])} "
        f"compressed) {first['bursts'] / 10:.0f} s long at 10 bursts a second; every client "
        "is subscribed to all channels. Server CPU is the `rtastream serve` process's user + "
        "system time over the run's wall time (one core = 100 %); latency runs from just "
        "before XADD to the client's receive(). The clients share one asyncio process with the "
        "producer, and everything shares two cores with redis-server: from 100 clients on the "
        "clients' own work is part of the latency. Server memory per client is the growth of "
        "its resident memory from before the clients connect to once they are all subscribed, "
        "divided by the clients.",
        "",
    ]


LIVE_TABLE = Table(
    (
        Col("clients", info("clients")),
        Col(
            "messages delivered",
            lambda row: f"{row.info['delivered']:,} of {row.info['expected']:,}",
        ),
        Col("server CPU", info("server_cpu_share", "{:.1%}")),
        Col("server CPU per client", info("server_cpu_per_client", "{:.2%}")),
        Col(
            "server CPU per message delivered",
            info("server_cpu_us_per_message", "{:.0f} µs"),
        ),
        # Runs from before the server's memory was measured have none: "-".
        Col(
            "server memory per client",
            info("server_rss_per_client_bytes", lambda b: fmt_bytes(max(0, round(b)))),
        ),
        Col("latency p50", info("latency_p50_ms", "{:.1f} ms")),
        Col("latency p99", info("latency_p99_ms", "{:.1f} ms")),
    ),
    "live edge",
    per_variant=True,
    order=lambda row: row.info["clients"],
)
LIVE = Section("The live edge: `rtastream serve` fanning out one stream", (live_prose, LIVE_TABLE))


def recorded(group: str, sentence: Callable[[dict, dict], str]) -> Callable[[Groups], list[str]]:
    """A paragraph per benchmark of `group`: sentence(its extra_info, the benchmark)."""

    def part(groups: Groups) -> list[str]:
        benches = groups.get(group, {}).values()
        return [line for b in benches for line in (sentence(b["extra_info"], b), "")]

    return part


freshness = recorded(
    "recorder: freshness",
    lambda got, _: (
        f"A live session's samples readable in the store after a writer's flush "
        f"({got['measured']} bursts, a commit a second): median {got['median_s']:.2f} s, "
        f"99th percentile {got['p99_s']:.2f} s, worst {got['worst_s']:.2f} s."
    ),
)


def store_read(groups: Groups) -> list[str]:
    """One channel read with Store.read beside pyarrow on a plain file."""
    read = groups.get("store: one channel of a closed 1 h, 1 kHz session", {})
    if not {"Store.read", "floor: pyarrow, a plain file"} <= read.keys():
        return []
    store, floor = best(read["Store.read"]), best(read["floor: pyarrow, a plain file"])
    return [
        f"One channel of a closed 1-hour 1 kHz session read with `Store.read`: "
        f"{fmt_time(store)}, {fmt_ratio(store / floor)} the time of reading the same "
        f"values from a plain Parquet file (pyarrow's defaults) with pyarrow alone.",
        "",
    ]


session_list = recorded(
    "rest: session list",
    lambda got, bench: (
        f"`GET /rta/v2/sessions?pageSize=100` with {got['sessions']:,} sessions in a local "
        f"store (no Redis): p50 {got['p50_s'] * 1e3:.0f} ms, p99 {got['p99_s'] * 1e3:.0f} ms "
        f"over {len(bench['stats']['data'])} requests; the store's index first read in "
        f"{got['first_listing_s']:.2f} s, read again (a folder listing, closed sessions "
        f"cached) in {got['refresh_s'] * 1e3:.0f} ms, at most once a second."
    ),
)


def samples_per_s(variant: str) -> Cell:
    return rate(variant, "samples", "{:.1f} M", 1e6)


REST = Section(
    "Serving the store: `rtastream serve --store`",
    (
        "Samples per second of a closed session's float64 channels delivered to a "
        "blocking HTTP client on loopback (`GET .../data/timestamped/{channels}`, the "
        "whole session), from the chunks compaction keeps (a copy) and chunked per request "
        "(a session compacted before chunks were kept), beside reading the same values from "
        "the store's file with pyarrow alone (the floor) and the pure-Python path (pyarrow, "
        "then re-chunked and encoded with the protobuf classes and python-lz4). Server and "
        "client share one process and two cores.",
        Table(
            (
                Col("what", group),
                Col("samples", info("samples", "{:,}")),
                Col("served from ready chunks, samples/s", samples_per_s(READY)),
                Col("chunked per request, samples/s", samples_per_s(CHUNKED)),
                Col("floor, samples/s", samples_per_s(REST_FLOOR)),
                Col("pure Python, samples/s", samples_per_s(REST_PURE)),
                Col("served / floor (time)", ratio(READY, REST_FLOOR)),
                Col("pure Python / served (time)", ratio(REST_PURE, READY)),
            ),
            "rest: ",
            (READY, CHUNKED, REST_FLOOR, REST_PURE),
            sort_groups=True,
        ),
        session_list,
    ),
)

RECORDER = Section(
    "Recording: `rtastream record` beside the writer",
    (
        "A writer streams 20 s of 1 kHz float64 channels into Redis as fast as it can "
        "(pre-packed bursts, or encoding as it goes) while a recorder follows the stream "
        "into a local store: the recorder's samples per second as a share of the writer's "
        "(goal: 1, never behind), and the CPU it spends per million samples following "
        "(segments) and compacting (the session's files, at its end), in seconds per million "
        "samples (s/M). Writer, recorder and "
        "redis-server share two cores.",
        Table(
            (
                Col("workload", name),
                Col("written, samples/s", info("written_samples_per_s", "{:,.0f}")),
                Col("recorded, samples/s", info("recorded_samples_per_s", "{:,.0f}")),
                Col("recorded / written", info("ratio_to_writer", "{:.2f}")),
                Col("CPU following, s/M", info("recorder_cpu_s_per_million_samples", "{:.3f}")),
                Col(
                    "CPU compacting, s per M",
                    info("compaction_cpu_s_per_million_samples", "{:.3f}"),
                ),
            ),
            "recorder: keeping up",
            per_variant=True,
        ),
        "The same writer for seconds on end, into a stream trimmed to about 10 000 "
        "entries as the Stream Service trims it, paced at 10 and 30 times real time and "
        "unpaced: the lag (how long the oldest entry the store lacks has been in the stream, "
        "sampled every 20 ms) and the entries the trimming took before the "
        "recorder read them (reported as gaps, never silently lost).",
        Table(
            (
                Col("workload", name),
                Col("written, samples/s", info("written_samples_per_s", "{:,.0f}")),
                Col("recorded / written", info("ratio_to_writer", "{:.2f}")),
                Col("lag, median s", info("lag_median_s", "{:.2f}")),
                Col("lag, max s", info("lag_max_s", "{:.2f}")),
                Col("entries lost to trimming", info("entries_lost_to_trimming", "{:,}")),
                Col("CPU following, s/M", info("recorder_cpu_s_per_million_samples", "{:.3f}")),
            ),
            "recorder: sustained",
            per_variant=True,
        ),
        "Capacity: the recorder stopped (SIGSTOP) while the writer alone fills the stream "
        "with 20 s of data, then draining it alone. Recorded / written compares the "
        "recorder's drain with the writer's rate, overall and steady (between its first "
        "commit and its last but one: without the commit interval's wait at the end).",
        Table(
            (
                Col("workload", name),
                Col("written, samples/s", info("written_samples_per_s", "{:,.0f}")),
                Col("drained, samples/s", info("drained_samples_per_s", "{:,.0f}")),
                Col("recorded / written", info("ratio_to_writer", "{:.2f}")),
                Col("steady, recorded / written", info("steady_ratio_to_writer", "{:.2f}")),
                Col("CPU draining, s/M", info("recorder_cpu_s_per_million_samples", "{:.3f}")),
            ),
            "recorder: capacity",
            per_variant=True,
        ),
        freshness,
        store_read,
    ),
)

# The page's sections after the sweeps, in order.
AFTER_THE_SWEEPS = (
    *(s.render for s in (IDS, THREADS, DECODE, WRITE, CLUSTER_SECTION, REPLICAS, MEMORY)),
    queue_section,
    LIVE.render,
    RECORDER.render,
    REST.render,
)
