"""The writers' RESP packers (native and its pure-Python twin) against redis-py's own
packer, the oracle; and the scatter-gather send, partial sends included."""

from __future__ import annotations

import socket
import threading

import pytest
import redis
from hypothesis import given
from hypothesis import strategies as st
from redis.connection import Encoder, PythonRespSerializer

from rtastream.resp import BIG_ARG, pack_commands, pack_commands_py
from rtastream.writer.sync import send_all

PACKERS = [pytest.param(pack_commands, id="native"), pytest.param(pack_commands_py, id="python")]


def redis_py_bytes(commands) -> bytes:
    packer = PythonRespSerializer(6000, Encoder("utf-8", "strict", False).encode)
    return b"".join(
        bytes(c) for c in redis.Connection(command_packer=packer).pack_commands(commands)
    )


@pytest.mark.parametrize("pack", PACKERS)
def test_pipeline_bytes_match_redis_py_and_payloads_are_not_copied(pack):
    payload = bytes(range(256)) * 300
    commands = [
        ("XADD", "stream:cär", "MAXLEN", "~", 10, "*", "id", 12, "data", payload),
        ("HSET", "sessions:x", "tStart", -5, "tEnd", 2**62, "json", '{"a":"ü"}'),
        ("EXPIRE", "sessions:x", 86400),
        ("XADD", "stream:x", "*", "id", 1, "data", b"x" * (BIG_ARG - 1)),
        ("SET", "k", b""),
        ("SET", "big", 2**64 + 1, -(2**63), 2**63 - 1, 0),
        ("XADD", "stream:y", "*", "id", 2, "data", b"y" * BIG_ARG),
    ]
    chunks = pack(commands)
    assert b"".join(chunks) == redis_py_bytes(commands)
    assert any(chunk is payload for chunk in chunks)
    assert all(len(chunk) < BIG_ARG * 4 for chunk in chunks if chunk is not payload)
    assert pack([]) == [b""]


args = st.one_of(
    st.binary(max_size=40),
    st.binary(min_size=BIG_ARG - 2, max_size=BIG_ARG + 2),
    st.text(max_size=40),
    st.integers(),
    st.integers(-(2**63), 2**63 - 1),
)


# redis-py splits a command name at spaces ("CONFIG GET"): names here are single words.
commands = st.tuples(st.sampled_from(["XADD", "HSET", "SET"]), st.lists(args, max_size=8))


@given(st.lists(commands.map(lambda c: (c[0], *c[1])), max_size=6))
def test_native_and_python_packers_give_the_same_chunks(commands):
    native, python = pack_commands(commands), pack_commands_py(commands)
    assert native == python
    assert b"".join(native) == redis_py_bytes(commands)


@pytest.mark.parametrize("pack", PACKERS)
@pytest.mark.parametrize("bad", [True, 1.5, None, bytearray(b"x"), memoryview(b"x")])
def test_an_argument_of_another_type_is_refused(pack, bad):
    with pytest.raises(
        TypeError,
        match=rf"^a Redis command argument must be str, int or "
        rf"bytes, got {type(bad).__name__}: ",
    ):
        pack([("SET", "k", "v"), ("SET", "k", bad)])


@pytest.mark.parametrize("pack", PACKERS)
def test_a_str_that_is_not_unicode_text_is_refused(pack):
    with pytest.raises(UnicodeEncodeError, match="surrogates not allowed"):
        pack([("SET", "k", "lone surrogate \ud800")])


def test_send_survives_partial_sends_and_many_chunks():
    """A socket with a timeout is non-blocking underneath: with a small send buffer and a
    slow reader, sendmsg sends part of the chunks and send_all must go on from the middle of
    one. More chunks than one sendmsg takes (IOV_MAX) must go out in order too."""
    writer, reader = socket.socketpair()
    writer.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    writer.settimeout(10)
    chunks = [bytes([i % 251]) * (1 + (i * 7919) % 20000) for i in range(1500)]
    expected = b"".join(chunks)
    received = bytearray()

    def read() -> None:
        while len(received) < len(expected):
            received.extend(reader.recv(3000))

    thread = threading.Thread(target=read)
    thread.start()
    send_all(writer, list(chunks))
    thread.join(10)
    writer.close()
    reader.close()
    assert bytes(received) == expected
