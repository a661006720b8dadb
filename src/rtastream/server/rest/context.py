"""The application keys the REST handlers share."""

from aiohttp import web

from rtastream.server.rest.sources import Sources

SOURCES = web.AppKey("rest_sources", Sources)
