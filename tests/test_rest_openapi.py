"""schemathesis against `rtastream serve` on loopback: requests generated from our OpenAPI
description (the document the server serves), each answer checked against it, and never a
500. Sessions with data and a configuration are there for it to find."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import threading
import urllib.request
from collections.abc import Iterator

import pytest
import redis
import schemathesis
from aiohttp import web
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import positive_data_acceptance

from recorder_helpers import complete, recording, wait_for
from rest_helpers import write
from rtastream import keys
from rtastream.redis_server import RedisServer
from rtastream.server import make_app
from rtastream.server.rest.openapi import DOCUMENT

pytestmark = [pytest.mark.redis, pytest.mark.slow]


@contextlib.contextmanager
def serving(app: web.Application) -> Iterator[str]:
    """The app's /rta/v2 URL, served from a thread of its own until the end."""
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(app)
    loop.run_until_complete(runner.setup())
    loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", 0).start())
    host, port = runner.addresses[0][:2]
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{port}/rta/v2"
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(timeout=30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=30)
        loop.close()


@pytest.fixture(scope="module")
def base_url():
    """The server, in a thread of its own, over a private redis-server holding a closed
    session with data ("ts") and a configuration ("cfg")."""
    with RedisServer() as server:
        write(server.url, "ts")
        with redis.Redis.from_url(server.url) as r:
            r.set(keys.config_key("cfg"), json.dumps({"demo": {"channels": []}}))
        with serving(make_app(server.url)) as url:
            yield url


@pytest.fixture(scope="module")
def store_url(tmp_path_factory):
    """A server of the store alone (serve --store --no-redis), the same session recorded."""
    store = str(tmp_path_factory.mktemp("openapi") / "store")
    with RedisServer() as server, recording(server.url, store):
        write(server.url, "ts")
        wait_for(lambda: complete(store, "ts"), what="the session compacted")
    with serving(make_app(None, store=store)) as url:
        yield url


def lead_to_what_exists(document: dict) -> dict:
    """Our document with examples naming what the server holds, beside what it does not."""
    document = copy.deepcopy(document)
    for path in document["paths"].values():
        for operation in path.values():
            for parameter in operation.get("parameters", []) if isinstance(operation, dict) else []:
                if parameter["name"] == "identity":
                    parameter["examples"] = {"stored": {"value": "ts"}, "unknown": {"value": "x"}}
                if parameter["name"] == "channels":
                    parameter["examples"] = {"all": {"value": "-"}, "some": {"value": "-1,2,B-"}}
    for parameter in document["paths"]["/configs/{identifier}"]["parameters"]:
        parameter["examples"] = {"stored": {"value": "cfg"}}
    return document


SCHEMA = schemathesis.openapi.from_dict(lead_to_what_exists(DOCUMENT))


@SCHEMA.hook
def map_body(context, body):
    """`query` as JSON text in the form (the encoding our document gives it, which
    schemathesis's form serializer does not follow)."""
    if isinstance(body, dict) and "query" in body:
        return {**body, "query": json.dumps(body["query"])}
    return body


OPERATIONS = {result.ok().label: result.ok() for result in SCHEMA.get_all_operations()}


@pytest.mark.parametrize("label", sorted(OPERATIONS))
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=str)
def test_every_operation_answers_as_documented(base_url, label, mode):
    statuses = []

    @given(case=OPERATIONS[label].as_strategy(generation_mode=mode))
    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    def check(case):
        # start and end are each valid, yet start > end is refused (400): a relation no
        # schema states, so "every schema-valid request is accepted" cannot hold for data.
        excluded = [positive_data_acceptance] if "/data/" in label else []
        response = case.call_and_validate(base_url=base_url, excluded_checks=excluded)
        statuses.append(response.status_code)

    try:
        check()
    except Unsatisfiable:
        pytest.skip(f"no {mode} request exists for {label}")
    if mode is GenerationMode.POSITIVE and "{identity}" not in label:
        assert 200 in statuses or label.startswith("HEAD")  # not only refusals


STORED = sorted(label for label in OPERATIONS if "/data/" in label or "/sessions" in label)


@pytest.mark.parametrize("label", STORED)
def test_the_store_alone_answers_as_documented(store_url, label):
    """The session and data operations once more, served from the store (fewer examples:
    the checks are the same, the sources differ)."""

    @given(case=OPERATIONS[label].as_strategy(generation_mode=GenerationMode.POSITIVE))
    @settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
    def check(case):
        excluded = [positive_data_acceptance] if "/data/" in label else []
        case.call_and_validate(base_url=store_url, excluded_checks=excluded)

    check()


def test_the_served_document_is_the_one_tested(base_url):
    with urllib.request.urlopen(base_url + "/openapi.json", timeout=10) as reply:
        assert json.load(reply) == json.loads(json.dumps(DOCUMENT))
