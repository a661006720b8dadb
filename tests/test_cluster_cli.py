"""Reading a Redis Cluster: the readers, every command of the command line and `rtastream
serve`, pointed at any node. Sessions are written by the protocol with plain redis-py
(tests/cli_helpers.py) on streams spread over every master.

On a cluster the command line finds sessions without scanning the keyspace: the streams listed
in `streams` name their sessions in their Session JSON messages. On a single Redis, where SCAN
is cheap, it scans. `inspect --scan` and `trim --stale-after` scan every master (a hash whose
messages are trimmed away is found no other way), and so does the server's session list, which
the page asks for every 2 s (reading streams costs more).
"""

from __future__ import annotations

import asyncio
import json

import aiohttp
import pytest
import redis

from cli_helpers import open_session, run_cli, send_data, send_json, write_session
from cluster_helpers import streams_on_masters
from rtastream import AsyncSessionReader, SessionReader, keys
from rtastream.cli import main
from rtastream.connection import async_client_for
from rtastream.reader import list_sessions, run, run_async, scan_sessions, stream_sessions
from serve_helpers import Received, receive_all, request, served

pytestmark = pytest.mark.redis  # any_redis asks for its servers by name, unseen by the plugin


def cli(url: str, *args: str) -> str:
    result = run_cli(*args, "--redis", url)
    assert result.returncode == 0, result.stderr
    return result.stdout


def scans(urls: list[str]) -> int:
    """SCAN calls the nodes have answered so far."""
    total = 0
    for url in urls:
        with redis.Redis.from_url(url) as client:
            total += client.info("commandstats").get("cmdstat_scan", {}).get("calls", 0)
    return total


def spread_sessions(r, names: list[str]) -> dict[str, object]:
    """Two closed sessions per stream, and a hash whose stream messages are gone."""
    written = {}
    for name in names:
        for who in ("a", "b"):
            written[f"{who}-{name}"] = write_session(r, f"{who}-{name}", name, bursts=2)
    orphan = write_session(r, "orphan", "gone", bursts=1)
    r.delete(keys.stream_key("gone"))
    r.srem(keys.STREAMS, "gone")
    written["orphan"] = orphan
    return written


@pytest.fixture(params=["single", "cluster"])
def any_redis(request):
    """(url, client, every node's url, whether it is a cluster): a single Redis, or the
    suite's cluster."""
    if request.param == "single":
        url = request.getfixturevalue("redis_url")
        return url, request.getfixturevalue("r"), [url], False
    cluster = request.getfixturevalue("redis_cluster")
    url = request.getfixturevalue("cluster_url")
    return url, request.getfixturevalue("rc"), [s.url for s in cluster.running()], True


def test_sessions_are_found_from_the_streams_without_a_scan(any_redis):
    url, r, nodes, clustered = any_redis
    written = spread_sessions(r, ["alpha", "beta", "gamma"])
    before = scans(nodes)
    # Small slices: the walk goes on. The default on a cluster; asked for on a single Redis.
    listed = run(r, list_sessions(batch=3, from_streams=None if clustered else True))
    assert scans(nodes) == before
    assert [s.identity for s in listed] == sorted(set(written) - {"orphan"})
    assert {s.identity: s.stream_session_id for s in listed}["a-beta"] == str(
        written["a-beta"].stream_session_id
    )
    every = run(r, scan_sessions())
    assert [s.identity for s in every] == sorted(written)
    assert scans(nodes) > before
    before = scans(nodes)
    forced = run(r, list_sessions(from_streams=False))
    assert [s.identity for s in forced] == sorted(written) and scans(nodes) > before
    assert run(r, stream_sessions("alpha")) == {
        written["a-alpha"].stream_session_id: "a-alpha",
        written["b-alpha"].stream_session_id: "b-alpha",
    }


def test_inspect_scans_a_single_redis_and_reads_the_streams_of_a_cluster(any_redis, capsys):
    """inspect's default: SCAN where it is cheap, the streams where scanning is discouraged;
    --scan and --from-streams choose. The asyncio driver answers the same question."""
    url, r, nodes, clustered = any_redis
    written = spread_sessions(r, ["alpha", "beta"])
    named = sorted(set(written) - {"orphan"})
    for how, scanned, found in (
        ([], not clustered, named if clustered else sorted(written)),
        (["--scan"], True, sorted(written)),
        (["--from-streams"], False, named),
    ):
        before = scans(nodes)
        assert main(["inspect", "--json", "--redis", url, *how]) == 0
        doc = json.loads(capsys.readouterr().out)
        assert sorted(s["identity"] for s in doc["sessions"]) == found, how
        assert (scans(nodes) > before) == scanned, how

    async def listed() -> list[str]:
        client = await async_client_for(url)
        try:
            return [s.identity for s in await run_async(client, list_sessions())]
        finally:
            await client.aclose()

    before = scans(nodes)
    assert asyncio.run(listed()) == (named if clustered else sorted(written))
    assert (scans(nodes) > before) == (not clustered)


