"""Session resources: the list (GET, and POST with a query), virtual folders, and the
metamodel that drives ATLAS's Session Browser filters, computed from the sessions."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiohttp import web
from multidict import MultiMapping

from rtastream.server.rest import query
from rtastream.server.rest.context import SOURCES

routes = web.RouteTableDef()


async def _page(request: web.Request, params: MultiMapping[Any]) -> web.Response:
    try:
        index, size = query.parse_page(_one(params, "pageIndex"), _one(params, "pageSize"))
        sort = query.parse_sort(v for v in params.getall("sort", []) if isinstance(v, str))
        matches = query.parse_query(_one(params, "query"))
    except query.QueryError as exc:
        raise web.HTTPBadRequest(text=str(exc)) from None
    # `prop` asks for properties beyond the usual: every property is always sent.
    listed = await request.app[SOURCES].sessions.sessions()
    if params.get("folder"):
        listed = []  # sessions here are in no folder but the root
    found = query.sort_models(filter(matches, (entry.model for entry in listed)), sort)
    shown = query.page(found, index, size)
    # Beside RTA's page (ours): the sessions shown whose writer's heartbeat stopped; their
    # Session JSON keeps the state Redis has, the page shows them as stale.
    ids = {model["identity"] for model in shown}
    stale = sorted(e.model["identity"] for e in listed if e.stale and e.model["identity"] in ids)
    return web.json_response({"sessions": shown, "stale": stale})


def _one(params: MultiMapping[Any], name: str) -> str | None:
    """The parameter's text (a file uploaded in its place is not text: None)."""
    value = params.get(name)
    return value if isinstance(value, str) else None


@routes.get("/rta/v2/sessions")
async def list_sessions(request: web.Request) -> web.Response:
    """SessionsPage: pageIndex, pageSize, folder, sort (newest first by default)."""
    if "query" in request.query:
        raise web.HTTPBadRequest(text="query is taken by POST /rta/v2/sessions only")
    return await _page(request, request.query)


@routes.post("/rta/v2/sessions")
async def query_sessions(request: web.Request) -> web.Response:
    """SessionsPage from a form: the same parameters as GET, and query and prop."""
    return await _page(request, await request.post())


@routes.get("/rta/v2/sessions/{identity}")
async def one_session(request: web.Request) -> web.Response:
    identity = request.match_info["identity"]
    model = await request.app[SOURCES].sessions.session(identity)
    if model is None:
        raise web.HTTPNotFound(text=f"no session {identity!r}")
    return web.json_response(model)


@routes.get(r"/rta/v2/session-folders/{parent:[\s\S]*}")  # any text, newlines too
async def session_folders(request: web.Request) -> web.Response:
    """No folders: sessions here all live in the root."""
    return web.json_response([])


DESCRIBED = (
    "timestamp",
    "startTimestamp",
    "endTimestamp",
    "identifier",
    "type",
    "quality",
    "group",
    "version",
)
"""The top-level Session properties the metamodel describes (besides `state`)."""
_RANGED = {"timestamp", "startTimestamp", "endTimestamp", "quality"}
_CAPABLE = {"filter": True, "sort": True}


@routes.get("/rta/v2/session-metamodel")
async def session_metamodel(request: web.Request) -> web.Response:
    """What every property can do (filter and sort, all of them) and the values seen: the
    range of times and quality, the distinct values of the rest and of each detail."""
    models = [entry.model for entry in await request.app[SOURCES].sessions.sessions()]
    metamodel: dict[str, Any] = {"state": dict(_CAPABLE)}
    for name in DESCRIBED:
        values = [m.get(name) for m in models]
        ranged = name in _RANGED
        metamodel[name] = {
            "capabilities": dict(_CAPABLE),
            "constraints": _constraints(values, ranged),
        }
    metamodel["details"] = _details([m.get("details") for m in models])
    groups: dict[str, list[Any]] = {}
    for model in models:
        ext = model.get("extDetails")
        for group, details in ext.items() if isinstance(ext, Mapping) else ():
            groups.setdefault(group, []).append(details)
    metamodel["extDetails"] = {
        group: {"label": group, "properties": _details(found)}
        for group, found in sorted(groups.items())
    }
    return web.json_response(metamodel)


def _details(maps: list[Any]) -> dict[str, Any]:
    values: dict[str, list[Any]] = {}
    for details in maps:
        for key, value in details.items() if isinstance(details, Mapping) else ():
            values.setdefault(key, []).append(value)
    return {
        key: {
            "label": key,
            "type": _type_of(found),
            "capabilities": dict(_CAPABLE),
            "constraints": _constraints(found, ranged=False),
        }
        for key, found in sorted(values.items())
    }


def _type_of(values: list[Any]) -> str:
    kinds = {_kind(v) for v in values if v is not None}
    if len(kinds) == 1:
        return kinds.pop()
    return "number" if kinds == {"integer", "number"} else "string"


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str) and query.instant(value) is not None:
        return "dateTime"
    return "string"


def _constraints(values: list[Any], ranged: bool) -> dict[str, Any]:
    scalars = [v for v in values if isinstance(v, (str, int, float, bool))]
    if not ranged:
        return {"values": [v for v in _distinct(scalars)]}
    ordered = query.sort_models([{"v": v} for v in scalars], [("v", False)])
    return {"minimum": ordered[0]["v"], "maximum": ordered[-1]["v"]} if ordered else {}


def _distinct(values: list[Any]) -> list[Any]:
    """Each value once (1 and 1.0 and True apart), in sorted order."""
    seen = {(type(v).__name__, v): v for v in values}
    return [m["v"] for m in query.sort_models([{"v": v} for v in seen.values()], [("v", False)])]


@routes.get("/rta/v2/session-metamodel/properties")
async def metamodel_properties(request: web.Request) -> web.Response:
    """PropertySummary of each property whose id or label holds `query` (any case)."""
    needle = request.query.get("query", "").casefold()
    models = [entry.model for entry in await request.app[SOURCES].sessions.sessions()]
    ids = set(DESCRIBED) | {"state"}
    for model in models:
        details, ext = model.get("details"), model.get("extDetails")
        ids.update(f"details.{key}" for key in (details if isinstance(details, Mapping) else ()))
        for group, inner in ext.items() if isinstance(ext, Mapping) else ():
            ids.update(
                f"extDetails.{group}.{key}" for key in (inner if isinstance(inner, Mapping) else ())
            )
    found = [
        {"id": id_, "label": id_.rpartition(".")[2]}
        for id_ in sorted(ids)
        if needle in id_.casefold()
    ]
    return web.json_response(found)
