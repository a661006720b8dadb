"""The recorder's loop: leases, reads, gap checks, commits and compactions."""

from __future__ import annotations

import dataclasses
import logging
import os
import socket
import time
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import redis
from redis.cluster import RedisCluster

from rtastream import keys
from rtastream.connection import client_for
from rtastream.reader.entries import text
from rtastream.reader.trimming import COUNTS, removed
from rtastream.recorder.abandon import abandoned
from rtastream.recorder.follow import Followed, session_record
from rtastream.recorder.lease import Lease
from rtastream.store import Store

log = logging.getLogger("rtastream.recorder")


SEGMENT_BYTES = 32 << 20
"""Message bytes read after which a stream's segment is committed without waiting for the
commit interval: a recorder catching up writes segments of bounded size."""

GapHandler = Callable[[dict[str, Any]], None]

CONNECTION_ERRORS = (redis.ConnectionError, redis.TimeoutError, OSError)


class Recorder:
    """Follows RTA streams in Redis and keeps every session in a store (rtastream.store).

        recorder = rtastream.Recorder("redis://localhost:6379/0", "/data/rta")
        recorder.run()          # until recorder.stop() (from a signal handler, a thread)

    Every stream listed in `streams` is followed (new ones within `refresh` seconds), or
    only those named in `streams_only`. A stream is recorded by the recorder that holds its
    lease (see rtastream.recorder.lease): with several recorders, each stream by one.
    What was read is committed to the store every `flush_interval` seconds, together with
    the stream position it reaches; an ended session (final Session JSON) is then compacted
    into its own files. Entries Redis trimmed before they were read are reported: logged,
    kept as a gap report in the store, and passed to `on_gap`. A session whose writer is
    gone (no heartbeat, no entry for `abandon_after` seconds) is compacted as `abandoned`.

    Each read asks for at most `batch` entries: Redis builds a reply whole in its memory
    before sending it, and a reply of a few MiB (50 messages of up to 64 KiB) costs it and
    the recorder far less per byte than one of tens of MiB (500: about twice the CPU here).

    `redis` is a URL (a Redis Cluster's node, a Sentinel URL) or a redis-py client
    (decode_responses=False); `store` a Store or its URL.
    """

    def __init__(
        self,
        redis: str | redis.Redis | RedisCluster,
        store: str | Store,
        *,
        streams_only: Iterable[str] | None = None,
        flush_interval: float = 1.0,
        lease_ttl: float = 10.0,
        refresh: float = 1.0,
        batch: int = 50,
        block: float = 0.1,
        name: str | None = None,
        on_gap: GapHandler | None = None,
        abandon_after: float = keys.ABANDON_AFTER,
    ) -> None:
        if not 0 < flush_interval < lease_ttl:
            raise ValueError(
                f"flush_interval ({flush_interval!r} s) must be positive and below lease_ttl "
                f"({lease_ttl!r} s): a commit must come before the lease runs out"
            )
        if not abandon_after > 0:
            raise ValueError(f"abandon_after must be positive, got {abandon_after!r} s")
        self.abandon_after = abandon_after
        self.client = client_for(redis) if isinstance(redis, str) else redis
        self._owned = isinstance(redis, str)  # a client made from a URL is closed at the end
        self.store = store if isinstance(store, Store) else Store(store)
        self.only = set(streams_only) if streams_only is not None else None
        self.flush_interval = flush_interval
        self.lease_ttl = lease_ttl
        self.refresh = refresh
        self.batch = batch
        self.block_ms = max(1, round(block * 1000))
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.on_gap = on_gap
        self.clustered = isinstance(self.client, RedisCluster)
        self.followed: dict[str, Followed] = {}
        self.leases: dict[str, Lease] = {}
        self.gaps: list[dict[str, Any]] = []
        self._stopping = False
        self._draining = False
        self._listed = 0.0
        self._committed = time.monotonic()
        self._reading = ThreadPoolExecutor(1, thread_name_prefix="rtastream-recorder-read")
        self._ahead: dict[str, tuple[str, Future[tuple[tuple[int, int], list[Any]]]]] = {}

    # --- the loop --------------------------------------------------------------------

    def run(self) -> None:
        """Record until stop(); then commit what was read and give the leases back."""
        backoff = 0.1
        while not self._stopping:
            try:
                self.step()
                backoff = 0.1
            except CONNECTION_ERRORS as exc:  # Redis restarting, failing over: wait, retry
                log.warning("Redis unavailable (%s); retrying in %.1f s", exc, backoff)
                time.sleep(backoff)
                backoff = min(2.0, backoff * 2)
        if self._draining:
            self._catch_up()
        self.close()

    def stop(self, drain: bool = False) -> None:
        """Make run() return after the step in progress (safe from a signal handler).
        With `drain`, run() first reads and commits everything its streams hold (new
        streams included): what a writer that has just finished wrote is all kept."""
        self._draining = self._draining or drain
        self._stopping = True

    def _catch_up(self) -> None:
        try:
            self._take_streams()
            while self.read():
                if any(f.pending_bytes >= SEGMENT_BYTES for f in self.followed.values()):
                    self.commit()
        except CONNECTION_ERRORS as exc:
            log.warning("could not read to the end of the streams: %s", exc)

    def step(self) -> None:
        """One round: list streams and take leases (every `refresh` s), read what is new,
        commit if it is time."""
        now = time.monotonic()
        if now - self._listed >= self.refresh:
            self._take_streams()
            for followed in self.followed.values():
                followed.abandoned = abandoned(self.client, followed, self.abandon_after)
            self._listed = now
        if not self.read() and not self._stopping:
            self._wait()
        full = any(f.pending_bytes >= SEGMENT_BYTES for f in self.followed.values())
        if full or time.monotonic() - self._committed >= self.flush_interval:
            self.commit()

    def close(self) -> None:
        """Commit what was read, give the leases back, close the client if made here."""
        try:
            self.commit()
            for lease in self.leases.values():
                lease.release()
        except CONNECTION_ERRORS as exc:
            log.warning("could not commit or give the leases back at the end: %s", exc)
        finally:
            self._reading.shutdown(cancel_futures=True)
            self._ahead = {}
            if self._owned:
                self.client.close()

    # --- streams and leases ----------------------------------------------------------

    def _take_streams(self) -> None:
        names = sorted(text(name) for name in self.client.smembers(keys.STREAMS))
        for stream in names:
            if self.only is not None and stream not in self.only:
                continue
            lease = self.leases.setdefault(
                stream, Lease(self.client, stream, self.name, self.lease_ttl)
            )
            held = lease.take()
            if held and stream not in self.followed:
                self.followed[stream] = Followed.load(self.store, stream)
                log.info("recording stream %s from %s", stream, self.followed[stream].position)
            elif not held and stream in self.followed:
                self._drop(stream)

    def _drop(self, stream: str) -> None:
        """Another recorder holds the stream now: what was read and not committed is left
        to it (it reads on from the store's position)."""
        log.warning("lost the lease of stream %s to another recorder", stream)
        del self.followed[stream]
        self._ahead.pop(stream, None)

    # --- reading ---------------------------------------------------------------------

    def read(self) -> bool:
        """Read what is new on every followed stream; whether anything was."""
        streams = list(self.followed.values())
        if not streams:
            return False
        found = False
        for followed in streams:
            (added, length), entries = self._reply(followed)
            if added >= 0:
                self._check_gap(followed, added, length, entries)
            for entry_id, fields in entries:
                if not isinstance(fields, dict):  # a cluster pipeline leaves them a flat list
                    fields = dict(zip(fields[::2], fields[1::2], strict=True))
                followed.take(text(entry_id), fields)
            followed.before += len(entries)
            found = found or bool(entries)
        return found

    def _reply(self, followed: Followed) -> tuple[tuple[int, int], list[Any]]:
        """The stream's counts and its entries after the position: those asked for while
        the last were being taken when that was from this position, else asked now. After
        a full batch, the next is asked for at once, on the reading thread, so that Redis
        sends it while these are taken and committed."""
        ahead = self._ahead.pop(followed.stream, None)
        if ahead is not None and ahead[0] == followed.position:
            reply = ahead[1].result()  # an error of Redis's is raised here, as in read()
        else:
            reply = self._fetch(followed.stream, followed.position)
        entries = reply[1]
        if len(entries) == self.batch and not self._stopping:
            after = text(entries[-1][0])
            asked = self._reading.submit(self._fetch, followed.stream, after)
            self._ahead[followed.stream] = (after, asked)
        return reply

    def _fetch(self, stream: str, position: str) -> tuple[tuple[int, int], list[Any]]:
        """One MULTI a stream (on a cluster, streams live apart): counts, then entries."""
        key = keys.stream_key(stream)
        pipe = self.client.pipeline(transaction=True)
        pipe.execute_command("EVAL", COUNTS, 1, key)  # ClusterPipeline has no eval()
        pipe.xrange(key, "(" + position, "+", count=self.batch)
        counts, entries = pipe.execute()
        return (int(counts[0]), int(counts[1])), entries

    def _wait(self) -> None:
        """Wait for a new entry (XREAD BLOCK; a short sleep on a cluster, whose streams
        cannot be waited on together)."""
        streams = list(self.followed.values())
        if not streams or self.clustered:
            time.sleep(self.block_ms / 1000)
            return
        stream_keys = [keys.stream_key(f.stream) for f in streams]
        positions = [f.position for f in streams]
        self.client.xread(dict(zip(stream_keys, positions, strict=True)), 1, self.block_ms)

    def _check_gap(self, followed: Followed, added: int, length: int, entries: list[Any]) -> None:
        """Report entries trimmed after the position before they were read.

        Trimming removes the oldest entries, so entries after the position were lost when
        more entries were ever removed (given, `added`, minus held, `length`) than the
        stream was given up to the position (`followed.before`). What went before a stream's first
        recording is not a gap; a stream created anew (Redis restarted empty) starts the
        count again."""
        gone = removed(added, length)
        if added < followed.before:  # the stream was created anew (Redis restarted empty)
            followed.before = gone
        if gone <= followed.before:
            return
        if followed.position == keys.NO_STREAM_POSITION:
            followed.before = gone
            return
        sessions = followed.open_sessions()
        gap = {
            "stream": followed.stream,
            "after": followed.position,
            "before": text(entries[0][0]) if entries else None,  # first entry after it
            "entries": gone - followed.before,
            "sessions": sessions,
            "detected_ms": int(time.time() * 1000),
        }
        log.warning(
            "stream %s: %d entries after %s were trimmed before they were recorded "
            "(sessions open then: %s)",
            followed.stream,
            gap["entries"],
            followed.position,
            ", ".join(sessions) or "none known",
        )
        followed.before = gone
        self.store.report(gap)
        self.gaps.append(gap)
        if self.on_gap is not None:
            self.on_gap(gap)

    # --- committing ------------------------------------------------------------------

    def commit(self) -> None:
        """Write each stream's entries read since the last commit, with its position; then
        its sessions' records and configurations, and compact the sessions that ended."""
        self._committed = time.monotonic()
        for stream, followed in list(self.followed.items()):
            if followed.behind or followed.ended or followed.abandoned:
                if not self.leases[stream].take():
                    self._drop(stream)
                    continue
                self._commit(followed)

    def _commit(self, followed: Followed) -> None:
        rows = [
            dataclasses.replace(row, identity=followed.names.get(row.stream_session_id))
            for row in followed.pending
        ]
        if followed.behind:
            self.store.commit_segment(followed.stream, followed.position, followed.before, rows)
            followed.committed = followed.position
        followed.pending, followed.pending_bytes = [], 0
        for session_id, json_text in followed.changed.items():
            record = session_record(followed.stream, session_id, json_text)
            self._keep_configs(record)
            if session_id not in followed.ended:
                self.store.write_record(record)
        followed.changed = {}
        ending = followed.ended | set(followed.abandoned)
        for session_id in sorted(ending):
            self._compact(followed, session_id, followed.abandoned.get(session_id))
        if ending:
            self.store.prune(followed.stream, set(followed.done))
        followed.ended, followed.abandoned = set(), {}

    def _compact(self, followed: Followed, session_id: int, why: str | None) -> None:
        """Write the session's files; `why`, if given, says why its writer is taken for gone
        (it is then stored as `abandoned`, its Session JSON as last streamed)."""
        identity = followed.names.get(session_id)
        with self.store.compaction(followed.stream, session_id, identity) as gathered:
            if not gathered.history:
                log.warning(
                    "stream session %d of %s ended with no Session JSON",
                    session_id,
                    followed.stream,
                )
                followed.done[session_id] = identity
                return
            record = session_record(followed.stream, session_id, gathered.history[-1])
            record["first_entry"], record["last_entry"] = gathered.first_entry, gathered.last_entry
            if why is not None:
                record["state"], record["abandoned_by_recorder"] = "abandoned", why
                log.warning("session %s abandoned: %s", record["identity"], why)
            record["gaps"] = [
                gap for gap in self.store.reports() if record["identity"] in gap["sessions"]
            ]
            self._keep_configs(record)
            self.store.compact(record, gathered)
        followed.done[session_id] = record["identity"]
        followed.digests.pop(session_id, None)
        log.info("session %s compacted (%s)", record["identity"], record["state"])

    def _keep_configs(self, record: dict[str, Any]) -> None:
        """Copy the configurations the session binds into the store (once each)."""
        for binding in record["config_bindings"]:
            identifier = binding.get("identifier") if isinstance(binding, dict) else None
            if not isinstance(identifier, str) or self.store.config(identifier) is not None:
                continue
            value = self.client.get(keys.config_key(identifier))
            if value is not None:
                self.store.write_config(identifier, text(value))
