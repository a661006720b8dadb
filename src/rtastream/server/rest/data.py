"""Samples and events of a session, in `application/vnd.mat.protobuf+chunked` chunks."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable, Generator, Iterator, Sequence

from aiohttp import web

from rtastream import chunks
from rtastream.channels import Channels, parse_channels
from rtastream.decoding import DecodedItem
from rtastream.server.rest.context import SOURCES
from rtastream.server.rest.sources import Blocks, DataSource, Kind

CHUNKED = "application/vnd.mat.protobuf+chunked"
LATEST = 2**63 - 1  # ns: the end of time as an int64

_log = logging.getLogger(__name__)
_DECIMAL = re.compile(r"[0-9]{1,19}")  # ASCII digits only: str.isdigit() takes "²"

routes = web.RouteTableDef()

Chunker = Callable[[Sequence[DecodedItem], Channels, int, int], list[chunks.Chunk]]
_CHUNKERS: dict[str, Chunker] = {
    "timestamped": chunks.timestamped_chunks,
    "periodic": chunks.periodic_chunks,
    "row": chunks.row_chunks,
}


def time_parameter(request: web.Request, name: str, default: int) -> int:
    text = request.query.get(name)
    if text is None:
        return default
    if not _DECIMAL.fullmatch(text) or int(text) > LATEST:
        raise web.HTTPBadRequest(text=f"{name} must be ns since the Unix epoch, 0 to {LATEST}")
    return int(text)


def _range(request: web.Request) -> tuple[int, int]:
    start = time_parameter(request, "start", 0)
    end = time_parameter(request, "end", LATEST)
    if start > end:
        raise web.HTTPBadRequest(text=f"start ({start}) is after end ({end})")
    return start, end


async def _send(
    request: web.Request,
    kind: Kind,
    channels: Channels | None,
    cut: Callable[[Sequence[DecodedItem], int, int], list[chunks.Chunk]],
) -> web.StreamResponse:
    identity = request.match_info["identity"]
    start, end = _range(request)
    source = request.app[SOURCES].data
    found = await source.ready(identity, kind, channels, start, end)
    if found is None:
        found = await _chunked(source, identity, kind, channels, start, end, cut)
    response = web.StreamResponse(headers={"Content-Type": CHUNKED})
    await response.prepare(request)
    await _stream(request, response, found)
    return response


async def _stream(request: web.Request, response: web.StreamResponse, blocks: Blocks) -> None:
    """Each block written as soon as it is made; the next one is made (on a worker thread:
    reading and framing are blocking work) while this one is sent, and no more ahead, so a
    response holds about two blocks however long it is. A client gone stops it quietly;
    an error past the headers aborts the connection (the client sees a cut transfer, not
    a body that looks whole: the status is sent already)."""
    loop = asyncio.get_running_loop()
    ahead = loop.run_in_executor(None, next, blocks, None)
    try:
        while (block := await ahead) is not None:
            ahead = loop.run_in_executor(None, next, blocks, None)
            await response.write(block)
        await response.write_eof()
    except ConnectionError:
        pass  # the client went away
    except Exception:
        _log.exception("%s: the response was cut short", request.path)
        if request.transport is not None:
            request.transport.abort()
    finally:
        ahead.add_done_callback(lambda done: _closed(done, blocks))


def _closed(done: asyncio.Future[bytes | None], blocks: Blocks) -> None:
    """Let the body go once no thread is making a block of it."""
    if not done.cancelled():
        done.exception()  # retrieved: it was logged or is moot (the client left)
    if isinstance(blocks, Generator):
        blocks.close()


async def _chunked(
    source: DataSource,
    identity: str,
    kind: Kind,
    channels: Channels | None,
    start: int,
    end: int,
    cut: Callable[[Sequence[DecodedItem], int, int], list[chunks.Chunk]],
) -> Blocks:
    """The response body cut and compressed from the source's items, as it is sent (the
    cutting on the first block's thread: CPU work, off the event loop)."""
    lo, hi = chunks.widen(start, end)
    items = await source.read(identity, kind, channels, lo, hi)
    if items is None:
        raise web.HTTPNotFound(text=f"no session {identity!r}")
    return _blocks(chunks.frame(cut(items, start, end)) for _ in (None,))


def _blocks(framed: Iterator[Iterator[bytes]]) -> Blocks:
    """The framed pieces gathered into blocks of about BLOCK bytes."""
    parts: list[bytes] = []
    size = 0
    for pieces in framed:
        for piece in pieces:
            parts.append(piece)
            size += len(piece)
            if size >= chunks.BLOCK:
                yield b"".join(parts)
                parts, size = [], 0
    if parts:
        yield b"".join(parts)


@routes.get(
    "/rta/v2/sessions/{identity}/data/{kind:timestamped|periodic|row}/{channels}", allow_head=False
)
async def samples(request: web.Request) -> web.StreamResponse:
    kind: Kind = request.match_info["kind"]  # type: ignore[assignment]
    try:
        channels = parse_channels(request.match_info["channels"])
    except ValueError as exc:
        raise web.HTTPBadRequest(text=str(exc)) from None
    chunker = _CHUNKERS[kind]
    return await _send(request, kind, channels, lambda items, s, e: chunker(items, channels, s, e))


@routes.get("/rta/v2/sessions/{identity}/data/events", allow_head=False)
async def events(request: web.Request) -> web.StreamResponse:
    return await _send(request, "events", None, chunks.event_chunks)
