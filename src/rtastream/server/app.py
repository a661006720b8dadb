"""The aiohttp application: the Stream Service's live WebSocket endpoint, its REST
neighbours, and the page.

    GET /rta/v2/sessions/{identity}/stream   WebSocket, sub-protocol mat.ocs.rta.stream-lz4
    /rta/v2/...                              the rest of the RTA REST API (server/rest/)
    GET /health                              200 while Redis answers (or with no Redis)
    GET /                                    the page (a browser), or the version (JSON)
"""

from __future__ import annotations

import logging
from importlib import resources
from typing import Any

import redis.asyncio
from aiohttp import WSCloseCode, web

from rtastream import __version__
from rtastream.connection import async_client_for
from rtastream.reader import read_session
from rtastream.reader.entries import CLOSED_STATES
from rtastream.reader.records import SessionRecord
from rtastream.reader.retry import client_options
from rtastream.server import packing, rest
from rtastream.server.client import CLOSE_TRY_LATER, Client
from rtastream.server.hub import FEED_BLOCK, Busy, Hub
from rtastream.server.rest.data import time_parameter
from rtastream.server.rest.sources import session_model
from rtastream.server.subscription import Subscription

SUBPROTOCOL = "mat.ocs.rta.stream-lz4"
QUEUE_BYTES = 8 << 20  # per client: 128 messages of 64 KiB
MAX_REQUEST = 1 << 20  # a StreamRequest is a few bytes; a megabyte is plenty
MAX_STREAMS = 1000  # streams followed at once (each feed blocks one connection in XREAD)
RECONNECT_TIMEOUT = 10.0  # seconds Redis may be away (lost, frozen) before clients are told
REDIS_FAILED = (redis.RedisError, OSError)  # Redis away past the budget, or refusing
HUB = web.AppKey("hub", Hub)
RedisClient = redis.asyncio.Redis | redis.asyncio.RedisCluster
REDIS: web.AppKey[RedisClient] = web.AppKey("redis")
STATIC = resources.files("rtastream.server") / "static"

log = logging.getLogger("rtastream.server")


def make_app(
    redis_url: str | None,
    *,
    store: str | None = None,
    queue_bytes: int = QUEUE_BYTES,
    reconnect_timeout: float = RECONNECT_TIMEOUT,
) -> web.Application:
    """The server for the Redis at `redis_url` (any node of a Redis Cluster; None: no
    Redis, then `store` is needed) and the recorder's store at `store` (a directory or
    s3:// URL, read only: see rest.join for how the two are joined); `queue_bytes` bounds
    each client's queue; Redis away (or frozen: no reply) for `reconnect_timeout` seconds
    closes the clients of the streams it holds (1011). It connects when it starts."""
    if redis_url is None and store is None:
        raise ValueError("make_app needs a Redis URL, a store, or both")
    app = web.Application(middlewares=[busy_is_503])
    if redis_url is not None:
        app.on_startup.append(_connecting(redis_url, queue_bytes, reconnect_timeout))
        app.on_shutdown.append(_shutdown)
    app.router.add_get("/", index)
    app.router.add_get("/health", health)
    app.router.add_get("/rta/v2/sessions/{identity}/stream", stream)
    app.router.add_static("/static", str(STATIC))
    rest.add_routes(app, HUB if redis_url is not None else None, _store(store))
    return app


def _store(url: str | None) -> Any:
    if url is None:
        return None
    from rtastream.store import Store  # pyarrow: only when a store is served

    return Store(url)


def _connecting(redis_url: str, queue_bytes: int, reconnect_timeout: float) -> Any:
    async def connect(app: web.Application) -> None:
        options = client_options(0.0, reconnect_timeout, asynchronous=True)
        client = await async_client_for(redis_url, **options)
        app[REDIS] = client
        # The stream readers' own client: one connection per stream followed.
        options = client_options(FEED_BLOCK, reconnect_timeout, asynchronous=True)
        feeds = await async_client_for(redis_url, max_connections=MAX_STREAMS, **options)
        app[HUB] = Hub(client, feeds, queue_bytes, reconnect_timeout)

    return connect


@web.middleware
async def busy_is_503(request: web.Request, handler: Any) -> web.StreamResponse:
    """A REST request whose Redis command found no turn in time, or Redis failing (away past
    the budget, frozen): 503, try again later."""
    try:
        return await handler(request)  # type: ignore[no-any-return]
    except Busy as exc:
        log.warning("refusing %s for load: %s", request.path, exc)
        raise web.HTTPServiceUnavailable(text=f"server busy: {exc}") from None
    except REDIS_FAILED as exc:
        log.error("%s failed: Redis: %r", request.path, exc)
        raise web.HTTPServiceUnavailable(text=f"Redis failed: {exc}") from None


