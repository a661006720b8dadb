"""The store: RTA sessions kept for good in Parquet files, on a local disk or S3.

Layout under the store's root (names percent-encoded; docs/store.md has every column):

    sessions/<identity>/session.json     the session's index record
    sessions/<identity>/<kind>.<type>.parquet   samples: channel, timestamp, value
    sessions/<identity>/rows.parquet     rows: timestamp, channels, data (exact bytes)
    sessions/<identity>/events.parquet   events
    sessions/<identity>/history.parquet  every Session JSON update, as streamed
    configs/<identifier>.json            bound configurations, as they were in Redis
    live/<stream>/<last entry id>-<count>.arrow   segments: the entries read, as stored in Redis
    reports/<stream>/<after>_<to>.json   gap reports: entries trimmed before they were read

A session's files are written once, when it ends (its record then says "complete": true,
and is written last); until then it is read from its stream's segments.

The read API:

    store = Store("/data/rta")                  # or "s3://bucket/prefix?endpoint_override=..."
    store.sessions()                            # every index record
    store.session(identity)                     # one, or None
    store.config(identifier)                    # configuration JSON text, or None
    store.stems(identity)                       # its tables: "timestamped.float64", "rows"...
    store.read(identity, "timestamped", channels, start, end)   # {channel: Series}
    store.table(identity, "events", start=..., end=...)         # a pyarrow Table
    store.reports()                             # gap reports
"""

from rtastream.store.store import Store

__all__ = ["Store"]
