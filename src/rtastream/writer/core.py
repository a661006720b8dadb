"""The writer's core: everything that is neither waiting nor I/O, once for both drivers.

It holds the options, the open sessions (their commands, live data and flush deadlines), and
per connection a Lane: the batches waiting for it, the round in flight, the reply parser and
the reconnect budget. It decides what a round holds, what an acknowledgement means, when to
reconnect, what to re-send and when to give up, and which session each error belongs to.
Bytes come in through Lane.received() and go out through Lane.outgoing(); a driver moves them
over a socket and waits (a thread, or the event loop), nothing else.
The bookkeeping of what is in flight (Tracker, Batch, Part, Round) is rounds.py.

Not thread-safe: the sync driver holds its condition around every call that changes what is
queued or in flight, and the sync session (as the timer) its lock around the session's calls.
A session calls its core itself and hands the driver only what is to be sent (commands).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

import hiredis
import redis.exceptions

from rtastream._native import Burst
from rtastream.errors import RedisCommandError, RedisUnavailable
from rtastream.resp import pack_commands
from rtastream.session import Session, SessionState
from rtastream.sigterm import Terminated
from rtastream.writer.binding import Binding, Checked, ConfigArgument, checked
from rtastream.writer.commands import (
    Command,
    Message,
    SessionCommands,
    allocation_commands,
    parse_allocation,
    unsent_messages,
)
from rtastream.writer.internals import error_parser
from rtastream.writer.live import LiveBurst
from rtastream.writer.options import Options
from rtastream.writer.recovery import recover
from rtastream.writer.rounds import Batch, Part, Round, Tracker

if TYPE_CHECKING:
    from rtastream.writer.node import Node
    from rtastream.writer.topology import Discovery, Topology

MAX_ROUND = 256
"""Most batches sent in one pipeline before reading their replies."""


def end_state(exc_type: type[BaseException] | None) -> SessionState:
    """The state a session ends in when its `with` block exits with this exception."""
    if exc_type is None:
        return SessionState.CLOSED
    # CancelledError is a BaseException; compare by name to keep asyncio out of the sync path.
    if (
        issubclass(exc_type, (KeyboardInterrupt, Terminated))
        or exc_type.__name__ == "CancelledError"
    ):
        return SessionState.TRUNCATED
    return SessionState.FAILED


def note_close_failure(exc: BaseException, error: Exception) -> None:
    """A close failing while an exception leaves a `with` block is added to it as a note
    rather than hiding it."""
    if hasattr(exc, "add_note"):
        exc.add_note(f"rtastream could not end the session: {error!r}")


# ---- Connections ----


class Backoff:
    """Delays between reconnect attempts: doubling from `first` up to `cap`, until `budget`
    seconds have passed since `since` (monotonic: when Redis last answered); then None."""

    def __init__(self, budget: float, since: float, first: float = 0.02, cap: float = 1.0) -> None:
        self.budget = budget
        self.deadline = since + budget
        self.delay = first
        self.cap = cap

    def next(self) -> float | None:
        left = self.deadline - time.monotonic()
        if left <= 0:
            return None
        delay, self.delay = min(self.delay, left), min(self.delay * 2, self.cap)
        return delay


def reply_reader() -> hiredis.Reader:
    """A RESP parser whose error replies are redis-py's exception classes (ReadOnlyError,
    OutOfMemoryError, ...), returned as values, not raised."""
    return hiredis.Reader(replyError=error_parser())


class Lane:
    """One connection, to one Redis node: the parts waiting for it, the round in flight,
    its reply parser and its reconnect budget. Batches of one lane keep their order."""

    def __init__(self, node: Node) -> None:
        self.node = node
        self.waiting: deque[Part] = deque()
        self.round: Round | None = None
        self.reader = reply_reader()
        self.backoff: Backoff | None = None
        self.retired = False  # its node holds no keys any more: its driver lets it go
        self.heard = time.monotonic()  # when Redis last answered, or a round began waiting
        self.lost = False  # its connection was lost: check for lost data before sending again

    def outgoing(self) -> list[bytes]:
        """The round's commands not yet acknowledged, as RESP chunks for one send."""
        assert self.round is not None
        return pack_commands(self.round.pending())

    def received(
        self, data: bytes | bytearray | memoryview, start: int = 0, length: int | None = None
    ) -> bool:
        """Replies read from the connection; True once the round is answered."""
        assert self.round is not None
        self.heard = time.monotonic()
        # hiredis takes any buffer (its stub says bytes).
        if length is None:
            self.reader.feed(data, start)  # type: ignore[arg-type]
        else:
            self.reader.feed(data, start, length)  # type: ignore[arg-type]
        rnd = self.round
        while not rnd.answered:
            reply = self.reader.gets()
            if reply is False:
                return False
            if isinstance(reply, redis.exceptions.ReadOnlyError) and self.node.moves:
                raise NodeMoved(f"{self.node.address}: no master any more ({reply})")
            rnd.reply(reply)
        return True


