"""A Redis that came back without its data (restarted with no persistence, say): found
after a reconnect, before anything is sent again. Each open session whose hash is gone gets
it written again whole (its original stream session id, stream and position, its current
Session JSON and time range), its stream listed in `streams` and a Session JSON message in
it again, lastStreamSessionId is moved past the session's id (so a later session never
reuses it), and a warning says what was lost. No I/O: a flow of commands the
driver runs, as discovery's (WriterCore.discovery).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING

from rtastream.connection import CONNECTION_ERRORS
from rtastream.writer.commands import command_key
from rtastream.writer.node import Node

if TYPE_CHECKING:
    from rtastream.writer.commands import Command, SessionCommands
    from rtastream.writer.topology import Discovery, Topology

log = logging.getLogger("rtastream.writer")


def recover(
    sessions: Iterable[tuple[SessionCommands, int]], node: Node, topology: Topology
) -> Discovery[None]:
    """Restore the hashes, on `node`, of these sessions (each with the number of its
    stream messages Redis had acknowledged) if Redis lost them. A connection error is
    raised (the driver tries again later, this check first); another error leaves the
    session to its round's own replies (a key that moved, for one)."""
    for session, acknowledged in sessions:
        restore = session.restore()
        if _node_of(topology, restore) is not node:
            continue
        counter = session.counter_past()  # first: idempotent, and a restored hash says no more
        was = yield _node_of(topology, counter), counter
        restored = yield node, restore
        for reply in (was, restored):
            if isinstance(reply, CONNECTION_ERRORS):
                raise reply
        if restored != 1:
            continue
        log.warning(_lost(session, acknowledged, node, was))
        for command in session.relisted():
            reply = yield _node_of(topology, command), command
            if isinstance(reply, CONNECTION_ERRORS):
                raise reply


def _node_of(topology: Topology, command: Command) -> Node:
    return topology.node_of(command_key(command))


def _lost(session: SessionCommands, acknowledged: int, node: Node, counter: object) -> str:
    span = session.time_range()
    within = f" (the session's time range so far: {span[0]} to {span[1]} ns)" if span else ""
    return (
        f"Redis at {node.address} came back without the hash of session "
        f"{session.session.identity!r} (restarted without persistence?): the {acknowledged} "
        f"stream messages of the session it had acknowledged are lost{within}, and "
        f"lastStreamSessionId was {counter}. The hash is written again (stream session id "
        f"{session.stream_session_id} on stream {session.stream!r}), lastStreamSessionId "
        f"moved past it, and the session goes on."
    )
