"""What the local brokers are configured with: hashes Mosquitto reads, limits, no anonymity."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

from council.live.broker_amqtt_server import broker_config
from council.live.broker_mosquitto import (
    MAX_QUEUED_MESSAGES,
    mosquitto_config,
    mosquitto_password_hash,
    write_password_file,
)
from council.live.credentials import Credentials


def test_the_password_hash_is_mosquittos_pbkdf2_sha512_format() -> None:
    salt = bytes(range(12))
    encoded = mosquitto_password_hash("s3cret", salt=salt)
    marker, algorithm, iterations, salt_b64, digest_b64 = encoded.split("$")
    assert (marker, algorithm, iterations) == ("", "7", "101")
    assert base64.b64decode(salt_b64) == salt
    expected = hashlib.pbkdf2_hmac("sha512", b"s3cret", salt, 101)
    assert base64.b64decode(digest_b64) == expected


def test_without_mosquitto_passwd_the_password_file_holds_hashes_only(tmp_path: Path) -> None:
    credentials = Credentials.generate(2)
    write_password_file(tmp_path / "passwd", credentials, passwd_tool=None)
    text = (tmp_path / "passwd").read_text()
    assert [line.split(":")[0] for line in text.splitlines()] == list(credentials.principals)
    assert all(credentials.password(name) not in text for name in credentials.principals)


def test_the_mosquitto_config_admits_no_anonymous_client_and_bounds_queues(
    tmp_path: Path,
) -> None:
    lines = mosquitto_config(tmp_path, "127.0.0.1", 28831, 1024).splitlines()
    assert "listener 28831 127.0.0.1" in lines
    assert "allow_anonymous false" in lines
    assert f"password_file {tmp_path / 'passwd'}" in lines
    assert f"acl_file {tmp_path / 'acl'}" in lines
    assert "persistence false" in lines
    assert "max_packet_size 1024" in lines
    assert f"max_queued_messages {MAX_QUEUED_MESSAGES}" in lines


def test_the_amqtt_config_uses_the_password_file_and_the_council_acl() -> None:
    config = broker_config(
        {"council_id": "c", "host": "127.0.0.1", "port": 28832, "password_file": "/p"}
    )
    assert config["listeners"]["default"]["bind"] == "127.0.0.1:28832"
    plugins = config["plugins"]
    assert plugins["amqtt.plugins.authentication.FileAuthPlugin"] == {"password_file": "/p"}
    assert plugins["council.live.broker_amqtt_server.CouncilTopicAcl"] == {"council_id": "c"}
    assert plugins["council.live.broker_amqtt_server.CouncilWillCheck"] == {"council_id": "c"}
    assert not any("Anonymous" in name for name in plugins)
