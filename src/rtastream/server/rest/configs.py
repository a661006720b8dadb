"""Configurations, as RTA config JSON: HEAD says whether one exists, GET sends it."""

from __future__ import annotations

from aiohttp import web

from rtastream.server.rest.context import SOURCES

CONFIG_JSON = "application/vnd.mat.config+json"

routes = web.RouteTableDef()


@routes.get("/rta/v2/configs/{identifier}", allow_head=False)
async def get_config(request: web.Request) -> web.Response:
    """The JSON form whatever the Accept header: the binary form (FFC) is McLaren's own."""
    identifier = request.match_info["identifier"]
    config = await request.app[SOURCES].configs.config(identifier)
    if config is None:
        raise web.HTTPNotFound(text=f"no configuration {identifier!r}")
    return web.Response(body=config, headers={"Content-Type": CONFIG_JSON})


@routes.head("/rta/v2/configs/{identifier}")
async def has_config(request: web.Request) -> web.Response:
    if not await request.app[SOURCES].configs.has_config(request.match_info["identifier"]):
        raise web.HTTPNotFound()
    return web.Response(headers={"Content-Type": CONFIG_JSON})
