"""Both local brokers admit exactly the council's principals and enforce the topic ACL."""

from __future__ import annotations

import stat
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import aiomqtt
import pytest

from council.live.broker import AmqttBroker, BrokerError, MosquittoBroker, choose_broker
from council.live.broker_mosquitto import find_mosquitto
from council.live.broker_process import BrokerProcess
from council.live.connection import presence_will
from council.live.credentials import Credentials
from council.live.topics import PRESENCE_OFFLINE, PRESENCE_ONLINE, CouncilTopics
from tests.integration.broker_support import (
    connect_and_vanish,
    drain,
    payload_bytes,
    process_alive,
    receive_until,
    run,
)

COUNCIL_ID = "test-council"
SEATS = 4
BROKER_KINDS = ("mosquitto", "amqtt")

needs_mosquitto = pytest.mark.skipif(find_mosquitto() is None, reason="mosquitto not installed")


@pytest.fixture(params=BROKER_KINDS)
def broker(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BrokerProcess]:
    kind: str = request.param
    if kind == "mosquitto" and find_mosquitto() is None:
        pytest.skip("mosquitto not installed")
    started = choose_broker(COUNCIL_ID, Credentials.generate(SEATS), kind, work_dir=tmp_path)
    run(started.start())
    yield started
    run(started.stop())


# -- who may connect ----------------------------------------------------------------------


def test_a_seat_connects_with_its_own_password(broker: BrokerProcess) -> None:
    async def scenario() -> None:
        async with broker.url_for("r2").client():
            pass

    run(scenario())


@pytest.mark.parametrize("principal", ["r0", "secretariat", "nobody"])
def test_a_wrong_password_is_refused(broker: BrokerProcess, principal: str) -> None:
    async def scenario() -> None:
        url = broker.url().with_credentials(principal, "not-the-password")
        with pytest.raises(aiomqtt.MqttCodeError):
            async with url.client():
                pass

    run(scenario())


def test_an_anonymous_client_is_refused(broker: BrokerProcess) -> None:
    async def scenario() -> None:
        with pytest.raises(aiomqtt.MqttCodeError):
            async with broker.url().client():
                pass

    run(scenario())


# -- what travels where ---------------------------------------------------------------------


@pytest.mark.parametrize("qos", [0, 1])
def test_broadcast_and_direct_messages_reach_the_seats(broker: BrokerProcess, qos: int) -> None:
    topics = broker.topics

    async def scenario() -> list[tuple[str, bytes]]:
        async with broker.url_for("r1").client() as receiver:
            await receiver.subscribe(topics.broadcasts(), qos=qos)
            await receiver.subscribe(topics.directs_to("r1"), qos=qos)
            async with broker.url_for("r0").client() as sender:
                await sender.publish(topics.broadcast("r0"), b"pre-prepare", qos=qos)
                await sender.publish(topics.direct("r1", "r0"), b"state", qos=qos)
            received = await receive_until(receiver, topics.direct("r1", "r0"))
        return [(message.topic.value, payload_bytes(message)) for message in received]

    assert run(scenario()) == [
        (topics.broadcast("r0"), b"pre-prepare"),
        (topics.direct("r1", "r0"), b"state"),
    ]


def test_a_request_reaches_the_seats_and_the_reply_reaches_the_client(
    broker: BrokerProcess,
) -> None:
    topics = broker.topics

    async def scenario() -> tuple[bytes, bytes]:
        async with (
            broker.url_for("secretariat").client() as client,
            broker.url_for("r3").client() as seat,
        ):
            await client.subscribe(topics.replies_to("secretariat"), qos=1)
            await seat.subscribe(topics.requests(), qos=1)
            await client.publish(topics.request("secretariat"), b"motion", qos=1)
            [request] = await receive_until(seat, topics.request("secretariat"))
            await seat.publish(topics.reply("secretariat", "r3"), b"decided", qos=1)
            [reply] = await receive_until(client, topics.reply("secretariat", "r3"))
        return payload_bytes(request), payload_bytes(reply)

    assert run(scenario()) == (b"motion", b"decided")


FORGERIES: dict[str, Callable[[CouncilTopics], str]] = {
    "r1's broadcast": lambda topics: topics.broadcast("r1"),
    "r1's direct message to r2": lambda topics: topics.direct("r2", "r1"),
    "r1's reply to the secretariat": lambda topics: topics.reply("secretariat", "r1"),
    "the secretariat's request": lambda topics: topics.request("secretariat"),
    "r1's event": lambda topics: topics.event("r1"),
}


