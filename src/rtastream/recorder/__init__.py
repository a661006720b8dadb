"""`rtastream record`: follow RTA streams in Redis and keep every session in a store.

follow.py is one stream's state (position, duplicates, sessions, ends), recorder.py the
loop (leases, reads with their gap checks, commits, compactions), lease.py the lease that
keeps two recorders off one stream, replay.py a stored session streamed back into Redis.
"""

from rtastream.recorder.recorder import Recorder

__all__ = ["Recorder"]
