"""The RTA REST API under /rta/v2, one module per resource: sessions (list, query,
folders, metamodel), configs, data (chunked samples and events), info, and the OpenAPI
description of it all. The query dialect (query) is sans-I/O, as are channel expressions
and chunking (rtastream.channels, rtastream.chunks: the store writes chunks too); sources
says where resources come from.

    rest.add_routes(app, HUB, store)   # after the startup hook that sets app[HUB]

With a store (rtastream.store.Store) and a hub, resources come from both (join); with a
store and no hub (hub_key None), from the store alone; with a hub alone, from Redis.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import redis
from aiohttp import web

from rtastream.server.hub import Hub
from rtastream.server.rest import configs, data, info, openapi, sessions
from rtastream.server.rest.context import SOURCES
from rtastream.server.rest.join import JoinedSource
from rtastream.server.rest.sources import RedisSource, Sources
from rtastream.server.rest.stored import StoreSource

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def add_routes(app: web.Application, hub_key: web.AppKey[Hub] | None, store: Any = None) -> None:
    """The REST routes, served through the hub the app keeps under `hub_key` (None: no
    Redis) and from `store` (a Store, or None)."""

    async def connect(app: web.Application) -> None:
        redis = RedisSource(app[hub_key]) if hub_key is not None else None
        stored = StoreSource(store) if store is not None else None
        source: Any = JoinedSource(stored, redis) if stored and redis else stored or redis
        app[SOURCES] = Sources(sessions=source, configs=source, data=source)

    tables = [module.routes for module in (sessions, configs, data, info, openapi)]
    ours = {route.handler for table in tables for route in table if isinstance(route, web.RouteDef)}

    @web.middleware
    async def unavailable(request: web.Request, handler: Handler) -> web.StreamResponse:
        """Redis gone or failing over, the store's disk or bucket failing: 503 with the
        reason, not a 500 (REST routes only: the WebSocket closes with its own codes)."""
        try:
            return await handler(request)
        except (redis.RedisError, OSError) as exc:
            if handler not in ours or isinstance(exc, ConnectionResetError):
                raise
            what = "Redis" if isinstance(exc, redis.RedisError) else "the store"
            raise web.HTTPServiceUnavailable(text=f"{what} is unavailable: {exc}") from None

    app.on_startup.append(connect)
    app.middlewares.append(unavailable)
    for table in tables:
        app.router.add_routes(table)
