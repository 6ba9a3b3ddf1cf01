"""The council's local MQTT broker: Mosquitto when installed, else the embedded amqtt broker.

::

    credentials = Credentials.generate(seat_count=33)
    async with await start_broker("example-council", credentials) as broker:
        url = broker.url_for("r7")          # mqtt://r7:…@127.0.0.1:<free port>
        async with url.client(will=presence_will(broker.topics, "r7")) as client:
            ...

Both brokers listen on a free loopback port, refuse anonymous clients and wrong passwords, and
apply the ACL of :mod:`council.live.topics`. A council spread over machines uses an external
broker instead, by URL (:class:`~council.live.connection.BrokerUrl`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from council.live.broker_amqtt import AmqttBroker
from council.live.broker_mosquitto import MosquittoBroker, find_mosquitto
from council.live.broker_process import LOOPBACK_HOST, BrokerError, BrokerProcess
from council.live.credentials import Credentials

BROKER_PREFERENCES: Final = ("auto", "mosquitto", "amqtt")

__all__ = [
    "BROKER_PREFERENCES",
    "AmqttBroker",
    "BrokerError",
    "BrokerProcess",
    "MosquittoBroker",
    "choose_broker",
    "start_broker",
]


def choose_broker(
    council_id: str,
    credentials: Credentials,
    prefer: str = "auto",
    *,
    host: str = LOOPBACK_HOST,
    work_dir: Path | None = None,
) -> BrokerProcess:
    """A broker, not yet started: Mosquitto if asked or (``auto``) found, else amqtt."""
    if prefer not in BROKER_PREFERENCES:
        choices = ", ".join(BROKER_PREFERENCES)
        raise BrokerError(f"unknown broker {prefer!r}; choose one of {choices}")
    if prefer == "mosquitto" or (prefer == "auto" and find_mosquitto() is not None):
        return MosquittoBroker(council_id, credentials, host=host, work_dir=work_dir)
    return AmqttBroker(council_id, credentials, host=host, work_dir=work_dir)


async def start_broker(
    council_id: str,
    credentials: Credentials,
    prefer: str = "auto",
    *,
    host: str = LOOPBACK_HOST,
    work_dir: Path | None = None,
) -> BrokerProcess:
    """Start the broker :func:`choose_broker` picks; it accepts connections on return."""
    broker = choose_broker(council_id, credentials, prefer, host=host, work_dir=work_dir)
    await broker.start()
    return broker