TIMEOUTS = (TimeoutError, redis.exceptions.TimeoutError)
"""A connection that stopped answering (socket.timeout is TimeoutError)."""


class NodeMoved(redis.exceptions.ConnectionError):
    """The master a lane writes to was demoted (it answered READONLY): handled as a lost
    connection, after which the topology is asked where the master is now."""


# ---- Sessions ----


class SessionCore:
    """One open session: its commands, live data, batches in flight and flush deadline.

    `guard` is the driver's lock around the session's calls (the sync driver's thread lock;
    nothing under asyncio, whose calls do not interleave between their awaits).
    """

    def __init__(
        self,
        commands: SessionCommands,
        owner: Tracker,
        guard: AbstractContextManager[Any],
        flush_interval: float,
    ) -> None:
        self.commands = commands
        self.owner = owner
        self.guard = guard
        self.flush_interval = flush_interval
        self.live = LiveBurst(commands.target)
        self.bound: list[Binding] = []  # the configurations given to the writer
        self.data: LiveBurst | Checked = self.live  # where data calls go (binding.checked)
        self.due: float | None = None  # when the live data must be flushed (monotonic)
        self.closed = False
        self.unseen: BaseException | None = None  # an error to raise once ended

    def check(self) -> None:
        """Raise what the next call must raise: the session is closed, or Redis failed."""
        if self.closed:
            ended, now = self.commands.final, self.commands.session
            assert ended is not None, "closing() makes the final model"
            refused = "" if now is ended else f" (Redis has it {now.state.json_name}: refused)"
            raise RuntimeError(f"session {now.identity!r} is {ended.state.json_name}{refused}")
        self.owner.check()

    def pack(self, burst: Burst) -> list[Message]:
        return self.commands.pack(burst)

    def calls(self) -> LiveBurst | Checked:
        """Where the next data call goes (the live burst, behind its configuration's checks
        if one is bound), once the session may take it (check()). The caller holds the
        session's guard from here until added() has said what the call leaves to send."""
        self.check()
        return self.data

    def added(self) -> tuple[list[Command], bool]:
        """After a data call: the commands to send if the burst is full, and True if it
        is the first data left waiting since the last flush (the timer must learn the new
        deadline)."""
        if self.live.full:  # sent at once: no deadline, nothing for the timer to learn
            return self.flush_live(), False
        first = self.due is None
        if first:
            self.due = time.monotonic() + self.flush_interval
        return [], first

    def flush_live(self) -> list[Command]:
        """The live data so far as one burst's commands (none if there is nothing)."""
        self.due = None
        burst = self.live.take(self.commands)
        if burst is None:
            return []
        try:
            return self.commands.data(self.commands.pack(burst))
        finally:
            self.live.give_back(burst)

    def next_tick(self) -> float | None:
        """When the timer must act for this session (monotonic): its live data due, or its
        heartbeat; None once it is ending or has failed (its next call raises)."""
        if self.closed or self.owner.error is not None:
            return None
        beat = self.commands.heartbeat_due()
        return beat if self.due is None else min(self.due, beat)

    def tick(self) -> list[Command]:
        """What the timer sends: the live data if due, else the heartbeat if due."""
        if self.closed:
            return []
        now = time.monotonic()
        if self.due is not None and self.due <= now:
            return self.flush_live()
        if self.commands.heartbeat_due() <= now:
            return self.commands.heartbeat()
        return []

    def write(self, messages: list[Message | bytes]) -> list[Command]:
        self.check()
        data = self.commands.data(messages)  # checked before the live data is taken
        return self.flush_live() + data

    def update(self, changes: dict[str, Any], bound: Binding | None = None) -> list[Command]:
        """A Session JSON update; with `bound`, the configuration is published first and
        its binding added."""
        self.check()
        if bound is not None:
            given = changes.get("config_bindings", self.commands.session.config_bindings)
            with_given = self.commands.session.replace(config_bindings=given)
            changes = {**changes, "config_bindings": bound.into(with_given).config_bindings}
        update = self.commands.update(changes)
        if bound is not None or "config_bindings" in changes:
            self.bind(bound)
        data = self.flush_live()
        return data + update if bound is None else [bound.publish(), *data, *update]

    def bind(self, bound: Binding | None) -> None:
        """Check data calls against the session's configurations (its bindings as they
        are now) from here on."""
        if bound is not None:
            self.bound.append(bound)
        self.data = checked(self.live, self.commands.session, self.bound)

    def flush(self) -> list[Command]:
        self.check()
        return self.flush_live()

    def closing(self, state: SessionState | str) -> list[Command] | None:
        """The last commands: live data, then the final Session JSON; None if already
        closed. The session's error is cleared: the final state is written whatever went
        wrong before (closed() raises it afterwards if the caller has not seen it)."""
        state = SessionState.parse(state)
        if not state.is_closed:
            raise ValueError(
                f"close needs a closed state (closed, truncated, failed, "
                f"abandoned), got {state.json_name}"
            )
        if self.closed:
            return None
        self.closed = True
        self.unseen = self.owner.take_error()
        return self.flush_live() + self.commands.finish(state)


