"""One stream as a recorder follows it: its position, what was read since the last commit,
and what tells duplicates, sessions and their ends apart. No I/O here but the store's."""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from rtastream import keys
from rtastream.decoding import SessionJsonItem
from rtastream.reader.entries import BadEntry, Entry, decode_entry, entry_header, identity_of
from rtastream.store import Store
from rtastream.store.segments import SegmentRow, entry_key

log = logging.getLogger("rtastream.recorder")


def digest_of(data: bytes) -> bytes:
    """The first 16 bytes of the message's SHA-256: what tells a re-sent message (SHA-256
    has the processor's instructions on x86 and ARM: twice BLAKE2b's speed here)."""
    return hashlib.sha256(data).digest()[:16]


def session_record(stream: str, stream_session_id: int, json_text: str) -> dict[str, Any]:
    """A session's index record from its latest Session JSON (complete: not yet)."""
    try:
        model = json.loads(json_text)
    except ValueError:
        model = {}
    model = model if isinstance(model, dict) else {}
    identity = model.get("identity")
    time_range = model.get("timeRange")
    return {
        "identity": identity,
        "identifier": model.get("identifier") or identity,
        "state": model.get("state"),
        "stream": stream,
        "stream_session_id": stream_session_id,
        "json": json_text,
        "details": model.get("details", {}),
        "config_bindings": model.get("configBindings", []),
        "time_range": (
            [int(time_range["startTime"]), int(time_range["endTime"])]
            if isinstance(time_range, dict) and {"startTime", "endTime"} <= time_range.keys()
            else None
        ),
        "complete": False,
    }


@dataclass
class Followed:
    """A stream this recorder holds the lease of."""

    stream: str
    position: str  # the last entry id read
    committed: str  # the last entry id in the store
    before: int = 0  # entries the stream was ever given up to the position (see _check_gap)
    names: dict[int, str] = field(default_factory=dict)  # stream session id -> identity
    digests: dict[int, set[bytes]] = field(default_factory=dict)  # of open sessions
    # Stream session ids compacted, with the identity compacted under each: a Redis started
    # anew numbers its sessions from 1 again, under identities of their own.
    done: dict[int, str | None] = field(default_factory=dict)
    pending: list[SegmentRow] = field(default_factory=list)
    pending_bytes: int = 0
    changed: dict[int, str] = field(default_factory=dict)  # latest Session JSON since commit
    ended: set[int] = field(default_factory=set)  # final Session JSON since commit
    abandoned: dict[int, str] = field(default_factory=dict)  # writer gone: why (abandon.py)
    seen: dict[int, float] = field(default_factory=dict)  # time.monotonic() of last entry
    duplicates: int = 0
    bad: int = 0

    @classmethod
    def load(cls, store: Store, stream: str) -> Followed:
        """Where the store says the stream stands: its position, the sessions it has
        compacted, and the digests and names of the others (from their segments)."""
        position, before = store.position(stream) or (keys.NO_STREAM_POSITION, 0)
        store.remove_scratch(stream)  # its sessions not compacted yet will be again
        followed = cls(stream, position, position, before)
        compacted = [r for r in store.sessions() if r.get("stream") == stream and r.get("complete")]
        for record in sorted(compacted, key=lambda r: entry_key(r.get("last_entry") or "0-0")):
            followed.done[int(record["stream_session_id"])] = record["identity"]
        columns = ["stream_session_id", "identity", "digest", "final_state"]
        for table in store.segment_columns(stream, columns):
            for session_id, identity, digest, final_state in zip(
                *(table[c].to_pylist() for c in columns), strict=True
            ):
                if session_id in followed.done:
                    if identity is None or identity == followed.done[session_id]:
                        continue  # of the session compacted
                    del followed.done[session_id]  # a later session under the same id
                followed.digests.setdefault(session_id, set()).add(digest)
                followed.seen[session_id] = time.monotonic()  # idle counts from here
                if identity is not None:
                    followed.names[session_id] = identity
                if final_state is not None:
                    followed.ended.add(session_id)  # killed before compacting it
        return followed

    def take(self, entry_id: str, fields: dict[bytes, bytes]) -> None:
        """One entry read after the position: kept unless bad, a duplicate, or of a session
        already compacted."""
        self.position = entry_id
        header = entry_header(fields)
        if isinstance(header, str):
            self._bad(BadEntry(keys.stream_key(self.stream), entry_id, header))
            return
        session_id, data = header
        digest = digest_of(data)
        seen = self.digests.setdefault(session_id, set())
        if digest in seen:
            self.duplicates += 1  # a re-sent message (the writer is at-least-once)
            return
        entry = decode_entry(keys.stream_key(self.stream), entry_id, session_id, data)
        if isinstance(entry, BadEntry):
            self._bad(entry)
            return
        if session_id in self.done and not self._reopened(entry):
            log.warning(
                "entry %s of %s: its session (stream session id %d, %s) is already "
                "compacted, skipped",
                entry_id,
                self.stream,
                session_id,
                self.done[session_id],
            )
            return
        seen.add(digest)
        self.seen[session_id] = time.monotonic()
        self._session_json(entry)
        final_state = entry.final_state
        if final_state is not None:
            self.ended.add(session_id)
        identity = self.names.get(session_id)
        self.pending.append(SegmentRow(entry_id, session_id, identity, data, digest, final_state))
        self.pending_bytes += len(data)

    def _reopened(self, entry: Entry) -> bool:
        """Whether an entry of a compacted stream session id starts another session (its
        Session JSON names another identity: Redis started anew numbers from 1 again);
        then the id is the new session's."""
        identity = identity_of(entry.items)
        if identity is None or identity == self.done[entry.stream_session_id]:
            return False
        del self.done[entry.stream_session_id]
        self.names.pop(entry.stream_session_id, None)
        return True

    def _session_json(self, entry: Entry) -> None:
        for item in entry.items:
            if isinstance(item, SessionJsonItem):
                record = session_record(self.stream, entry.stream_session_id, item.text)
                if isinstance(record["identity"], str):
                    self.names[entry.stream_session_id] = record["identity"]
                    self.changed[entry.stream_session_id] = item.text

    def _bad(self, bad: BadEntry) -> None:
        self.bad += 1
        log.warning("%s", bad)

    @property
    def behind(self) -> bool:
        """Whether entries were read since the last commit."""
        return entry_key(self.position) != entry_key(self.committed)

    def open_sessions(self) -> list[str]:
        """Identities of the sessions seen and not compacted."""
        return sorted(name for sid, name in self.names.items() if sid not in self.done)
