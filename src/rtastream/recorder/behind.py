"""A stream's segment written on a thread while the recorder reads on: writing a segment
file is about half of what following a fast stream costs, and pyarrow writes it without
holding the GIL, so reading the next entries from Redis overlaps it.

One segment is in flight at most: the next write, a compaction (which reads the segments)
and the recorder's end all wait for it first. A write that fails gives its rows back to
their stream, to be written again with the next commit, and its error is raised there.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from rtastream.recorder.follow import Followed
from rtastream.store import Store
from rtastream.store.segments import SegmentRow


@dataclass
class _Job:
    followed: Followed
    rows: list[SegmentRow]
    previous: str  # the stream's committed position before this segment
    done: Future[None]


class SegmentWriter:
    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="rtastream segment")
        self._job: _Job | None = None

    def write(self, store: Store, followed: Followed, rows: list[SegmentRow]) -> None:
        """Write the stream's entries read up to its position (after the one in flight)."""
        self.settle()
        done = self._pool.submit(
            store.commit_segment, followed.stream, followed.position, followed.before, rows
        )
        self._job = _Job(followed, rows, followed.committed, done)
        followed.committed = followed.position

    def settle(self) -> None:
        """Wait for the segment in flight; if it failed, give its rows back and raise."""
        job, self._job = self._job, None
        if job is None:
            return
        try:
            job.done.result()
        except BaseException:
            followed = job.followed
            followed.pending = job.rows + followed.pending
            followed.pending_bytes += sum(len(row.data) for row in job.rows)
            followed.committed = job.previous
            raise

    def close(self) -> None:
        self._pool.shutdown(wait=True)
