"""schemathesis against `rtastream serve` on loopback: requests generated from our OpenAPI
description (the document the server serves), each answer checked against it, and never a
500. Sessions with data and a configuration are there for it to find."""

from __future__ import annotations

import asyncio
import copy
import json
import threading
import urllib.request

import pytest
import redis
import schemathesis
from aiohttp import web
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import positive_data_acceptance

from rest_helpers import write
from rtastream import keys
from rtastream.redis_server import RedisServer
from rtastream.server import make_app
from rtastream.server.rest.openapi import DOCUMENT

pytestmark = [pytest.mark.redis, pytest.mark.slow]


@pytest.fixture(scope="module")
def base_url():
    """The server, in a thread of its own, over a private redis-server holding a closed
    session with data ("ts") and a configuration ("cfg")."""
    with RedisServer() as server:
        write(server.url, "ts")
        with redis.Redis.from_url(server.url) as r:
            r.set(keys.config_key("cfg"), json.dumps({"demo": {"channels": []}}))
        loop = asyncio.new_event_loop()
        runner = web.AppRunner(make_app(server.url))
        loop.run_until_complete(runner.setup())
        loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", 0).start())
        host, port = runner.addresses[0][:2]
        thread = threading.Thread(target=loop.run_forever, daemon=True)
        thread.start()
        yield f"http://{host}:{port}/rta/v2"
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(timeout=30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=30)
        loop.close()


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


def test_the_served_document_is_the_one_tested(base_url):
    with urllib.request.urlopen(base_url + "/openapi.json", timeout=10) as reply:
        assert json.load(reply) == json.loads(json.dumps(DOCUMENT))
