"""The asyncio twins, under the names of rtastream's own: rtastream.aio.RedisStreamBuffer is
rtastream.RedisStreamBuffer with `async with` and `await` (its driver lives in
rtastream.writer.aio), rtastream.aio.SessionReader is rtastream.SessionReader with `async for`
(rtastream.reader.aio has the asyncio StreamReader and run too)."""

from rtastream.reader.aio import SessionReader
from rtastream.writer.aio import Opening, RedisStreamBuffer, StreamSession

__all__ = ["Opening", "RedisStreamBuffer", "SessionReader", "StreamSession"]
