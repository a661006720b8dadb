"""The OpenAPI description of what `rtastream serve` answers under /rta/v2, in our words
(RTA's own document is the contract; docs/atlas.md lists where we chose)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from rtastream import __version__
from rtastream.server.rest.query import MAX_PAGE_SIZE
from rtastream.server.rest.sessions import DESCRIBED

routes = web.RouteTableDef()


def _text(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"text/plain": {"schema": {"type": "string"}}}}


def _json(description: str, ref: str) -> dict[str, Any]:
    schema = {"$ref": f"#/components/schemas/{ref}"}
    return {"description": description, "content": {"application/json": {"schema": schema}}}


BAD = _text("A malformed request: the body says why, in one line.")
UNKNOWN = _text("No such session or configuration.")
UNAVAILABLE = _text("Redis does not answer.")
_CHUNKED = {
    "description": "Chunks, each: a 4-byte little-endian header length, a ChunkTransferHeader, "
    "its LZ4-compressed data list (protos/net_chunks.proto, protos/model_data.proto).",
    "content": {
        "application/vnd.mat.protobuf+chunked": {"schema": {"type": "string", "format": "binary"}}
    },
}
_NS = {"type": "integer", "minimum": 0, "maximum": 2**63 - 1}
_TIMES = [
    {
        "name": "start",
        "in": "query",
        "description": "ns since the Unix epoch, inclusive",
        "schema": _NS,
    },
    {
        "name": "end",
        "in": "query",
        "description": "ns since the Unix epoch, inclusive",
        "schema": _NS,
    },
]
_IDENTITY = {"name": "identity", "in": "path", "required": True, "schema": {"type": "string"}}
_CHANNELS = {
    "name": "channels",
    "in": "path",
    "required": True,
    "description": "Comma-separated hex channel ids and ranges, open at either end: -5,7,B-D,14-",
    "schema": {"type": "string"},
}
_PAGING = {
    "pageIndex": {"type": "integer", "minimum": 0},
    "pageSize": {"type": "integer", "minimum": 0, "maximum": MAX_PAGE_SIZE},
    "folder": {"type": "string"},
    "sort": {"type": "array", "items": {"type": "string"}},
}
_SESSIONS_ANSWERS = {
    "200": _json("A page of sessions.", "SessionsPage"),
    "400": BAD,
    "503": UNAVAILABLE,
}


def _data(summary: str, with_channels: bool) -> dict[str, Any]:
    parameters = [_IDENTITY, *([_CHANNELS] if with_channels else []), *_TIMES]
    answers = {"200": _CHUNKED, "400": BAD, "404": UNKNOWN, "503": UNAVAILABLE}
    return {"get": {"summary": summary, "parameters": parameters, "responses": answers}}


_SCALAR = {"nullable": True, "oneOf": [{"type": t} for t in ("string", "number", "boolean")]}
_CRITERIA_LIST = {"type": "array", "items": {"$ref": "#/components/schemas/FilterCriteria"}}
_DETAIL = {"oneOf": [{"type": t} for t in ("string", "integer", "number", "boolean")]}
_CAPABILITIES = {
    "type": "object",
    "properties": {"sort": {"type": "boolean"}, "filter": {"type": "boolean"}},
}
_DESCRIPTOR = {
    "type": "object",
    "properties": {"capabilities": _CAPABILITIES, "constraints": {"type": "object"}},
}
_DETAIL_DESCRIPTOR = {
    "type": "object",
    "required": ["label"],
    "properties": {
        "label": {"type": "string"},
        "type": {"enum": ["string", "number", "integer", "boolean", "dateTime"]},
        "capabilities": _CAPABILITIES,
        "constraints": {"type": "object"},
    },
}

DOCUMENT: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {
        "title": "rtastream's RTA REST API",
        "version": __version__,
        "description": "The RTA REST API as `rtastream serve` answers it (docs/atlas.md).",
    },
    "servers": [{"url": "/rta/v2"}],
    "paths": {
        "/info": {
            "get": {
                "summary": "Label and description of this service; no authentication",
                "responses": {"200": _json("The service.", "Info")},
            }
        },
        "/sessions": {
            "get": {
                "summary": "List sessions, newest first unless sorted otherwise",
                "parameters": [
                    {"name": name, "in": "query", "schema": schema}
                    | ({"style": "form", "explode": True} if name == "sort" else {})
                    for name, schema in _PAGING.items()
                ],
                "responses": _SESSIONS_ANSWERS,
            },
            "post": {
                "summary": "Query sessions (RTA's query dialect in `query`)",
                "requestBody": {
                    "content": {
                        "application/x-www-form-urlencoded": {
                            "schema": {
                                "type": "object",
                                "properties": _PAGING
                                | {
                                    "query": {"$ref": "#/components/schemas/FilterCriteria"},
                                    "prop": {"type": "array", "items": {"type": "string"}},
                                },
                            },
                            "encoding": {"query": {"contentType": "application/json"}},
                        }
                    }
                },
                "responses": _SESSIONS_ANSWERS,
            },
        },
        "/sessions/{identity}": {
            "get": {
                "summary": "One session",
                "parameters": [_IDENTITY],
                "responses": {
                    "200": _json("The session.", "Session"),
                    "404": UNKNOWN,
                    "503": UNAVAILABLE,
                },
            }
        },
        "/session-folders/{parent}": {
            "get": {
                "summary": "Virtual folders under a parent: none",
                "parameters": [
                    {"name": "parent", "in": "path", "required": True, "schema": {"type": "string"}}
                ],
                "responses": {"200": _json("The folders.", "SessionFolders")},
            }
        },
        "/session-metamodel": {
            "get": {
                "summary": "What each session property can do, and the values seen",
                "parameters": [
                    {"name": "folder", "in": "query", "schema": {"type": "string"}},
                    {
                        "name": "prop",
                        "in": "query",
                        "schema": {"type": "array", "items": {"type": "string"}},
                    },
                ],
                "responses": {
                    "200": _json("The metamodel.", "SessionMetamodel"),
                    "503": UNAVAILABLE,
                },
            }
        },
        "/session-metamodel/properties": {
            "get": {
                "summary": "Properties whose id or label holds `query`",
                "parameters": [
                    {"name": "query", "in": "query", "schema": {"type": "string"}},
                    {"name": "folder", "in": "query", "schema": {"type": "string"}},
                ],
                "responses": {
                    "200": {
                        "description": "The properties.",
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "array",
                                    "items": {"$ref": "#/components/schemas/PropertySummary"},
                                }
                            }
                        },
                    },
                    "503": UNAVAILABLE,
                },
            }
        },
        "/configs/{identifier}": {
            "parameters": [
                {"name": "identifier", "in": "path", "required": True, "schema": {"type": "string"}}
            ],
            "head": {
                "summary": "Whether a configuration exists",
                "responses": {
                    "200": {"description": "It does."},
                    "404": {"description": "It does not."},
                },
            },
            "get": {
                "summary": "A configuration, as RTA config JSON",
                "responses": {
                    "200": {
                        "description": "The configuration.",
                        "content": {
                            "application/vnd.mat.config+json": {"schema": {"type": "object"}}
                        },
                    },
                    "404": UNKNOWN,
                    "503": UNAVAILABLE,
                },
            },
        },
        "/sessions/{identity}/data/timestamped/{channels}": _data("Timestamped samples", True),
        "/sessions/{identity}/data/periodic/{channels}": _data("Periodic samples", True),
        "/sessions/{identity}/data/row/{channels}": _data("Rows holding any of the channels", True),
        "/sessions/{identity}/data/events": _data("Events", False),
    },
    "components": {
        "schemas": {
            "FilterCriteria": {
                "description": "Every key must match: $and, $or, $nor (arrays of criteria), "
                "$not (criteria), or a dotted property path with a literal (equality) or a "
                "FilterCondition.",
                "type": "object",
                "properties": {
                    "$and": _CRITERIA_LIST,
                    "$or": _CRITERIA_LIST,
                    "$nor": _CRITERIA_LIST,
                    "$not": {"$ref": "#/components/schemas/FilterCriteria"},
                },
                "additionalProperties": {
                    "oneOf": [_SCALAR, {"$ref": "#/components/schemas/FilterCondition"}]
                },
            },
            "FilterCondition": {
                "description": "Operators that must all hold of the property's value.",
                "type": "object",
                "minProperties": 1,
                "additionalProperties": False,
                "properties": {
                    **{op: _SCALAR for op in ("$eq", "$neq", "$gt", "$gte", "$lt", "$lte")},
                    **{op: {"type": "array", "items": _SCALAR} for op in ("$in", "$nin")},
                    **{op: {"type": "string"} for op in ("$startsWith", "$endsWith", "$contains")},
                    "$not": {"$ref": "#/components/schemas/FilterCondition"},
                },
            },
            "Info": {
                "type": "object",
                "required": ["label", "description", "requiresAuthentication"],
                "properties": {
                    "label": {"type": "string"},
                    "description": {"type": "string"},
                    "requiresAuthentication": {"type": "boolean"},
                    "version": {"type": "string"},
                },
            },
            "SessionsPage": {
                "type": "object",
                "required": ["sessions"],
                "properties": {
                    "sessions": {
                        "type": "array",
                        "items": {"$ref": "#/components/schemas/Session"},
                    },
                    "stale": {
                        "description": "Ours: the identities of the sessions shown that are "
                        "not ended but whose writer's heartbeat stopped.",
                        "type": "array",
                        "items": {"type": "string"},
                    },
                },
            },
            "Session": {
                "type": "object",
                "required": ["identity", "state", "timestamp", "identifier"],
                "properties": {
                    "identity": {"type": "string"},
                    "state": {
                        "enum": [
                            "unknown",
                            "waiting",
                            "open",
                            "closed",
                            "truncated",
                            "failed",
                            "abandoned",
                        ]
                    },
                    "timestamp": {"type": "string"},
                    "identifier": {"type": "string"},
                    "startTimestamp": {"type": "string"},
                    "endTimestamp": {"type": "string"},
                    "timeRange": {
                        "type": "object",
                        "required": ["startTime", "endTime"],
                        "properties": {
                            "startTime": {"type": "integer"},
                            "endTime": {"type": "integer"},
                        },
                    },
                    "details": {"type": "object", "additionalProperties": _DETAIL},
                    "extDetails": {
                        "type": "object",
                        "additionalProperties": {"type": "object", "additionalProperties": _DETAIL},
                    },
                    "configBindings": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["identifier", "channelOffset"],
                            "properties": {
                                "identifier": {"type": "string"},
                                "channelOffset": {"type": "integer"},
                            },
                        },
                    },
                },
            },
            "SessionFolders": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["identity", "label", "description"],
                    "properties": {
                        "identity": {"type": "string"},
                        "label": {"type": "string"},
                        "description": {"type": "string"},
                        "hasChildren": {"type": "boolean"},
                    },
                },
            },
            "SessionMetamodel": {
                "type": "object",
                "properties": {
                    "state": _CAPABILITIES,
                    **{name: _DESCRIPTOR for name in DESCRIBED},
                    "details": {"type": "object", "additionalProperties": _DETAIL_DESCRIPTOR},
                    "extDetails": {
                        "type": "object",
                        "additionalProperties": {
                            "type": "object",
                            "required": ["label"],
                            "properties": {
                                "label": {"type": "string"},
                                "properties": {
                                    "type": "object",
                                    "additionalProperties": _DETAIL_DESCRIPTOR,
                                },
                            },
                        },
                    },
                },
            },
            "PropertySummary": {
                "type": "object",
                "required": ["id", "label"],
                "properties": {
                    "id": {"type": "string"},
                    "label": {"type": "string"},
                    "description": {"type": "string"},
                },
            },
        }
    },
}


@routes.get("/rta/v2/openapi.json")
async def openapi(request: web.Request) -> web.Response:
    return web.json_response(DOCUMENT)