async def _shutdown(app: web.Application) -> None:
    await app[HUB].close()
    await app[HUB].feed_redis.aclose()
    await app[REDIS].aclose()


# --- REST ------------------------------------------------------------------------------


async def index(request: web.Request) -> web.StreamResponse:
    """The page for a browser; the service and its version for anything else (RTA services
    answer GET / with their version)."""
    if "text/html" in request.headers.get("Accept", ""):
        return web.Response(text=(STATIC / "index.html").read_text(), content_type="text/html")
    return web.json_response({"service": "rtastream", "version": __version__})


async def health(request: web.Request) -> web.Response:
    if HUB not in request.app:
        return web.json_response({"status": "healthy", "redis": None})
    hub = request.app[HUB]
    try:
        await request.app[REDIS].ping()
    except (redis.RedisError, OSError) as exc:
        return web.json_response({"status": "unhealthy", "redis": str(exc)}, status=503)
    return web.json_response(
        {
            "status": "healthy",
            "liveSessions": len(hub.sessions),
            "clients": hub.clients,
            "streams": len(hub.feeds),
            "slowClientsClosed": hub.slow_clients_closed,
        }
    )


# --- the live stream -------------------------------------------------------------------


async def stream(request: web.Request) -> web.WebSocketResponse:
    identity = request.match_info["identity"]
    if HUB not in request.app:
        raise web.HTTPNotFound(text="no live stream here: this server serves a store, no Redis")
    ws = web.WebSocketResponse(protocols=(SUBPROTOCOL,), max_msg_size=MAX_REQUEST)
    # Ours, beside the protocol: back-fill only what reaches `since` (ns), for a client
    # that already has the history before it (the page, over REST).
    since = time_parameter(request, "since", 0) if "since" in request.query else None
    ready = ws.can_prepare(request)
    if not ready.ok:
        raise web.HTTPBadRequest(text="expected a WebSocket upgrade request")
    if ready.protocol != SUBPROTOCOL:
        raise web.HTTPNotAcceptable(text=f"the WebSocket sub-protocol {SUBPROTOCOL} is required")
    await ws.prepare(request)
    hub = request.app[HUB]
    record = await _looked_up(ws, hub, identity)
    if ws.closed:
        return ws
    if record is None or session_model(record) is None or record.location is None:
        await ws.close(code=WSCloseCode.OK, message=b"no such session to stream")
        return ws
    if record.state in CLOSED_STATES:  # nothing live: its final state, then goodbye
        await ws.send_bytes(packing.session_json(record.json or "{}"))
        await ws.close(code=WSCloseCode.OK, message=b"session ended")
        return ws
    client = Client(ws, hub.queue_bytes, hub.count_too_slow, since)
    try:
        live = await hub.join(client, identity, *record.location)
    except REDIS_FAILED as exc:  # its stream's reader could not start
        await _close_failed(ws, identity, exc)
        return ws
    try:
        try:
            # Read again now the shared reader passes this session's entries on: whatever
            # changed in between comes live after this first message.
            record = await hub.ask(read_session(identity)) or record
        except Busy as exc:
            client.refuse(str(exc))  # converse() closes the socket
        except REDIS_FAILED as exc:
            log.error("a client of session %s: Redis failed: %r", identity, exc)
            client.fail(f"Redis failed: {exc}")
        else:
            client.start(packing.session_json(record.json or "{}"))
            if record.time_range is not None and not live.ended:
                client.push(packing.time_range(*record.time_range))
                client.sent_time_range = record.time_range
            if record.state in CLOSED_STATES or live.ended:
                client.end()
        await client.converse(lambda data: live.subscribe(client, Subscription.parse(data)))
    finally:
        await client.stop()
        await hub.leave(client, live)
    return ws


async def _looked_up(ws: web.WebSocketResponse, hub: Hub, identity: str) -> SessionRecord | None:
    """The session's record for a new client; the socket closed if Redis cannot say:
    1013 for load, 1011 for Redis failing."""
    try:
        return await hub.ask(read_session(identity))
    except Busy as exc:
        log.warning("refusing a client of session %s for load: %s", identity, exc)
        await ws.close(code=CLOSE_TRY_LATER, message=f"server busy: {exc}".encode()[:123])
    except REDIS_FAILED as exc:
        await _close_failed(ws, identity, exc)
    return None


async def _close_failed(ws: web.WebSocketResponse, identity: str, exc: Exception) -> None:
    log.error("a client of session %s: Redis failed: %r", identity, exc)
    reason = f"Redis failed: {exc}"
    await ws.close(code=WSCloseCode.INTERNAL_ERROR, message=reason.encode()[:123])
