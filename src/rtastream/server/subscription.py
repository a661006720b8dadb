"""What a WebSocket client subscribed to (StreamSubscription), and which items that keeps.

Subscriptions only widen. Session JSON and time ranges are not subscribed to: every client
gets them.
"""

from __future__ import annotations

from dataclasses import dataclass

from google.protobuf.message import DecodeError

from rtastream import DecodedItem, EventItem, PeriodicItem, RowItem, TimestampedItem
from rtastream._proto import net_stream_pb2


@dataclass(frozen=True)
class Subscription:
    all_events: bool = False
    all_data: bool = False
    channels: frozenset[int] = frozenset()

    @classmethod
    def parse(cls, message: bytes) -> Subscription:
        """The subscription in a client's StreamRequest; ValueError when it holds none."""
        request = net_stream_pb2.StreamRequest()
        try:
            request.ParseFromString(message)
        except DecodeError as exc:
            raise ValueError(f"not a StreamRequest: {exc}") from None
        if not request.HasField("subscribe"):
            raise ValueError("a StreamRequest without a subscription")
        wanted = request.subscribe
        return cls(wanted.all_events, wanted.all_data_channels, frozenset(wanted.data_channel_ids))

    def __bool__(self) -> bool:
        return self.all_events or self.all_data or bool(self.channels)

    def widen(self, more: Subscription) -> tuple[Subscription, Subscription]:
        """(the widened subscription, what it adds: the part to back-fill)."""
        wider = Subscription(
            self.all_events or more.all_events,
            self.all_data or more.all_data,
            frozenset() if self.all_data or more.all_data else self.channels | more.channels,
        )
        added = Subscription(
            wider.all_events and not self.all_events,
            wider.all_data and not self.all_data,
            frozenset() if self.all_data else more.channels - self.channels,
        )
        return wider, added

    def wants(self, item: DecodedItem) -> bool:
        """Whether a data or event item is subscribed (rows: if any of their channels is)."""
        if isinstance(item, (TimestampedItem, PeriodicItem)):
            return self.all_data or item.channel_id in self.channels
        if isinstance(item, RowItem):
            return self.all_data or not self.channels.isdisjoint(item.channel_ids)
        if isinstance(item, EventItem):
            return self.all_events
        return False


def reaches(item: DecodedItem, since: int) -> bool:
    """Whether a data or event item holds a sample or event timed at or after `since`."""
    if isinstance(item, (TimestampedItem, PeriodicItem)):
        return len(item.timestamps) > 0 and int(item.timestamps.max()) >= since
    if isinstance(item, (RowItem, EventItem)):
        return item.timestamp >= since
    return False
