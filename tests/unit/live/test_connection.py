"""Broker URLs: what parses, what is refused and why, and what never shows a password."""

from __future__ import annotations

from pathlib import Path

import pytest

from council.live.connection import (
    MQTT_PORT,
    MQTTS_PORT,
    BrokerUrl,
    BrokerUrlError,
    TlsOptions,
    presence_will,
)
from council.live.topics import PRESENCE_OFFLINE, CouncilTopics


def test_a_plain_url_gives_host_port_and_credentials() -> None:
    url = BrokerUrl.parse("mqtt://r7:s3cret@broker.example:1884")
    assert url == BrokerUrl("broker.example", 1884, "r7", "s3cret", tls=None)
    assert url.scheme == "mqtt"


def test_default_ports_follow_the_scheme() -> None:
    assert BrokerUrl.parse("mqtt://localhost").port == MQTT_PORT
    assert BrokerUrl.parse("mqtts://localhost").port == MQTTS_PORT


def test_percent_encoded_credentials_are_decoded() -> None:
    url = BrokerUrl.parse("mqtt://r%2F7:p%40ss%3Aword@127.0.0.1:28830")
    assert (url.username, url.password) == ("r/7", "p@ss:word")


def test_an_ipv6_host_round_trips() -> None:
    url = BrokerUrl.parse("mqtt://[::1]:28830")
    assert url.host == "::1"
    assert BrokerUrl.parse(url.render()) == url


def test_tls_options_come_from_the_query() -> None:
    url = BrokerUrl.parse("mqtts://r7:pw@broker:8883?ca=/etc/ca.pem&cert=r7.pem&key=r7.key")
    assert url.tls == TlsOptions(Path("/etc/ca.pem"), Path("r7.pem"), Path("r7.key"), False)
    assert BrokerUrl.parse("mqtts://broker?insecure=true").tls == TlsOptions(insecure=True)
    assert BrokerUrl.parse("mqtts://broker").tls == TlsOptions()


def test_the_password_is_hidden_unless_asked_for() -> None:
    url = BrokerUrl.parse("mqtts://r7:s3cret@broker:8883?ca=ca.pem")
    assert "s3cret" not in str(url)
    assert "s3cret" not in repr(url)
    assert str(url) == "mqtts://r7:***@broker:8883?ca=ca.pem"
    assert BrokerUrl.parse(url.render(reveal_password=True)) == url


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty broker URL"),
        ("broker:28830", "has scheme"),
        ("tcp://broker:28830", "use mqtt:// or mqtts://"),
        ("mqtt://", "names no host"),
        ("mqtt://broker:port", "not a number in 1-65535"),
        ("mqtt://broker:70000", "not a number in 1-65535"),
        ("mqtt://broker:0", "port 0"),
        ("mqtt://broker:28830/topic", "path or fragment"),
        ("mqtt://:pw@broker", "password but no user name"),
        ("mqtt://broker?ca=ca.pem", "need the mqtts:// scheme"),
        ("mqtts://broker?cafile=ca.pem", "unknown option 'cafile'"),
        ("mqtts://broker?ca=a.pem&ca=b.pem", "gives 'ca' twice"),
        ("mqtts://broker?ca=", "gives 'ca' no value"),
        ("mqtts://broker?key=r7.key", "client key but no client cert"),
        ("mqtts://broker?insecure=maybe", "is not true or false"),
        ("mqtts://broker?ca", "malformed query"),
    ],
)
def test_a_bad_url_is_refused_with_the_reason(text: str, reason: str) -> None:
    with pytest.raises(BrokerUrlError, match=reason):
        BrokerUrl.parse(text)


def test_an_error_message_never_shows_the_password() -> None:
    with pytest.raises(BrokerUrlError) as refused:
        BrokerUrl.parse("mqtt://r7:s3cret@broker:notaport")
    assert "s3cret" not in str(refused.value)
    assert "r7:***@broker" in str(refused.value)


def test_a_missing_tls_file_is_reported_when_the_context_is_made(tmp_path: Path) -> None:
    options = TlsOptions(ca_file=tmp_path / "missing.pem")
    with pytest.raises(BrokerUrlError, match="cannot load TLS files"):
        options.ssl_context()


def test_insecure_tls_skips_certificate_checks() -> None:
    context = TlsOptions(insecure=True).ssl_context()
    assert not context.check_hostname
    assert context.verify_mode.name == "CERT_NONE"
    assert TlsOptions().ssl_context().check_hostname


def test_the_presence_will_is_a_retained_offline_on_the_principals_own_topic() -> None:
    will = presence_will(CouncilTopics("c"), "r7")
    assert (will.topic, will.payload, will.qos, will.retain) == (
        "council/c/presence/r7",
        PRESENCE_OFFLINE,
        1,
        True,
    )
