"""Helpers for tests against a real broker: collecting messages, and a client that vanishes."""

from __future__ import annotations

import asyncio
import socket
import struct
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

import aiomqtt

from council.live.broker_process import BrokerProcess

T = TypeVar("T")

#: No single broker test may hang the suite.
SCENARIO_TIMEOUT_S = 20.0


def run(scenario: Coroutine[Any, Any, T]) -> T:
    """Run ``scenario`` on a fresh event loop, bounded by ``SCENARIO_TIMEOUT_S``."""
    return asyncio.run(asyncio.wait_for(scenario, SCENARIO_TIMEOUT_S))


async def receive_until(
    client: aiomqtt.Client, last_topic: str, timeout_s: float = 5.0
) -> list[aiomqtt.Message]:
    """Every message ``client`` receives up to and including the first on ``last_topic``.

    One publisher's messages arrive in the order it sent them, so a marker sent after a
    forbidden publish proves, when it arrives alone, that the forbidden one was dropped.
    """

    async def collect() -> list[aiomqtt.Message]:
        received: list[aiomqtt.Message] = []
        async for message in client.messages:
            received.append(message)
            if message.topic.matches(last_topic):
                return received
        return received

    return await asyncio.wait_for(collect(), timeout_s)


async def drain(client: aiomqtt.Client, quiet_s: float) -> list[aiomqtt.Message]:
    """The messages that ``client`` receives until none arrives for ``quiet_s``."""
    received: list[aiomqtt.Message] = []
    iterator = client.messages.__aiter__()
    while True:
        try:
            received.append(await asyncio.wait_for(iterator.__anext__(), quiet_s))
        except TimeoutError:
            return received


def process_alive(pid: int) -> bool:
    """Whether ``pid`` runs; a zombie nobody has reaped yet counts as gone."""
    try:
        status = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    # The state follows the parenthesised command name, which may itself contain spaces.
    return status.rpartition(")")[2].split()[0] != "Z"


def payload_bytes(message: aiomqtt.Message) -> bytes:
    assert isinstance(message.payload, bytes | bytearray), message.payload
    return bytes(message.payload)


def connect_and_vanish(
    broker: BrokerProcess, principal: str, will_topic: str, will_payload: bytes
) -> int:
    """Connect as ``principal`` with a retained QoS 1 last will, then drop the TCP connection
    without a DISCONNECT — what the broker sees when an agent is killed. Returns the CONNACK
    return code (0 = accepted)."""
    password = broker.credentials.password(principal)
    client_id = f"{principal}-vanishing"
    packet = _connect_packet(client_id, principal, password, will_topic, will_payload)
    with socket.create_connection((broker.host, broker.port), timeout=5.0) as connection:
        connection.sendall(packet)
        connack = connection.recv(4)
    return connack[3] if len(connack) == 4 else -1


def _connect_packet(
    client_id: str, username: str, password: str, will_topic: str, will_payload: bytes
) -> bytes:
    # MQTT 3.1.1 §3.1: flags = username, password, will retain, will QoS 1, will, clean session.
    flags = 0x80 | 0x40 | 0x20 | 0x08 | 0x04 | 0x02
    keepalive_s = 30
    variable_header = _text(b"MQTT") + bytes([4, flags]) + struct.pack("!H", keepalive_s)
    payload = b"".join(
        [
            _text(client_id.encode()),
            _text(will_topic.encode()),
            _text(will_payload),
            _text(username.encode()),
            _text(password.encode()),
        ]
    )
    body = variable_header + payload
    return b"\x10" + _remaining_length(len(body)) + body


def _text(data: bytes) -> bytes:
    return struct.pack("!H", len(data)) + data


def _remaining_length(length: int) -> bytes:
    encoded = bytearray()
    while True:
        digit, length = length % 128, length // 128
        encoded.append(digit | (0x80 if length else 0))
        if not length:
            return bytes(encoded)
