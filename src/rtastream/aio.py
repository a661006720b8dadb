"""The asyncio writer: rtastream.aio.RedisStreamBuffer, the twin of rtastream.RedisStreamBuffer
with `async with` and `await` (its driver lives in rtastream.writer.aio)."""

from rtastream.writer.aio import Opening, RedisStreamBuffer, StreamSession

__all__ = ["Opening", "RedisStreamBuffer", "StreamSession"]
