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
from rtastream.server import packing, rest
from rtastream.server.client import CLOSE_TRY_LATER, Client
from rtastream.server.hub import Busy, Hub
from rtastream.server.rest.sources import session_model
from rtastream.server.subscription import Subscription

SUBPROTOCOL = "mat.ocs.rta.stream-lz4"
QUEUE_BYTES = 8 << 20  # per client: 128 messages of 64 KiB
MAX_REQUEST = 1 << 20  # a StreamRequest is a few bytes; a megabyte is plenty
MAX_STREAMS = 1000  # streams followed at once (each feed blocks one connection in XREAD)
HUB = web.AppKey("hub", Hub)
RedisClient = redis.asyncio.Redis | redis.asyncio.RedisCluster
REDIS: web.AppKey[RedisClient] = web.AppKey("redis")
STATIC = resources.files("rtastream.server") / "static"

log = logging.getLogger("rtastream.server")


def make_app(
    redis_url: str | None, *, store: str | None = None, queue_bytes: int = QUEUE_BYTES
) -> web.Application:
    """The server for the Redis at `redis_url` (any node of a Redis Cluster; None: no
    Redis, then `store` is needed) and the recorder's store at `store` (a directory or
    s3:// URL, read only: see rest.join for how the two are joined); `queue_bytes` bounds
    each client's queue. It connects when it starts."""
    if redis_url is None and store is None:
        raise ValueError("make_app needs a Redis URL, a store, or both")
    app = web.Application(middlewares=[busy_is_503])
    if redis_url is not None:
        app.on_startup.append(_connecting(redis_url, queue_bytes))
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


def _connecting(redis_url: str, queue_bytes: int) -> Any:
    async def connect(app: web.Application) -> None:
        client = await async_client_for(redis_url)
        app[REDIS] = client
        # The stream readers' own client: one connection per stream followed.
        feeds = await async_client_for(redis_url, max_connections=MAX_STREAMS)
        app[HUB] = Hub(client, feeds, queue_bytes)

    return connect


@web.middleware
async def busy_is_503(request: web.Request, handler: Any) -> web.StreamResponse:
    """A REST request whose Redis command found no turn in time: 503, try again later."""
    try:
        return await handler(request)  # type: ignore[no-any-return]
    except Busy as exc:
        log.warning("refusing %s for load: %s", request.path, exc)
        raise web.HTTPServiceUnavailable(text=f"server busy: {exc}") from None


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
    ready = ws.can_prepare(request)
    if not ready.ok:
        raise web.HTTPBadRequest(text="expected a WebSocket upgrade request")
    if ready.protocol != SUBPROTOCOL:
        raise web.HTTPNotAcceptable(text=f"the WebSocket sub-protocol {SUBPROTOCOL} is required")
    await ws.prepare(request)
    hub = request.app[HUB]
    try:
        record = await hub.ask(read_session(identity))
    except Busy as exc:
        log.warning("refusing a client of session %s for load: %s", identity, exc)
        await ws.close(code=CLOSE_TRY_LATER, message=f"server busy: {exc}".encode()[:123])
        return ws
    if record is None or session_model(record) is None or record.location is None:
        await ws.close(code=WSCloseCode.OK, message=b"no such session to stream")
        return ws
    if record.state in CLOSED_STATES:  # nothing live: its final state, then goodbye
        await ws.send_bytes(packing.session_json(record.json or "{}"))
        await ws.close(code=WSCloseCode.OK, message=b"session ended")
        return ws
    client = Client(ws, hub.queue_bytes, hub.count_too_slow)
    live = await hub.join(client, identity, *record.location)
    try:
        try:
            # Read again now the shared reader passes this session's entries on: whatever
            # changed in between comes live after this first message.
            record = await hub.ask(read_session(identity)) or record
        except Busy as exc:
            client.refuse(str(exc))  # converse() closes the socket
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