@pytest.mark.parametrize("forgery", FORGERIES.values(), ids=FORGERIES.keys())
def test_a_seat_cannot_publish_under_another_name(
    broker: BrokerProcess, forgery: Callable[[CouncilTopics], str]
) -> None:
    topics = broker.topics
    forged_topic = forgery(topics)
    marker = topics.broadcast("r0")

    async def scenario() -> list[str]:
        # r2 reads all of these but the secretariat's replies, which the secretariat watches.
        async with (
            broker.url_for("r2").client() as watcher,
            broker.url_for("secretariat").client() as client,
        ):
            for subscriber in (watcher, client):
                await subscriber.subscribe(topics.broadcasts(), qos=1)
            await watcher.subscribe(topics.directs_to("r2"), qos=1)
            await watcher.subscribe(topics.requests(), qos=1)
            await watcher.subscribe(topics.events(), qos=1)
            await client.subscribe(topics.replies_to("secretariat"), qos=1)
            async with broker.url_for("r0").client() as forger:
                await forger.publish(forged_topic, b"forged", qos=1)
                await forger.publish(marker, b"marker", qos=1)
            seen = await receive_until(watcher, marker) + await receive_until(client, marker)
        return [message.topic.value for message in seen]

    assert run(scenario()) == [marker, marker]


def test_a_seat_cannot_read_another_seats_direct_messages(broker: BrokerProcess) -> None:
    topics = broker.topics
    marker = topics.broadcast("r0")

    async def scenario() -> list[str]:
        async with broker.url_for("r2").client() as eavesdropper:
            # Mosquitto grants this subscription and filters deliveries; amqtt refuses it.
            await eavesdropper.subscribe(topics.directs_to("r1"), qos=1)
            await eavesdropper.subscribe(f"{topics.prefix}/#", qos=1)
            await eavesdropper.subscribe(topics.broadcasts(), qos=1)
            async with broker.url_for("r0").client() as sender:
                await sender.publish(topics.direct("r1", "r0"), b"for r1 only", qos=1)
                await sender.publish(marker, b"marker", qos=1)
            seen = await receive_until(eavesdropper, marker)
        return [message.topic.value for message in seen]

    assert run(scenario()) == [marker]


# -- presence -------------------------------------------------------------------------------


def test_a_vanished_seat_is_marked_offline_by_its_retained_last_will(
    broker: BrokerProcess,
) -> None:
    topics = broker.topics

    async def scenario() -> tuple[list[bytes], list[tuple[str, bytes, bool]]]:
        async with broker.url_for("gateway").client() as observer:
            await observer.subscribe(topics.presences(), qos=1)
            async with broker.url_for("r3").client(will=presence_will(topics, "r3")) as seat:
                await seat.publish(topics.presence("r3"), PRESENCE_ONLINE, qos=1, retain=True)
            accepted = connect_and_vanish(broker, "r1", topics.presence("r1"), PRESENCE_OFFLINE)
            assert accepted == 0
            live = await receive_until(observer, topics.presence("r1"))
        # A newcomer learns who is offline from the retained messages alone.
        async with broker.url_for("secretariat").client() as newcomer:
            await newcomer.subscribe(topics.presences(), qos=1)
            retained = await drain(newcomer, quiet_s=0.5)
        return (
            [payload_bytes(message) for message in live],
            # A set: amqtt 0.12 sends a newcomer retained messages once per matching filter
            # any client holds (here the observer's and its own), Mosquitto once.
            sorted({(m.topic.value, payload_bytes(m), m.retain) for m in retained}),
        )

    live, retained = run(scenario())
    # r3 disconnected cleanly: its will is not sent, its "online" stays retained.
    assert live == [PRESENCE_ONLINE, PRESENCE_OFFLINE]
    assert retained == [
        (topics.presence("r1"), PRESENCE_OFFLINE, True),
        (topics.presence("r3"), PRESENCE_ONLINE, True),
    ]


def test_a_seat_cannot_leave_a_last_will_on_another_seats_presence(
    broker: BrokerProcess,
) -> None:
    topics = broker.topics

    async def scenario() -> list[str]:
        # Mosquitto accepts the connection and drops the will; amqtt refuses the connection.
        connect_and_vanish(broker, "r0", topics.presence("r1"), PRESENCE_OFFLINE)
        assert connect_and_vanish(broker, "r0", topics.presence("r0"), PRESENCE_OFFLINE) == 0
        async with broker.url_for("gateway").client() as observer:
            await observer.subscribe(topics.presences(), qos=1)
            seen = await receive_until(observer, topics.presence("r0"))
            seen += await drain(observer, quiet_s=0.5)
        return sorted({message.topic.value for message in seen})

    assert run(scenario()) == [topics.presence("r0")]