class WriterCore:
    """The state of one buffer: its options, open sessions and lanes (one per node, made
    when a node is first written to)."""

    def __init__(self, options: Options, topology: Topology) -> None:
        self.options = options
        self.topology = topology
        self.sessions: dict[str, SessionCore] = {}
        self.lanes: dict[Node, Lane] = {}
        self.on_lane: Callable[[Lane], None] | None = None  # the driver's, for lanes made later
        self.queued = 0  # parts waiting in lanes, bounded by options.queue_size
        self.closed = False

    def lane(self, node: Node) -> Lane:
        lane = self.lanes.get(node)
        if lane is None:
            lane = self.lanes[node] = Lane(node)
            if self.on_lane is not None:
                self.on_lane(lane)
        return lane

    # -- submitting --

    @property
    def has_room(self) -> bool:
        return self.queued < self.options.queue_size

    def submit(self, batch: Batch) -> None:
        """Queue a batch on the lanes of its keys' nodes (counted once queued, so an
        interrupted wait for room leaves nothing to wait for)."""
        batch.owner.check()
        if self.closed:
            raise RuntimeError("the RedisStreamBuffer is closed")
        routes = self.topology.route(batch.commands)
        for node, commands, places in routes:
            self.lane(node).waiting.append(Part(batch, commands, places))
        batch.parts = len(routes)
        batch.owner.pending += 1
        self.queued += len(routes)

    def take_round(self, lane: Lane) -> Round | None:
        """The lane's round in flight, or a new one from its waiting parts (None if idle)."""
        if lane.round is None and lane.waiting:
            parts = [lane.waiting.popleft() for _ in range(min(MAX_ROUND, len(lane.waiting)))]
            self.queued -= len(parts)
            lane.round = self._round(parts, lane.node)
            lane.heard = time.monotonic()  # its wait for Redis begins
        return lane.round

    def _round(self, parts: list[Part], node: Node) -> Round:
        rnd = self.topology.round(parts, node)
        if rnd.commands:
            rnd.wait = self.options.wait_command()
        return rnd

    def round_done(self, lane: Lane) -> float | None:
        """The round is answered (or failed): its batches count as done, and what was
        redirected is queued on its node's lane, behind what is there. What was refused
        for now is the lane's next round: seconds to wait before sending it (and asking
        where keys live, WriterCore.discovery); None when the lane is free. A round whose
        WAIT counted too few replicas stays the lane's, to ask it again after the delay
        returned (once the topology has been asked: the master may have moved)."""
        rnd = lane.round
        assert rnd is not None
        counted = rnd.refusal is None  # else refused for now: sent again below, WAIT and all
        if counted and isinstance(rnd.replicas, Exception):  # WAIT refused (an ACL, ...)
            rnd.fail(RedisCommandError("WAIT", "", rnd.replicas))
        elif counted and rnd.wait is not None and rnd.replicas < self.options.wait_replicas:
            got, wanted, rnd.replicas = rnd.replicas, self.options.wait_replicas, None
            return self._retry(
                lane,
                lambda budget: (
                    f"{got} of the {wanted} replicas wanted acknowledged the "
                    f"writes within {budget} s (WAIT)"
                ),
            )
        again: list[Part] = []
        redirected = False
        for part, node in rnd.leftovers():
            part.batch.parts += 1
            if node is None:
                again.append(part)
            else:
                self.lane(node).waiting.append(part)
                self.queued += 1
                redirected = True
        self._finish(rnd)
        lane.round = None
        if redirected:  # the lane's waiting commands of keys that moved follow them
            self._requeue(lane)
        if not again:
            lane.backoff = None
            return None
        lane.round = self._round(again, lane.node)
        refusal = rnd.refusal
        return self._retry(
            lane,
            lambda budget: f"still refused after {budget} s ({type(refusal).__name__}: {refusal})",
        )

    def _finish(self, rnd: Round) -> None:
        for part in rnd.parts:
            part.batch.parts -= 1
            if part.batch.parts == 0:
                part.batch.owner.pending -= 1

    def connection_lost(self, lane: Lane, error: BaseException) -> float | None:
        """Seconds to wait before reconnecting to re-send the round's unacknowledged
        commands (asking where keys live first), or None: Redis stayed away past the
        budget, the round is failed. The budget counts from Redis's last answer, so a
        server that keeps the connection but stops answering (stopped, frozen: the
        socket timeout ends the wait) fails the round once nothing has come for that long."""
        self.disconnected(lane)
        if lane.round is None:
            return None
        if isinstance(error, TIMEOUTS):
            return self._retry(
                lane,
                lambda budget: f"no reply within {budget} s (is the server stopped or overloaded?)",
            )
        return self._retry(
            lane, lambda budget: f"connection lost and not restored within {budget} s ({error})"
        )

    def disconnected(self, lane: Lane) -> None:
        """The lane's connection is gone: what was sent on it is answered afresh on the next."""
        lane.reader = reply_reader()  # a reply cut short must not prefix the next one
        lane.lost = True
        if lane.round is not None:
            lane.round.restart()

    def _retry(self, lane: Lane, reason: Callable[[float], str]) -> float | None:
        """The next delay of the lane's backoff; past the budget, the round fails with
        RedisUnavailable (for `reason`, given the budget)."""
        assert lane.round is not None
        budget = self.options.reconnect_timeout
        lane.backoff = lane.backoff or Backoff(budget, lane.heard)
        delay = lane.backoff.next()
        if delay is None:
            lane.round.fail(RedisUnavailable(lane.node.address, reason(budget)))
            self.round_done(lane)
        return delay

    def discovery(self, lane: Lane | None = None) -> Discovery[None]:
        """Ask the servers where keys live (the driver runs the flow): before the first
        session, with a lane for each node; then before a lane in trouble tries again. A
        lane whose node holds no keys any more hands its commands over and is retired."""
        self.topology = yield from self.topology.discover(lane.node if lane else None)
        if self.options.wait_replicas and not self.topology.waits_for_replicas:
            raise ValueError(
                "wait_replicas is for a single Redis or a Sentinel's master, not a Redis "
                "Cluster (whose rounds are settled key by key as they are answered)"
            )
        nodes = self.topology.nodes()
        if lane is None:
            for node in nodes:
                self.lane(node)
        elif lane.node not in nodes:
            self._retire(lane)
        elif lane.lost:  # did Redis come back without its data?
            written = [(s.commands, self._acknowledged(s)) for s in self.sessions.values()]
            yield from recover(written, lane.node, self.topology)
            lane.lost = False

    def _acknowledged(self, session: SessionCore) -> int:
        """The session's stream messages Redis has acknowledged: all it made but those
        waiting or in flight on a lane."""
        owner, unacknowledged = session.owner, 0
        for lane in self.lanes.values():
            if lane.round is not None:
                rnd = lane.round
                rest = range(rnd.acked, len(rnd.commands))
                mine = [rnd.commands[i] for i in rest if rnd.where[i][0].batch.owner is owner]
                unacknowledged += len(unsent_messages(mine))
            for part in lane.waiting:
                if part.batch.owner is owner:
                    unacknowledged += len(unsent_messages(part.commands))
        return session.commands.messages - unacknowledged

    def _retire(self, lane: Lane) -> None:
        """What the lane holds (its round's unacknowledged commands first) goes to the lanes
        of the nodes that hold those keys now; its driver lets it go."""
        del self.lanes[lane.node]
        lane.retired = True
        if lane.round is not None:
            rest = lane.round.rest()
            for part in rest:
                part.batch.parts += 1
            self._finish(lane.round)
            lane.round = None
            lane.waiting.extendleft(reversed(rest))
            self.queued += len(rest)
        self._requeue(lane)

    def _requeue(self, lane: Lane) -> None:
        """Route the lane's waiting parts again (keys whose node changed go to its lane)."""
        waiting, lane.waiting = lane.waiting, deque()
        self.queued -= len(waiting)
        for part in waiting:
            routes = self.topology.route(part.commands, again=True)
            for node, commands, indices in routes:
                places = [part.places[i] for i in indices]
                self.lane(node).waiting.append(Part(part.batch, commands, places))
            part.batch.parts += len(routes) - 1
            self.queued += len(routes)

    def abort(self, lane: Lane, error: BaseException) -> None:
        """A bug in a driver: the round's sessions get the error rather than hang."""
        if lane.round is not None:
            lane.round.fail(error)
            self.round_done(lane)

    # -- sessions --

    def opening(
        self,
        identity: str,
        stream: str,
        session: Session | Mapping[str, Any] | str | None,
        guard: AbstractContextManager[Any],
        config: ConfigArgument | None = None,
        channel_offset: int = 0,
    ) -> Opening:
        """The steps of opening; a configuration (`config`) is checked here, before
        anything is written."""
        if self.closed:
            raise RuntimeError("the RedisStreamBuffer is closed")
        model = _session_model(identity, session)
        bound = None if config is None else Binding(config, channel_offset)
        if bound is not None:
            model = bound.into(model)
        if not isinstance(stream, str) or not stream:
            raise ValueError(f"stream must be a non-empty str, got {stream!r}")
        if identity in self.sessions:
            raise ValueError(f"session {identity!r} is already open in this buffer")
        return Opening(self, model, stream, guard, bound)

    def ended(self, session: SessionCore) -> None:
        """The session's final state is acknowledged (or failed): raise what it must."""
        self.sessions.pop(session.commands.session.identity, None)
        session.owner.check()
        session.commands.ended()
        if session.unseen is not None:
            raise session.unseen

    def next_due(self) -> float | None:
        ticks = (s.next_tick() for s in self.sessions.values())
        return min((t for t in ticks if t is not None), default=None)

    def due_sessions(self) -> list[SessionCore]:
        now = time.monotonic()
        return [s for s in self.sessions.values() if (t := s.next_tick()) is not None and t <= now]


