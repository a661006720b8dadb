"""The REST resources other than data, over HTTP against a real Redis: session list and
query, folders, metamodel, properties, info, configurations, and the OpenAPI document."""

from __future__ import annotations

import asyncio
import json

import aiohttp

from rtastream import keys
from rtastream.server.rest.query import MAX_PAGE_SIZE
from serve_helpers import served

SESSIONS = [
    {
        "identity": "a",
        "identifier": "Run 17",
        "state": "closed",
        "timestamp": "2025-06-15T15:00:00+00:00",
        "quality": 0.25,
        "details": {"Driver": "Bob", "Lap": 3},
        "extDetails": {"Car": {"Setup": "high"}},
    },
    {
        "identity": "b",
        "identifier": "Run 18",
        "state": "open",
        "timestamp": "2025-06-15T16:30:00+02:00",
        "quality": 1.0,
        "details": {"Driver": "Ann", "Lap": 12},
        "configBindings": [{"identifier": "cfg-1", "channelOffset": 0}],
    },
    {
        "identity": "c",
        "identifier": "test",
        "state": "open",
        "timestamp": "2025-06-15T15:10:00Z",
        "details": {"Driver": "Bob"},
    },
]


def run(coro):
    return asyncio.run(coro)


def store(r):
    for model in SESSIONS:
        r.hset(keys.session_key(model["identity"]), keys.JSON, json.dumps(model))
    r.hset(keys.session_key("unstreamable"), keys.STREAM_NAME, "cars")  # no json: not listed


async def call(server, method, path, **options):
    async with server.http.request(method, server.base + path, **options) as reply:
        body = await reply.read()
        return reply.status, body, reply.headers.get("Content-Type", "")


async def get_json(server, path):
    status, body, _ = await call(server, "GET", path)
    assert status == 200, (path, body)
    return json.loads(body)


def ids(page):
    return [s["identity"] for s in page["sessions"]]


def test_list_and_query_sessions(redis_url, r):
    store(r)

    async def main():
        async with served(redis_url) as server:
            assert ids(await get_json(server, "/rta/v2/sessions")) == ["c", "a", "b"]
            assert ids(
                await get_json(server, "/rta/v2/sessions?sort=details.Driver&sort=timestamp:asc")
            ) == ["b", "a", "c"]
            assert ids(await get_json(server, "/rta/v2/sessions?sort=nothing:sideways")) == [
                "a",
                "b",
                "c",
            ]
            assert ids(await get_json(server, "/rta/v2/sessions?pageSize=2&pageIndex=1")) == ["b"]
            assert ids(await get_json(server, "/rta/v2/sessions?pageSize=0")) == []
            assert ids(await get_json(server, "/rta/v2/sessions?folder=")) == ["c", "a", "b"]
            assert ids(await get_json(server, "/rta/v2/sessions?folder=cars")) == []
            query = {"$or": [{"details.Lap": {"$gte": 10}}, {"identifier": {"$startsWith": "te"}}]}
            form = {"query": json.dumps(query), "sort": "identity:asc", "prop": "details.Driver"}
            status, body, kind = await call(server, "POST", "/rta/v2/sessions", data=form)
            assert (status, kind.split(";")[0]) == (200, "application/json")
            assert ids(json.loads(body)) == ["b", "c"]
            status, body, _ = await call(server, "POST", "/rta/v2/sessions", data={"pageSize": "1"})
            assert ids(json.loads(body)) == ["c"]
            upload = aiohttp.FormData()
            upload.add_field("sort", b"identity", filename="sort.txt")  # a file is no text
            upload.add_field("query", b"{}", filename="query.json")
            status, body, _ = await call(server, "POST", "/rta/v2/sessions", data=upload)
            assert (status, ids(json.loads(body))) == (200, ["c", "a", "b"])
            bad = [
                (
                    "GET",
                    "/rta/v2/sessions?pageSize=10001",
                    {},
                    f"pageIndex >= 0 and 0 <= pageSize <= {MAX_PAGE_SIZE} expected",
                ),
                (
                    "GET",
                    "/rta/v2/sessions?pageIndex=x",
                    {},
                    "pageIndex and pageSize must be integers",
                ),
                (
                    "GET",
                    "/rta/v2/sessions?query={}",
                    {},
                    "query is taken by POST /rta/v2/sessions only",
                ),
                ("POST", "/rta/v2/sessions", {"data": {"query": "{"}}, "query is not JSON"),
                (
                    "POST",
                    "/rta/v2/sessions",
                    {"data": {"query": '{"a": {"$regex": "."}}'}},
                    "a: unknown operator '$regex'",
                ),
            ]
            for method, path, options, reason in bad:
                status, body, _ = await call(server, method, path, **options)
                assert status == 400 and body.decode().startswith(reason), (path, body)

    run(main())


