"""kombu's Redis transport with one change: an acknowledgement Redis could not confirm no longer stops the
worker from taking tasks.

kombu (5.7) acknowledges in two steps: a Redis transaction removes the message from the `unacked` hash,
then the channel drops the delivery tag from its own books. When the transaction fails (a Redis stall past
the 5 s socket timeout, a dropped connection), the second step never runs and the tag stays "delivered".
With one message prefetched (`worker_prefetch_multiplier` 1, the solo pool) the channel then never asks
Redis for another: on `make stack`, a 30 s Redis freeze during a step's acknowledgement left the worker
alive, idle and deaf to a queue of waiting chunks until it was restarted (5 of 16 freeze runs).

Here the tag is dropped either way and the error still raised (kombu logs it). If Redis did not apply the
removal, the message stays in `unacked` and comes back after the visibility timeout; every batch step is
idempotent, so a second delivery costs time, not correctness. A subclass, selected by `broker_transport`,
because kombu has no setting for it.
"""

from __future__ import annotations

from typing import Any

from kombu.transport import redis as kombu_redis
from kombu.transport.virtual import base as virtual

TRANSPORT = f"{__name__}:Transport"  # the `broker_transport` value, for redis:// and rediss:// alike


class QoS(kombu_redis.QoS):
    def ack(self, delivery_tag: Any) -> None:
        try:
            super().ack(delivery_tag)  # type: ignore[no-untyped-call]
        except Exception:
            virtual.QoS.ack(self, delivery_tag)  # type: ignore[no-untyped-call]  # off the channel's books
            raise

    def reject(self, delivery_tag: Any, requeue: bool = False) -> None:
        try:
            super().reject(delivery_tag, requeue=requeue)  # type: ignore[no-untyped-call]
        except Exception:
            virtual.QoS.ack(self, delivery_tag)  # type: ignore[no-untyped-call]
            raise


class Channel(kombu_redis.Channel):
    QoS = QoS


class Transport(kombu_redis.Transport):
    Channel = Channel