def test_readers_from_any_node_url(redis_cluster, cluster_url, rc):
    session = write_session(rc, "read-me", "readers", bursts=3)
    url = redis_cluster.servers[-1].url
    with SessionReader(url, "read-me", follow=False) as reader:
        kinds = [type(item).__name__ for item in reader]
    assert reader.state == "closed" and reader.last_id == session.entry_ids[-1]

    async def read() -> list[str]:
        async with AsyncSessionReader(url, "read-me", follow=False) as reader:
            return [type(item).__name__ async for item in reader]

    assert asyncio.run(read()) == kinds
    assert kinds.count("TimestampedItem") == 3 * 3  # 3 bursts of 3 channels


def test_inspect_tail_and_trim_on_a_cluster(redis_cluster, cluster_url, rc):
    names = streams_on_masters(redis_cluster, 1, prefix="cli")
    written = spread_sessions(rc, names)
    url = redis_cluster.servers[1].url

    doc = json.loads(cli(url, "inspect", "--json"))
    assert {s["name"]: s["length"] for s in doc["streams"]} == {
        name: rc.xlen(keys.stream_key(name)) for name in names
    }
    assert sorted(s["identity"] for s in doc["sessions"]) == sorted(set(written) - {"orphan"})
    scanned = json.loads(cli(url, "inspect", "--json", "--scan"))
    assert sorted(s["identity"] for s in scanned["sessions"]) == sorted(written)
    one = json.loads(cli(url, "inspect", f"a-{names[0]}", "--json"))
    assert one["messages"]["messages"] == len(written[f"a-{names[0]}"].entry_ids)

    lines = cli(url, "tail", names[1], "--from-start", "--count", "8").splitlines()
    assert [line.split()[1] for line in lines] == [f"a-{names[1]}"] * 4 + [f"b-{names[1]}"] * 4

    rc.hset(keys.session_key("orphan"), keys.LAST_UPDATED, 1_000)  # stale, in no stream
    report = json.loads(cli(url, "trim", "--maxlen", "3", "--stale-after", "3600", "--json"))
    assert [(s["identity"], s["action"]) for s in report["sessions"]] == [("orphan", "removed")]
    assert not rc.exists(keys.session_key("orphan"))
    assert {s["name"]: s["removed"] for s in report["streams"]} == {name: 5 for name in names}
    assert all(rc.xlen(keys.stream_key(name)) == 3 for name in names)


def test_a_database_other_than_0_is_refused_in_one_line(redis_cluster):
    url = f"redis://127.0.0.1:{redis_cluster.servers[0].port}/3"
    result = run_cli("inspect", "--redis", url)
    assert result.returncode == 1
    assert result.stderr.startswith(
        f"rtastream: error: Redis at {url} refused the connection: it is a Redis Cluster node, "
        "and a cluster has database 0 only: drop /3 from the url"
    )
    assert result.stderr.count("\n") == 1


def test_demo_on_a_cluster(redis_cluster, cluster_url, rc):
    out = cli(
        redis_cluster.servers[2].url,
        "demo",
        "--fast",
        "--duration",
        "1",
        "--identity",
        "demo-on-cluster",
        "--stream",
        "democ",
    )
    assert "state       closed" in out
    record = rc.hgetall(keys.session_key("demo-on-cluster"))
    assert record[keys.STREAM_NAME.encode()] == b"democ"


def test_serve_on_a_cluster(redis_cluster, cluster_url, rc):
    """REST lists every session hash (SCAN on every master); a live session streams to a
    WebSocket client from the shared reader of its stream, on whichever master holds it."""
    names = streams_on_masters(redis_cluster, 1, prefix="served")
    for name in names:
        write_session(rc, f"done-{name}", name, bursts=1)
    live = open_session(rc, "live", names[-1])

    async def main():
        async with served(redis_cluster.servers[0].url) as server:
            async with server.http.get(f"{server.base}/rta/v2/sessions") as response:
                listed = [s["identity"] for s in (await response.json())["sessions"]]
            assert sorted(listed) == sorted(["live", *(f"done-{n}" for n in names)])
            async with server.ws("live") as ws:
                got = Received()
                got.add((await ws.receive(timeout=10)).data)  # joined: its reader follows
                await ws.send_bytes(request(all_data=True))
                await asyncio.get_running_loop().run_in_executor(
                    None, lambda: (send_data(rc, live, bursts=2), send_json(rc, live, "closed"))
                )
                await receive_all(ws, got)
            assert got.states[0] == "open" and got.states[-1] == "closed"
            assert [len(got.samples[c]) for c in (0, 1, 2)] == [200] * 3
            assert got.close_code == aiohttp.WSCloseCode.OK

    asyncio.run(main())
