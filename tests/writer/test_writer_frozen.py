"""A Redis that stops answering but keeps its connections (SIGSTOP: the kernel still holds
TCP up) is bounded by reconnect_timeout, as a dead one is: RedisUnavailable with `unsent`,
from both writers. Each test freezes a private redis-server of its own."""

from __future__ import annotations

import json
import signal
import threading

import pytest
import redis

from replication import WRITERS, session_of
from rtastream import RedisUnavailable
from stream_oracle import burst_at, burst_numbers

FREEZE = 8.0  # seconds the server stays stopped: far past the budget the tests give


@pytest.fixture
def frozen_later(private_redis):
    """(server, freeze): freeze() stops the server with SIGSTOP and starts a timer that
    resumes it after FREEZE seconds (so a writer that waits for it does not hang the test,
    it returns late instead of raising); the server is resumed at the end in any case."""
    server = private_redis()
    timers: list[threading.Timer] = []

    def resume() -> None:
        assert server.process is not None
        server.process.send_signal(signal.SIGCONT)

    def freeze() -> None:
        assert server.process is not None
        server.process.send_signal(signal.SIGSTOP)
        timers.append(threading.Timer(FREEZE, resume))
        timers[-1].start()

    yield server, freeze
    for timer in timers:
        timer.cancel()
    resume()


@pytest.mark.parametrize("writer", WRITERS)
def test_a_frozen_redis_fails_the_flush_after_the_budget_with_unsent(frozen_later, writer):
    server, freeze = frozen_later
    messages = [m for m, _ in burst_at(1).pack_with_time_ranges()]
    with session_of(writer, server.url, "frozen", reconnect_timeout=1) as session:
        session.write(burst_at(0))
        session.flush()
        freeze()
        session.write(burst_at(1))
        with pytest.raises(RedisUnavailable) as info:
            session.flush()
        assert str(info.value) == (
            f"cannot reach Redis at 127.0.0.1:{server.port}: no reply within 1 s "
            f"(is the server stopped or overloaded?); {len(messages)} stream messages were "
            "not written"
        )
        assert info.value.unsent == messages
        with pytest.raises(RedisUnavailable):  # raised again by the next call
            session.write(burst_at(2))
        server.process.send_signal(signal.SIGCONT)
        session.close("failed")  # the server answers again: the final state is written
    with redis.Redis.from_url(server.url) as r:
        assert json.loads(r.hget("sessions:frozen", "json"))["state"] == "failed"
        # Burst 1 was sent before the freeze: the server may run it once resumed (unsent
        # lists what was not acknowledged; delivery is at-least-once).
        assert burst_numbers(r, "car-1", session.stream_session_id) in ([0], [0, 1])


@pytest.mark.parametrize("writer", WRITERS)
def test_reconnecting_to_a_frozen_redis_is_bounded_too(frozen_later, writer):
    """After the failed flush, close() reconnects to the stopped server: TCP connects (the
    kernel answers), the handshake gets no reply; the socket timeout ends the attempt, the
    budget ends the close."""
    server, freeze = frozen_later
    with session_of(writer, server.url, "frozen-close", reconnect_timeout=1) as session:
        freeze()
        session.write(burst_at(0))
        with pytest.raises(RedisUnavailable, match="no reply within 1 s"):
            session.flush()
        with pytest.raises(RedisUnavailable, match="not restored within 1 s .*Timeout"):
            session.close("failed")
