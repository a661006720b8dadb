"""Sessions whose writer is gone: found so that the recorder compacts them all the same.

A session is compacted when its final Session JSON arrives. One whose writer died never
sends it: its hash stays `open` while its heartbeat (`lastUpdated`) ages, until the hash
expires or `rtastream trim --stale-after` ends it (with a final message, which the recorder
reads as any other). Without this the session would stay in its stream's segments for good.
"""

from __future__ import annotations

import json
import time
from typing import Any

from rtastream import keys
from rtastream.reader.entries import CLOSED_STATES, text
from rtastream.recorder.follow import Followed


def abandoned(client: Any, followed: Followed, after: float) -> dict[int, str]:
    """The stream's open sessions (seen, neither ended nor compacted) given up for lost,
    each with why: its writer's heartbeat older than `after` seconds; or no entry of it
    for `after` seconds while its hash is gone, names another session or says it ended
    (its final message trimmed away)."""
    found = {}
    now_ms, now = time.time() * 1000, time.monotonic()
    for session_id, identity in sorted(followed.names.items()):
        if session_id in followed.done or session_id in followed.ended:
            continue
        idle = now - followed.seen.get(session_id, now)
        fields = client.hmget(
            keys.session_key(identity),
            [keys.STREAM_NAME, keys.STREAM_SESSION_ID, keys.LAST_UPDATED, keys.JSON],
        )
        stream, number, updated, json_text = (text(f) if f is not None else None for f in fields)
        if stream != followed.stream or number != str(session_id):
            if idle > after:
                found[session_id] = f"no entry for {idle:.0f} s and no session hash of it"
            continue
        if _state(json_text) in CLOSED_STATES:
            if idle > after:
                found[session_id] = f"no entry for {idle:.0f} s, its hash says it ended"
            continue
        age = (now_ms - int(updated)) / 1000 if updated and updated.isdigit() else None
        if age is not None and age > after and idle > after:
            found[session_id] = f"its writer's heartbeat (lastUpdated) stopped {age:.0f} s ago"
    return found


def _state(json_text: str | None) -> str | None:
    try:
        model = json.loads(json_text or "{}")
    except ValueError:
        return None
    return model.get("state") if isinstance(model, dict) else None
