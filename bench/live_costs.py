"""What one MQTT message costs through the council's broker: the publisher's CPU per publish,
each subscriber's CPU per delivery, and the broker's CPU per delivery, at QoS 0 and QoS 1.

A publisher process sends ``count`` messages of ``payload_bytes`` on its events topic, as fast
as it can or at a given rate; ``subscribers`` processes receive them. Each process measures its
own CPU time (``time.process_time``) from its first message to its last; the broker's CPU time
is read from ``/proc`` around the run. Agents are not running meanwhile, so the broker serves
only this.

Run by :mod:`bench.live`; ``python -m bench.live_costs publish|subscribe SETTINGS`` is the child.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiomqtt

from council.live.broker_process import BrokerProcess
from council.live.connection import BrokerUrl
from council.live.credentials import Credentials
from council.live.topics import CouncilTopics

#: Publishes in flight at once at QoS 1, so acknowledgements overlap (aiomqtt warns above 10).
QOS1_WINDOW = 10
#: A subscriber that hears nothing for this long after its last message stops counting.
QUIET_S = 3.0
START_TIMEOUT_S = 120.0


@dataclass(frozen=True)
class DeliveryCosts:
    """Microseconds of CPU per message at one QoS."""

    publish_us: float  # publisher, per publish
    deliver_us: float  # subscriber, per delivered message (aiomqtt and paho)
    broker_us: float  # broker, per delivered message (its receiving the publish included)
    delivered_share: float  # deliveries that arrived / deliveries expected

    def as_json(self) -> dict[str, float]:
        return {
            "publish_us": self.publish_us,
            "deliver_us": self.deliver_us,
            "broker_us": self.broker_us,
            "delivered_share": self.delivered_share,
        }


def is_seat(principal: str) -> bool:
    return principal[:1] == "r" and principal[1:].isdigit()


def process_cpu_s(pid: int) -> float:
    """User plus system CPU seconds of process ``pid`` so far (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


async def measure_delivery_costs(
    broker: BrokerProcess,
    credentials_file: Path,
    *,
    qos: int,
    count: int,
    payload_bytes: int = 512,
    subscribers: int = 2,
    rate_per_s: float = 0.0,
) -> DeliveryCosts:
    """Publisher and subscribers as separate processes through ``broker``; the publisher
    sends as fast as it can, or ``rate_per_s`` messages a second, evenly spaced."""
    assert broker.pid is not None
    credentials = Credentials.load(credentials_file)
    readers = [p for p in credentials.principals if p != "gateway" and not is_seat(p)]
    readers = readers[:subscribers]
    base: dict[str, Any] = {"broker": broker.url().render(), "credentials": str(credentials_file)}
    base |= {"council_id": broker.topics.council_id, "qos": qos, "count": count}
    children = []
    for principal in readers:
        children.append(await _child("subscribe", {**base, "principal": principal}))
    for child in children:
        assert child.stdout is not None
        await child.stdout.readline()  # "ready": subscribed
    broker_cpu_s = process_cpu_s(broker.pid)
    settings = {**base, "principal": "gateway", "payload_bytes": payload_bytes}
    settings["rate_per_s"] = rate_per_s
    publisher = await _child("publish", settings)
    published = await _result(publisher)
    received = [await _result(child) for child in children]
    broker_cpu_s = process_cpu_s(broker.pid) - broker_cpu_s
    deliveries = sum(r["messages"] for r in received)
    return DeliveryCosts(
        publish_us=round(1e6 * published["cpu_s"] / published["messages"], 1),
        deliver_us=round(1e6 * sum(r["cpu_s"] for r in received) / max(1, deliveries), 1),
        broker_us=round(1e6 * broker_cpu_s / max(1, deliveries), 1),
        delivered_share=round(deliveries / (count * len(readers)), 4),
    )


async def _child(role: str, settings: dict[str, Any]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.live_costs",
        role,
        json.dumps(settings),
        stdout=asyncio.subprocess.PIPE,
    )


async def _result(child: asyncio.subprocess.Process) -> dict[str, float]:
    output, _ = await child.communicate()
    document: dict[str, float] = json.loads(output.decode().strip().splitlines()[-1])
    return document


def _client_url(settings: dict[str, Any]) -> BrokerUrl:
    principal = settings["principal"]
    password = Credentials.load(Path(settings["credentials"])).password(principal)
    return BrokerUrl.parse(settings["broker"]).with_credentials(principal, password)


async def _publish(settings: dict[str, Any]) -> dict[str, float]:
    topic = CouncilTopics(settings["council_id"]).event(settings["principal"])
    payload = b"x" * settings["payload_bytes"]
    qos, count = settings["qos"], settings["count"]
    async with _client_url(settings).client() as client:
        started = time.process_time()
        if settings["rate_per_s"]:
            interval_s, due_s = 1 / settings["rate_per_s"], time.monotonic()
            for _ in range(count):
                await client.publish(topic, payload, qos=qos)
                due_s += interval_s
                await asyncio.sleep(max(0.0, due_s - time.monotonic()))
        elif qos == 0:
            for _ in range(count):
                await client.publish(topic, payload, qos=0)
        else:
            for first in range(0, count, QOS1_WINDOW):
                size = min(QOS1_WINDOW, count - first)
                await asyncio.gather(
                    *(client.publish(topic, payload, qos=qos) for _ in range(size))
                )
        cpu_s = time.process_time() - started
        await asyncio.sleep(0.5)  # let the socket drain before disconnecting
    return {"messages": count, "cpu_s": cpu_s}


async def _subscribe(settings: dict[str, Any]) -> dict[str, float]:
    topics = CouncilTopics(settings["council_id"])
    counted = {"messages": 0, "started_s": 0.0, "cpu_s": 0.0}

    async def count(client: aiomqtt.Client) -> None:
        # A plain iteration, as an agent's reader does: nothing else is timed.
        async for _ in client.messages:
            if not counted["messages"]:
                counted["started_s"] = time.process_time()
            counted["messages"] += 1
            counted["cpu_s"] = time.process_time() - counted["started_s"]
            if counted["messages"] >= settings["count"]:
                return

    async with _client_url(settings).client(max_queued_incoming_messages=0) as client:
        await client.subscribe(topics.event("gateway"), qos=settings["qos"])
        print("ready", flush=True)
        counting = asyncio.create_task(count(client))
        seen, deadline_s = 0, time.monotonic() + START_TIMEOUT_S
        while not counting.done():
            await asyncio.wait({counting}, timeout=QUIET_S)
            # Nothing new for a while after the first messages: the rest was lost.
            if counted["messages"] == seen > 0 or time.monotonic() > deadline_s:
                counting.cancel()
            seen = int(counted["messages"])
    # The first message's own cost is not timed; count the messages that were.
    return {"messages": max(0, counted["messages"] - 1), "cpu_s": counted["cpu_s"]}


def main() -> None:
    role, settings = sys.argv[1], json.loads(sys.argv[2])
    run = _publish if role == "publish" else _subscribe
    print(json.dumps(asyncio.run(run(settings))), flush=True)


if __name__ == "__main__":
    main()