class Opening:
    """The steps of opening a session, as batches to submit one after the other, each
    once the previous one is answered: its configuration (if given), the allocation (stream
    session id, position), the first message, the session hash. The session is registered
    once all are answered."""

    def __init__(
        self,
        core: WriterCore,
        model: Session,
        stream: str,
        guard: AbstractContextManager[Any],
        bound: Binding | None = None,
    ) -> None:
        self.core, self.model, self.stream, self.guard = core, model, stream, guard
        self.bound = bound
        self.owner = Tracker(model.identity)
        self.session: SessionCore | None = None

    def __iter__(self) -> Iterator[Batch]:
        identity, options = self.model.identity, self.core.options
        if self.bound is not None:  # before the session that names it
            yield Batch(self.owner, [self.bound.publish()])
        allocation = Batch(self.owner, allocation_commands(self.stream, identity), [None] * 4)
        yield allocation
        session_id, position = parse_allocation(allocation.replies or [], identity)
        commands = SessionCommands(
            self.model,
            self.stream,
            session_id,
            position,
            ttl=options.session_ttl,
            maxlen=options.maxlen,
            target=options.target,
        )
        for step in commands.opening():
            yield Batch(self.owner, step)
        self.session = SessionCore(commands, self.owner, self.guard, options.flush_interval)
        if self.bound is not None:
            self.session.bind(self.bound)
        self.core.sessions[identity] = self.session


def _session_model(identity: str, session: Session | Mapping[str, Any] | str | None) -> Session:
    if session is None:
        return Session(identity=identity)
    model = Session.coerce(session)
    if model.identity != identity:
        raise ValueError(f"session identity {model.identity!r} differs from identity {identity!r}")
    return model
