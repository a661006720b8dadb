"""The aiohttp application: the Stream Service's live WebSocket endpoint, its REST
neighbours, and the page.

    GET /rta/v2/sessions/{identity}/stream   WebSocket, sub-protocol mat.ocs.rta.stream-lz4
    GET /rta/v2/sessions                     SessionsPage of Session JSON, newest first
    GET /rta/v2/sessions/{identity}          one Session JSON, or 404
    GET /rta/v2/configs/{identifier}         a configuration's JSON, or 404
    GET /health                              200 while Redis answers, else 503
    GET /                                    the page (a browser), or the version (JSON)
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timezone
from importlib import resources
from typing import Any

import redis.asyncio
from aiohttp import WSCloseCode, web

from rtastream import __version__
from rtastream.connection import async_client_for
from rtastream.reader import SessionRecord, read_configuration, read_session, scan_sessions
from rtastream.reader.entries import CLOSED_STATES
from rtastream.server import packing
from rtastream.server.client import CLOSE_TRY_LATER, Client
from rtastream.server.hub import Busy, Hub
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


def make_app(redis_url: str, *, queue_bytes: int = QUEUE_BYTES) -> web.Application:
    """The server for the Redis at `redis_url` (any node of a Redis Cluster); `queue_bytes`
    bounds each client's queue. It connects when it starts."""
    app = web.Application(middlewares=[busy_is_503])

    async def connect(app: web.Application) -> None:
        client = await async_client_for(redis_url)
        app[REDIS] = client
        # The stream readers' own client: one connection per stream followed.
        feeds = await async_client_for(redis_url, max_connections=MAX_STREAMS)
        app[HUB] = Hub(client, feeds, queue_bytes)

    app.on_startup.append(connect)
    app.router.add_get("/", index)
    app.router.add_get("/health", health)
    app.router.add_get("/rta/v2/sessions", sessions_page)
    app.router.add_get("/rta/v2/sessions/{identity}", one_session)
    app.router.add_get("/rta/v2/sessions/{identity}/stream", stream)
    app.router.add_get("/rta/v2/configs/{identifier}", one_config)
    app.router.add_static("/static", str(STATIC))
    app.on_shutdown.append(_shutdown)
    return app


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


def session_model(record: SessionRecord) -> dict[str, Any] | None:
    """The Session JSON of a streamable session (one whose hash has a json field)."""
    if record.json is None:
        return None
    model = record.model
    return model if model.get("identity") else None


async def sessions_page(request: web.Request) -> web.Response:
    """SessionsPage {sessions: [...]}: pageIndex and pageSize (default: every session), sort
    `prop:asc|desc` on a Session JSON property (default timestamp:desc). `folder` is accepted
    and ignored: sessions in Redis have no folders."""
    query = request.query
    try:
        index_ = int(query.get("pageIndex", 0))
        size = int(query["pageSize"]) if "pageSize" in query else None
        prop, _, order = query.get("sort", "timestamp:desc").partition(":")
        if index_ < 0 or (size is not None and size < 1) or order not in ("", "asc", "desc"):
            raise ValueError
    except ValueError:
        raise web.HTTPBadRequest(
            text="pageIndex >= 0, pageSize >= 1 and sort prop:asc|desc expected"
        ) from None
    # SCAN (every master of a cluster): the page asks every 2 s, and finding sessions from
    # the streams' messages costs Redis far more (each entry read, payload included).
    records = await request.app[HUB].ask(scan_sessions())
    models = [m for m in map(session_model, records) if m is not None]
    models.sort(key=lambda m: sort_key(m.get(prop)), reverse=order != "asc")
    if size is not None:
        models = models[index_ * size : (index_ + 1) * size]
    # The Session JSON keeps RTA's states; beside them, the open sessions whose writer's
    # heartbeat stopped (SessionRecord.is_stale), for the page to show as stale.
    now_ms = int(datetime.now(timezone.utc).timestamp() * 1000)
    shown = {m["identity"] for m in models}
    stale = sorted(r.identity for r in records if r.identity in shown and r.is_stale(now_ms))
    return web.json_response({"sessions": models, "stale": stale})


def sort_key(value: Any) -> tuple[int, Any]:
    """Missing values last in ascending order; ISO dates by instant; others by text."""
    if value is None:
        return (0, "")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (1, value)
    if isinstance(value, str):
        try:
            return (
                2,
                datetime.fromisoformat(value.replace("Z", "+00:00"))
                .astimezone(timezone.utc)
                .timestamp(),
            )
        except ValueError:
            pass
    return (3, json.dumps(value, sort_keys=True))


async def one_session(request: web.Request) -> web.Response:
    identity = request.match_info["identity"]
    record = await request.app[HUB].ask(read_session(identity))
    if record is None or session_model(record) is None:
        raise web.HTTPNotFound(text=f"no session {identity!r}")
    return web.Response(text=record.json, content_type="application/json")


CONFIG_JSON = "application/vnd.mat.config+json"  # RTA's media type of configuration JSON


async def one_config(request: web.Request) -> web.Response:
    identifier = request.match_info["identifier"]
    text = await request.app[HUB].ask(read_configuration(identifier))
    if text is None:
        raise web.HTTPNotFound(text=f"no configuration {identifier!r}")
    return web.Response(body=text, content_type=CONFIG_JSON, charset="utf-8")


# --- the live stream -------------------------------------------------------------------


async def stream(request: web.Request) -> web.WebSocketResponse:
    identity = request.match_info["identity"]
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
