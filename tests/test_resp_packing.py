"""The writer's RESP packer against redis-py's own packer (the oracle)."""

from __future__ import annotations

import redis
from redis.connection import Encoder, PythonRespSerializer

from rtastream.protocol import BIG_ARG, pack_commands


def test_pipeline_bytes_match_redis_py_and_payloads_are_not_copied():
    payload = bytes(range(256)) * 300
    commands = [
        ("XADD", "stream:cär", "MAXLEN", "~", 10, "*", "id", 12, "data", payload),
        ("HSET", "sessions:x", "tStart", -5, "tEnd", 2**62, "json", '{"a":"ü"}'),
        ("EXPIRE", "sessions:x", 86400),
        ("XADD", "stream:x", "*", "id", 1, "data", b"x" * (BIG_ARG - 1)),
        ("SET", "k", b""),
    ]
    chunks = pack_commands(commands)
    packer = PythonRespSerializer(6000, Encoder("utf-8", "strict", False).encode)
    expected = b"".join(bytes(c) for c in redis.Connection(command_packer=packer)
                        .pack_commands(commands))
    assert b"".join(chunks) == expected
    assert any(chunk is payload for chunk in chunks)
    assert all(len(chunk) < BIG_ARG * 4 for chunk in chunks if chunk is not payload)
