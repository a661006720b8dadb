"""The RTA REST API under /rta/v2, one module per resource: sessions (list, query,
folders, metamodel), configs, data (chunked samples and events), info, and the OpenAPI
description of it all. The query dialect (query), channel expressions (channels) and
chunking (chunks) are sans-I/O; sources says where resources come from.

    rest.add_routes(app, HUB)   # after the startup hook that sets app[HUB]
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import redis
from aiohttp import web

from rtastream.server.hub import Hub
from rtastream.server.rest import configs, data, info, openapi, sessions
from rtastream.server.rest.context import SOURCES
from rtastream.server.rest.sources import RedisSource, Sources

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def add_routes(app: web.Application, hub_key: web.AppKey[Hub]) -> None:
    """The REST routes, served through the hub the app keeps under `hub_key`."""

    async def connect(app: web.Application) -> None:
        source = RedisSource(app[hub_key])
        app[SOURCES] = Sources(sessions=source, configs=source, data=source)

    tables = [module.routes for module in (sessions, configs, data, info, openapi)]
    ours = {route.handler for table in tables for route in table if isinstance(route, web.RouteDef)}

    @web.middleware
    async def unavailable(request: web.Request, handler: Handler) -> web.StreamResponse:
        """Redis gone or failing over: 503 with the reason, not a 500 (REST routes only:
        the WebSocket closes with its own codes)."""
        try:
            return await handler(request)
        except redis.RedisError as exc:
            if handler not in ours:
                raise
            raise web.HTTPServiceUnavailable(text=f"Redis is unavailable: {exc}") from None

    app.on_startup.append(connect)
    app.middlewares.append(unavailable)
    for table in tables:
        app.router.add_routes(table)
