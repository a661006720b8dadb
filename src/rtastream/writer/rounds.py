"""The round bookkeeping: what is in flight, shared by the core and the topologies.

A session's batches are counted by its Tracker, which keeps the first error; a Batch is the
commands of one session submitted together, split into a Part per lane; a Round is the parts
sent in one pipeline, which settles each command from its reply (and, with WAIT, says what
counts as written). A topology makes the rounds of its nodes; the core queues and retires
them. Any node may answer "not now" (NOT_NOW: LOADING, a Redis still loading its dataset
after a restart; a cluster's CLUSTERDOWN or TRYAGAIN), and a cluster's "not here" (MOVED,
ASK): those commands are sent again (Round.leftovers), never failed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from redis.exceptions import BusyLoadingError, ClusterDownError, TryAgainError

from rtastream.errors import RedisCommandError
from rtastream.writer.commands import Command, command_key, unsent_messages
from rtastream.writer.node import Node

NOT_NOW = (BusyLoadingError, ClusterDownError, TryAgainError)
"""Refusals that pass, on any topology: the same node is asked again after a backoff, within
reconnect_timeout (then RedisUnavailable). BusyLoadingError is LOADING."""


@dataclass(eq=False)
class Tracker:
    """One session's batches: how many Redis has not answered yet, and the first error,
    which the session raises on its next call."""

    name: str
    pending: int = 0
    error: BaseException | None = None
    raised: BaseException | None = None  # the error check() last raised to the caller

    def check(self) -> None:
        if self.error is not None:
            self.raised = self.error
            raise self.error

    def take_error(self) -> BaseException | None:
        """Clear the error, so that closing writes the final state whatever went wrong
        before; return it unless the caller has already seen it."""
        error, self.error = self.error, None
        return None if error is self.raised else error


@dataclass(eq=False)
class Batch:
    """Commands of one session, submitted together; done when every lane has answered
    its part. `replies` (by command) are kept only when asked for."""

    owner: Tracker
    commands: list[Command]
    replies: list[Any] | None = None
    parts: int = 0


@dataclass(eq=False)
class Part:
    """The commands of a batch that go to one lane, with their places in the batch."""

    batch: Batch
    commands: list[Command]
    places: Sequence[int]


class Round:
    """Parts sent in one pipeline; replies arrive in order, so the first `acked` commands
    are done and the rest are re-sent after a reconnect.

    A command refused for now (NOT_NOW) is sent again after a backoff, with every command
    after it in the round, whatever their replies (Redis refuses every command while it
    loads: those after it were refused too, or ran once the loading ended, then they run
    again, at least once as after a lost connection; in order, last the latest).

    With `wait` (WAIT N timeout, ending the pipeline: wait_replicas), no command is done
    until a WAIT reply counts N replicas. A short count is asked again, WAIT alone, on the
    same connection: WAIT waits for that connection's own writes, which its master still
    holds, so nothing is written twice. After a reconnect, or on another node, every
    command goes again: the master reached then may lack them, and a WAIT on a new
    connection would vouch for nothing.
    """

    refusal: BaseException | None = None  # why leftovers() holds commands to send again here
    wait: Command | None = None  # set by the core when it waits for replicas
    replicas: Any = None  # the WAIT reply, once in

    def __init__(self, parts: list[Part]) -> None:
        self.parts = parts
        self.commands: list[Command] = []
        self.where: list[tuple[Part, int]] = []
        self.dropped: list[Command] = []  # of sessions that had already failed: not written
        for part in parts:
            if part.batch.owner.error is not None:  # that session already failed: do not write
                _lose(part.batch.owner, part.commands)
                self.dropped += part.commands
                continue
            self.commands += part.commands
            self.where += zip([part] * len(part.places), part.places, strict=True)
        self.acked = 0
        self.refused: set[int] = set()  # commands Redis refused (reported, not sent again)
        self.again_from: int | None = None  # the first command refused for now (NOT_NOW)

    @property
    def answered(self) -> bool:
        return self.acked == len(self.commands) and (self.wait is None or self.replicas is not None)

    def pending(self) -> list[Command]:
        """What to send (again, after a reconnect): what is not acknowledged yet."""
        rest = self.commands[self.acked :]
        return rest if self.wait is None else [*rest, self.wait]

    def restart(self) -> None:
        """The connection was lost: the replies to pending() will start afresh (from the
        first command refused for now, if one was)."""
        if self.again_from is not None:
            self.acked, self.again_from, self.refusal = self.again_from, None, None
        self.unconfirm()

    def unconfirm(self) -> None:
        """With WAIT, nothing answered counts: every command not refused is to be sent again."""
        if self.wait is None:
            return
        kept = [i for i in range(len(self.commands)) if i not in self.refused]
        self.commands = [self.commands[i] for i in kept]
        self.where = [self.where[i] for i in kept]
        self.refused, self.acked, self.replicas = set(), 0, None
        if not self.commands:
            self.wait = None

    def reply(self, value: Any) -> None:
        if self.acked == len(self.commands):  # WAIT's
            self.replicas = value
            if isinstance(value, NOT_NOW):
                self.not_now(0, value)  # nothing counts: every command goes again
            return
        if isinstance(value, NOT_NOW):
            self.not_now(self.acked, value)
        elif self.again_from is None:
            self.settle(self.acked, value)
        self.acked += 1

    def not_now(self, i: int, refusal: BaseException) -> None:
        """Command i (0: every command, for WAIT's) was refused for now: from it on, the
        round is sent again."""
        self.refusal = refusal
        self.again_from = i if self.again_from is None else min(i, self.again_from)

    def settle(self, i: int, value: Any) -> None:
        """Command i's reply: kept if its batch asks for replies; an error is its session's."""
        command, (part, place) = self.commands[i], self.where[i]
        batch = part.batch
        if isinstance(value, Exception):  # an error reply (LOADING, NOAUTH: no ResponseError)
            self.refused.add(i)
            if batch.owner.error is None:
                batch.owner.error = RedisCommandError(command[0], command_key(command), value)
            _lose(batch.owner, [command])
        elif batch.replies is not None:
            batch.replies[place] = value

    def fail(self, error: BaseException) -> None:
        """Every command not acknowledged is lost, reported per session."""
        self.unconfirm()
        self.lose(range(self.acked, len(self.commands)), error)
        self.acked = len(self.commands)
        self.wait = None  # the round is over: no WAIT to count

    def lose(self, indices: Iterable[int], error: BaseException) -> None:
        for i in indices:
            owner = self.where[i][0].batch.owner
            if owner.error is None:
                owner.error = error
            _lose(owner, [self.commands[i]])

    def rest(self) -> list[Part]:
        """What is not acknowledged, as parts to queue elsewhere (the node is gone)."""
        self.unconfirm()
        rest = self.parts_of(range(self.acked, len(self.commands)))
        self.acked = len(self.commands)
        return rest

    def parts_of(self, indices: Iterable[int]) -> list[Part]:
        """Commands of the round as new parts, in order, one per run of the same part."""
        runs: list[tuple[Batch, list[Command], list[int]]] = []
        for i in indices:
            part, place = self.where[i]
            if not runs or runs[-1][0] is not part.batch:
                runs.append((part.batch, [], []))
            runs[-1][1].append(self.commands[i])
            runs[-1][2].append(place)
        return [Part(batch, commands, places) for batch, commands, places in runs]

    def leftovers(self) -> list[tuple[Part, Node | None]]:
        """Commands answered "not here" or "not now", to queue again: on another node's
        lane, or (None) on this one after a backoff (`refusal` says why). A single server
        answers "not now" only (from again_from on; with WAIT, every command not refused
        for good)."""
        if self.again_from is None:
            return []
        first = 0 if self.wait is not None else self.again_from
        again = [i for i in range(first, len(self.commands)) if i not in self.refused]
        return [(part, None) for part in self.parts_of(again)]


def _lose(owner: Tracker, commands: list[Command]) -> None:
    unsent = getattr(owner.error, "unsent", None)
    if unsent is not None:
        unsent += unsent_messages(commands)
