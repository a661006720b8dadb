"""`GET /rta/v2/info`: what ATLAS polls to label the connection and learn whether it must
authenticate (RTA publishes no shape for it: docs/atlas.md gives the one chosen)."""

from __future__ import annotations

import socket

from aiohttp import web

from rtastream import __version__

routes = web.RouteTableDef()


@routes.get("/rta/v2/info")
async def info(request: web.Request) -> web.Response:
    return web.json_response(
        {
            "label": f"rtastream on {socket.gethostname()}",
            "description": "RTA sessions, configurations and data from Redis (rtastream serve)",
            "requiresAuthentication": False,
            "version": __version__,
        }
    )