def test_folders_metamodel_and_properties(redis_url, r):
    store(r)

    async def main():
        async with served(redis_url) as server:
            assert await get_json(server, "/rta/v2/session-folders/") == []
            assert await get_json(server, "/rta/v2/session-folders/any::thing") == []
            meta = await get_json(server, "/rta/v2/session-metamodel")
            properties = await get_json(server, "/rta/v2/session-metamodel/properties?query=LAP")
            every = await get_json(server, "/rta/v2/session-metamodel/properties")
            return meta, properties, every

    meta, properties, every = run(main())
    capable = {"filter": True, "sort": True}
    assert meta["state"] == capable
    assert meta["timestamp"] == {
        "capabilities": capable,
        "constraints": {"minimum": "2025-06-15T16:30:00+02:00", "maximum": "2025-06-15T15:10:00Z"},
    }
    assert meta["quality"]["constraints"] == {"minimum": 0.25, "maximum": 1.0}
    assert meta["identifier"]["constraints"] == {"values": ["Run 17", "Run 18", "test"]}
    assert meta["type"]["constraints"] == {"values": []}
    assert meta["details"] == {
        "Driver": {
            "label": "Driver",
            "type": "string",
            "capabilities": capable,
            "constraints": {"values": ["Ann", "Bob"]},
        },
        "Lap": {
            "label": "Lap",
            "type": "integer",
            "capabilities": capable,
            "constraints": {"values": [3, 12]},
        },
    }
    assert meta["extDetails"] == {
        "Car": {
            "label": "Car",
            "properties": {
                "Setup": {
                    "label": "Setup",
                    "type": "string",
                    "capabilities": capable,
                    "constraints": {"values": ["high"]},
                }
            },
        }
    }
    assert properties == [{"id": "details.Lap", "label": "Lap"}]
    assert {p["id"] for p in every} >= {
        "timestamp",
        "state",
        "details.Driver",
        "extDetails.Car.Setup",
    }


def test_info_and_openapi(redis_url):
    async def main():
        async with served(redis_url) as server:
            return await get_json(server, "/rta/v2/info"), await get_json(
                server, "/rta/v2/openapi.json"
            )

    info, document = run(main())
    assert info["requiresAuthentication"] is False
    assert info["label"].startswith("rtastream on ") and info["description"]
    assert document["openapi"].startswith("3.")
    assert "/sessions/{identity}/data/timestamped/{channels}" in document["paths"]


def test_configs_head_and_get(redis_url, r):
    config = {"demo": {"channels": [{"id": 1, "source": "timestamped"}]}}
    r.set(keys.config_key("cfg-1"), json.dumps(config))
    r.hset(keys.config_key("a-hash"), "x", "y")  # not a configuration

    async def main():
        async with served(redis_url) as server:
            found = await call(server, "HEAD", "/rta/v2/configs/cfg-1")
            got = await call(
                server,
                "GET",
                "/rta/v2/configs/cfg-1",
                headers={"Accept": "application/vnd.mat.config+ffc"},
            )
            missing = [
                await call(server, m, "/rta/v2/configs/" + c)
                for m in ("HEAD", "GET")
                for c in ("nope", "a-hash")
            ]
            return found, got, missing

    found, got, missing = run(main())
    assert found[0] == 200 and found[1] == b""
    assert got == (200, json.dumps(config).encode(), "application/vnd.mat.config+json")
    assert [m[0] for m in missing] == [404, 404, 404, 404]  # a hash is not a configuration


def test_redis_gone_is_503_with_the_reason(private_redis):
    server = private_redis()

    async def main():
        # Each request rides through an outage for reconnect_timeout before it says 503.
        async with served(server.url, reconnect_timeout=0.5) as rest:
            ok = await call(rest, "GET", "/rta/v2/sessions")
            server.stop()
            gone = [
                await call(rest, method, path)
                for method, path in [
                    ("GET", "/rta/v2/sessions"),
                    ("GET", "/rta/v2/session-metamodel"),
                    ("HEAD", "/rta/v2/configs/x"),
                    ("GET", "/rta/v2/sessions/x/data/events"),
                ]
            ]
            return ok, gone

    ok, gone = run(main())
    assert ok[0] == 200
    assert [status for status, _, _ in gone] == [503] * 4
    for _, body, _ in gone[:2] + gone[3:]:  # a HEAD answer has no body
        assert body.startswith(b"Redis is unavailable: ") and b"\n" not in body
