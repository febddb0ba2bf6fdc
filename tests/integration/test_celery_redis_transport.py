"""The broker's Redis transport against a real Redis frozen (SIGSTOP) while a message is acknowledged.

Seen on `make stack`: with kombu's own transport the acknowledgement timed out, its delivery tag stayed on the
channel's books, and the worker (one message prefetched) never asked Redis for another task: 5 of 16 freeze
runs left a worker idle beside a queue of waiting chunks until it was restarted."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest
from kombu import Connection, Consumer, Exchange, Message, Producer, Queue

from fraud_detection.infrastructure.celery.redis_transport import TRANSPORT
from tests.fixtures.redis_server import RedisServer

pytestmark = pytest.mark.integration
SOCKET_TIMEOUT_SECONDS = 1.0  # the app's is 5 s; 1 s keeps the frozen acknowledgement short


def test_a_channel_takes_the_next_message_after_an_acknowledgement_redis_could_not_confirm(
    own_redis_server: tuple[RedisServer, subprocess.Popen[bytes]],
) -> None:
    server, process = own_redis_server
    options = {"socket_timeout": SOCKET_TIMEOUT_SECONDS, "socket_connect_timeout": 1.0}
    queue = Queue("ack-test", Exchange("ack-test", "direct"), "ack-test")
    received: list[Message] = []
    with Connection(server.url(), transport=TRANSPORT, transport_options=options) as connection:
        producer = Producer(connection.channel())
        for number in range(3):
            producer.publish({"n": number}, exchange=queue.exchange, routing_key="ack-test", declare=[queue])
        channel = connection.channel()
        channel.basic_qos(0, 1, False)  # one message at a time, as the worker takes them
        consumer = Consumer(channel, [queue], callbacks=[lambda _body, message: received.append(message)])
        consumer.consume()
        connection.drain_events(timeout=5)
        assert [message.payload for message in received] == [{"n": 0}]

        os.kill(process.pid, signal.SIGSTOP)
        try:
            with pytest.raises(Exception):  # noqa: B017, PT011 - redis-py's timeout or connection error
                received[0].ack()
        finally:
            os.kill(process.pid, signal.SIGCONT)

        deadline = time.monotonic() + 10
        while len(received) < 2 and time.monotonic() < deadline:
            try:
                connection.drain_events(timeout=1)
            except TimeoutError:
                continue
        assert [message.payload for message in received[:2]] == [{"n": 0}, {"n": 1}]