# -- the process ----------------------------------------------------------------------------


def test_the_broker_files_are_private_and_stop_removes_the_process(tmp_path: Path) -> None:
    broker = choose_broker(COUNCIL_ID, Credentials.generate(SEATS), "auto", work_dir=tmp_path)
    run(broker.start())
    try:
        assert broker.running
        assert stat.S_IMODE(broker.directory.stat().st_mode) == 0o700
        for path in broker.directory.iterdir():
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
        assert broker.directory.is_relative_to(tmp_path)
    finally:
        run(broker.stop())
    assert not broker.running


def test_a_broker_without_a_work_dir_cleans_up_its_temporary_directory() -> None:
    broker = AmqttBroker(COUNCIL_ID, Credentials.generate(SEATS))
    run(broker.start())
    directory = broker.directory
    assert directory.is_dir()
    run(broker.stop())
    assert not directory.exists()


@needs_mosquitto
def test_mosquitto_accepts_password_hashes_written_without_mosquitto_passwd(
    tmp_path: Path,
) -> None:
    broker = MosquittoBroker(
        COUNCIL_ID, Credentials.generate(SEATS), work_dir=tmp_path, hash_passwords_with_tool=False
    )

    async def scenario() -> None:
        async with broker, broker.url_for("r0").client():
            pass
        assert not broker.running

    run(scenario())
    assert "$7$101$" in (tmp_path / "broker-mosquitto" / "passwd").read_text()


def test_auto_prefers_mosquitto_when_installed() -> None:
    chosen = choose_broker(COUNCIL_ID, Credentials.generate(SEATS), "auto")
    expected = MosquittoBroker if find_mosquitto() is not None else AmqttBroker
    assert type(chosen) is expected
    assert type(choose_broker(COUNCIL_ID, Credentials.generate(SEATS), "amqtt")) is AmqttBroker


def test_an_unknown_broker_kind_is_refused() -> None:
    with pytest.raises(BrokerError, match="unknown broker 'emqx'"):
        choose_broker(COUNCIL_ID, Credentials.generate(SEATS), "emqx")


def test_a_broker_that_cannot_start_says_why(tmp_path: Path) -> None:
    fake = tmp_path / "mosquitto"
    fake.write_text("#!/bin/sh\necho 'Error: no such option' >&2\nexit 3\n")
    fake.chmod(0o755)
    broker = MosquittoBroker(COUNCIL_ID, Credentials.generate(SEATS), binary=fake)
    with pytest.raises(BrokerError, match="exited during start-up:\nError: no such option"):
        run(broker.start())
    assert not broker.running


def test_stopping_twice_is_harmless(broker: BrokerProcess) -> None:
    run(broker.stop())
    run(broker.stop())
    assert not broker.running


@pytest.mark.skipif(sys.platform != "linux", reason="PR_SET_PDEATHSIG is Linux-only")
@pytest.mark.parametrize("kind", BROKER_KINDS)
def test_a_broker_does_not_outlive_a_supervisor_killed_outright(tmp_path: Path, kind: str) -> None:
    if kind == "mosquitto" and find_mosquitto() is None:
        pytest.skip("mosquitto not installed")
    supervisor_code = (
        "import asyncio, sys, time\n"
        "from pathlib import Path\n"
        "from council.live.broker import choose_broker\n"
        "from council.live.credentials import Credentials\n"
        "work_dir = Path(sys.argv[1])\n"
        f"broker = choose_broker('c', Credentials.generate(1), {kind!r}, work_dir=work_dir)\n"
        "asyncio.run(broker.start())\n"
        "print(broker.pid, flush=True)\n"
        "time.sleep(60)\n"
    )
    supervisor = subprocess.Popen(
        [sys.executable, "-c", supervisor_code, str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert supervisor.stdout is not None
        broker_pid = int(supervisor.stdout.readline())
        assert process_alive(broker_pid)
    finally:
        supervisor.kill()
        supervisor.wait()
    deadline = time.monotonic() + 10.0
    while process_alive(broker_pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not process_alive(broker_pid)
