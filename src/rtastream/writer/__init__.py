"""The Redis writers: one sans-I/O core, two thin drivers.

    core.py      what to do about what is in flight: sessions, lanes, acknowledgement,
                 reconnect and re-send decisions (commands.py: the Redis commands of each
                 step of a session; live.py: live data between flushes)
    rounds.py    what is in flight: a session's batches, their parts per lane, the round
                 a lane sends in one pipeline and how its replies settle it
    node.py      one Redis server and how redis-py connects to it
    topology.py  which node each key lives on, and how to reach it (the connection factory)
    cluster.py   Redis Cluster: the slot map, keys pinned to their node, a MULTI/EXEC block
                 per key in a round, redirections and refusals for now sent again
    sentinel.py  Sentinel: the master the sentinels name, asked again when in trouble
    sync.py      the sync driver: an I/O thread per connection, a timer thread per buffer
    aio.py       the asyncio driver: an asyncio.Protocol per connection, a timer task

A driver only waits and moves bytes: it asks the core for a lane's round (Lane.outgoing()),
sends it, hands back what it reads (Lane.received()) and reports a lost connection
(WriterCore.connection_lost(), which says when to reconnect or that the round failed).

Cluster and Sentinel plug in as topologies (see topology.py): a topology lists the nodes and
the node of each key; the core keeps one lane per node (made when a node is first written
to), each with its own round in flight, and routes each command of a batch to its node's lane
(WriterCore.submit). Redirections (MOVED, ASK) and refusals for now (CLUSTERDOWN, TRYAGAIN)
come back from a round as leftovers, queued again on the right lane (WriterCore.round_done);
a lane in trouble backs off and has the topology asked again (WriterCore.discovery) before it
sends again: a master that Sentinel no longer names retires its lane the same way. A demoted
master (READONLY: Lane.received raises NodeMoved, a lost connection) and waiting for replicas
(Round.wait; WriterCore.round_done asks a short WAIT again) are decisions of the core.
"""

from rtastream.writer.sync import RedisStreamBuffer, StreamSession

__all__ = ["RedisStreamBuffer", "StreamSession"]
