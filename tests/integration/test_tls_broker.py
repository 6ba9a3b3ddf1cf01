"""The council's MQTT client code over TLS against a real Mosquitto, certificates verified.

The unit tests only parse ``mqtts://`` URLs. Here a throwaway certificate authority signs a
server certificate, a Mosquitto whose only listener speaks TLS runs with the council's own
configuration (hashed password file, ACL, queue limits from
:mod:`council.live.broker_mosquitto`), and clients made by :meth:`BrokerUrl.client` — a plain
client, four agent processes and the secretariat — connect to it, or must not when they
cannot trust it.
"""

from __future__ import annotations

import datetime
import secrets
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from ipaddress import IPv4Address
from pathlib import Path
from urllib.parse import quote

import aiomqtt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from council.commands.init import write_council
from council.live.broker_mosquitto import (
    MESSAGE_SIZE_LIMIT_BYTES_DEFAULT,
    find_mosquitto,
    find_mosquitto_passwd,
    mosquitto_config,
    write_password_file,
)
from council.live.broker_process import LOOPBACK_HOST, BrokerError, free_port
from council.live.connection import BrokerUrl
from council.live.council_dir import CouncilDir
from council.live.credentials import GATEWAY, SECRETARIAT, Credentials, write_private_file
from council.live.secretariat import Secretariat
from council.live.supervisor import Supervisor
from council.live.topics import CouncilTopics, mosquitto_acl
from tests.integration import live_support
from tests.integration.broker_support import payload_bytes, receive_until, run
from tests.integration.live_support import council_file

BROKER_READY_TIMEOUT_S = 15.0
BROKER_STOP_TIMEOUT_S = 5.0
# free_port() cannot reserve the port: another process may bind it before Mosquitto does.
BROKER_START_ATTEMPTS = 3
# A client that cannot verify the broker fails in the handshake; this only bounds a hang.
CONNECT_TIMEOUT_S = 5.0
VERIFY_FAILED = "CERTIFICATE_VERIFY_FAILED"
DECIDED_OUTCOMES = ("adopted", "rejected", "lapsed")


# -- a throwaway PKI --------------------------------------------------------------------------


@dataclass(frozen=True)
class Authority:
    """A certificate authority: its key signs, its PEM file is what a client trusts."""

    key: ec.EllipticCurvePrivateKey
    certificate: x509.Certificate
    path: Path


@dataclass(frozen=True)
class ServerIdentity:
    """What a TLS listener presents: a certificate chain and its private key, as files."""

    certificate_path: Path
    key_path: Path
    authority: Authority


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _validity() -> tuple[datetime.datetime, datetime.datetime]:
    now = datetime.datetime.now(datetime.UTC)
    # Back-dated a little, so a clock that differs by seconds between calls cannot matter.
    return now - datetime.timedelta(minutes=5), now + datetime.timedelta(days=1)


def new_authority(directory: Path, common_name: str) -> Authority:
    directory.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    not_before, not_after = _validity()
    certificate = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(_name(common_name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        # Strict X.509 checking (Python ≥ 3.13 asks OpenSSL for it) wants a CA's key usage.
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    path = directory / "ca.pem"
    path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return Authority(key, certificate, path)


def issue_server_identity(
    authority: Authority,
    directory: Path,
    *,
    host_names: Sequence[str],
    addresses: Sequence[IPv4Address],
) -> ServerIdentity:
    directory.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    not_before, not_after = _validity()
    alternative_names: list[x509.GeneralName] = [x509.DNSName(name) for name in host_names]
    alternative_names += [x509.IPAddress(address) for address in addresses]
    issuer_key_id = authority.certificate.extensions.get_extension_for_class(
        x509.SubjectKeyIdentifier
    ).value
    certificate = (
        x509.CertificateBuilder()
        .subject_name(_name(host_names[0] if host_names else str(addresses[0])))
        .issuer_name(authority.certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName(alternative_names), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(issuer_key_id),
            critical=False,
        )
        .sign(authority.key, hashes.SHA256())
    )
    certificate_path = directory / "server.pem"
    certificate_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path = directory / "server.key"
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    write_private_file(key_path, key_pem.decode())
    return ServerIdentity(certificate_path, key_path, authority)


@dataclass(frozen=True)
class Pki:
    """The broker's authority and identity, and an unrelated authority nobody should trust."""

    broker_identity: ServerIdentity
    stranger: Authority

    @property
    def authority(self) -> Authority:
        return self.broker_identity.authority


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    authority = new_authority(tmp_path / "pki", "Council Test CA")
    identity = issue_server_identity(
        authority,
        tmp_path / "pki",
        host_names=["localhost"],
        addresses=[IPv4Address(LOOPBACK_HOST)],
    )
    stranger = new_authority(tmp_path / "stranger-pki", "Unrelated CA")
    return Pki(identity, stranger)


# -- a TLS-only Mosquitto with the council's own configuration -----------------------------


@dataclass(frozen=True)
class TlsBroker:
    port: int
    topics: CouncilTopics
    credentials: Credentials

    def url(self, query: str = "", *, principal: str | None = None) -> BrokerUrl:
        """``mqtts://`` to this broker with the TLS options in ``query``, as a user writes it."""
        url = BrokerUrl.parse(f"mqtts://{LOOPBACK_HOST}:{self.port}{query}")
        if principal is None:
            return url
        return url.with_credentials(principal, self.credentials.password(principal))


def ca_query(authority: Authority) -> str:
    return f"?ca={quote(str(authority.path))}"


@contextmanager
def tls_mosquitto(
    directory: Path, council_id: str, credentials: Credentials, identity: ServerIdentity
) -> Iterator[TlsBroker]:
    """A Mosquitto configured as :class:`MosquittoBroker` configures one, except that its one
    listener speaks TLS only; stopped on exit however the test ends."""
    mosquitto = find_mosquitto()
    if mosquitto is None:
        pytest.skip("mosquitto is not installed (looked on PATH, /usr/sbin, /usr/local/sbin)")
    directory.mkdir(mode=0o700, parents=True)
    topics = CouncilTopics(council_id)
    write_password_file(directory / "passwd", credentials, find_mosquitto_passwd(mosquitto))
    write_private_file(directory / "acl", mosquitto_acl(topics, credentials.principals))
    for attempt in range(1, BROKER_START_ATTEMPTS + 1):
        port = free_port()
        config = mosquitto_config(
            directory, LOOPBACK_HOST, port, MESSAGE_SIZE_LIMIT_BYTES_DEFAULT
        ) + _tls_settings(identity)
        write_private_file(directory / "mosquitto.conf", config)
        try:
            process = _start(
                [str(mosquitto), "-c", str(directory / "mosquitto.conf")],
                directory / "broker.log",
                port,
                identity.authority,
            )
            break
        except BrokerError as error:
            if "Address already in use" not in str(error) or attempt == BROKER_START_ATTEMPTS:
                raise
    try:
        yield TlsBroker(port, topics, credentials)
    finally:
        _stop(process)


def _tls_settings(identity: ServerIdentity) -> str:
    # Listener settings: they bind to the `listener` line above, the config's only one.
    lines = [
        f"cafile {identity.authority.path}",
        f"certfile {identity.certificate_path}",
        f"keyfile {identity.key_path}",
    ]
    return "\n".join(lines) + "\n"


def _start(
    command: list[str], log_path: Path, port: int, authority: Authority
) -> subprocess.Popen[bytes]:
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
        )
    deadline = time.monotonic() + BROKER_READY_TIMEOUT_S
    while process.poll() is None and time.monotonic() < deadline:
        if _completes_tls_handshake(port, authority):
            return process
        time.sleep(0.05)
    exited = process.poll()
    _stop(process)
    why = f"exited with code {exited}" if exited is not None else "is still starting"
    raise BrokerError(
        f"mosquitto completed no TLS handshake on port {port} within "
        f"{BROKER_READY_TIMEOUT_S} s ({why}):\n{log_path.read_text(errors='replace')[-2000:]}"
    )


def _completes_tls_handshake(port: int, authority: Authority) -> bool:
    # Verifies the chain but not the name: readiness only, whatever name the broker claims.
    context = ssl.create_default_context(cafile=str(authority.path))
    context.check_hostname = False
    try:
        with (
            socket.create_connection((LOOPBACK_HOST, port), timeout=1.0) as connection,
            context.wrap_socket(connection),
        ):
            return True
    except OSError:
        return False


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(BROKER_STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture
def tls_broker(tmp_path: Path, pki: Pki) -> Iterator[TlsBroker]:
    with tls_mosquitto(
        tmp_path / "broker", "tls-check", Credentials.generate(1), pki.broker_identity
    ) as broker:
        yield broker


async def echo_over(url: BrokerUrl, topics: CouncilTopics) -> bytes:
    """Publish to our own presence topic and return what the broker delivers back to us."""
    assert url.username is not None
    topic = topics.presence(url.username)
    payload = f"tls check {secrets.token_hex(4)}".encode()
    async with url.client(identifier=f"tls-check-{secrets.token_hex(4)}") as client:
        await client.subscribe(topic, qos=1)
        await client.publish(topic, payload, qos=1)
        [message] = await receive_until(client, topic)
    assert payload_bytes(message) == payload
    return payload


async def connect_to(url: BrokerUrl) -> None:
    async with url.client(
        identifier=f"tls-check-{secrets.token_hex(4)}", timeout=CONNECT_TIMEOUT_S
    ):
        pass


# -- tests ------------------------------------------------------------------------------------


def test_a_client_trusting_the_brokers_ca_exchanges_messages_over_tls(
    tls_broker: TlsBroker, pki: Pki
) -> None:
    url = tls_broker.url(ca_query(pki.authority), principal=GATEWAY)
    assert url.tls is not None and url.tls.ca_file == pki.authority.path
    assert run(echo_over(url, tls_broker.topics)).startswith(b"tls check")


@pytest.mark.parametrize("trust", ["system trust store", "unrelated CA"])
def test_a_client_that_cannot_verify_the_broker_is_refused(
    tls_broker: TlsBroker, pki: Pki, trust: str
) -> None:
    query = "" if trust == "system trust store" else ca_query(pki.stranger)
    url = tls_broker.url(query, principal=GATEWAY)
    with pytest.raises(aiomqtt.MqttError, match=VERIFY_FAILED):
        run(connect_to(url))


def test_insecure_connects_without_trusting_the_broker(tls_broker: TlsBroker) -> None:
    url = tls_broker.url("?insecure=true", principal=GATEWAY)
    assert url.tls is not None and url.tls.ca_file is None
    assert run(echo_over(url, tls_broker.topics)).startswith(b"tls check")


def test_a_trusted_certificate_for_another_host_is_refused(tmp_path: Path, pki: Pki) -> None:
    """Chain verification alone is not enough: the certificate must also name the host."""
    elsewhere = issue_server_identity(
        pki.authority,
        tmp_path / "elsewhere",
        host_names=["broker.elsewhere.invalid"],
        addresses=[IPv4Address("192.0.2.7")],
    )
    credentials = Credentials.generate(1)
    with tls_mosquitto(tmp_path / "broker", "tls-check", credentials, elsewhere) as broker:
        with pytest.raises(aiomqtt.MqttError, match=f"{VERIFY_FAILED}.*mismatch"):
            run(connect_to(broker.url(ca_query(pki.authority), principal=GATEWAY)))
        run(connect_to(broker.url("?insecure=true", principal=GATEWAY)))


def test_a_four_seat_council_decides_a_motion_over_tls(tmp_path: Path, pki: Pki) -> None:
    """Four agent processes and the secretariat reach the broker only over TLS, verifying it
    against the CA named in the URL the supervisor hands the agents, and authenticate with
    the council's generated passwords under its ACL."""
    window_ms = 1_000
    write_council(council_file(seats=4, window_ms=window_ms), tmp_path / "council")
    directory = CouncilDir.load(tmp_path / "council")
    credentials = Credentials.generate(directory.council.n, clients=directory.council.secretariat)
    credentials_file = tmp_path / "credentials.json"
    credentials.save(credentials_file)

    async def scenario(broker: TlsBroker) -> str:
        url = broker.url(ca_query(pki.authority))
        supervisor = Supervisor(directory, url, credentials_file, restart=False)
        supervisor.start_all()
        try:
            clerk_url = url.with_credentials(SECRETARIAT, credentials.password(SECRETARIAT))
            async with Secretariat(directory, clerk_url) as clerk:
                try:
                    await clerk.submit_motion("TLS-1", "Encrypt the wire", "budget", timeout_s=30)
                    record = await clerk.decision("TLS-1", window_ms, timeout_s=30)
                except TimeoutError:
                    # An agent that cannot verify the broker only says so in its own log.
                    log = directory.agent_dir(1) / "agent.log"
                    tail = log.read_text(errors="replace")[-2000:]
                    pytest.fail(f"no decision over TLS; seat 1's log ends:\n{tail}")
            assert supervisor.alive() == [1, 2, 3, 4]
            return record.outcome
        finally:
            await supervisor.stop()

    with tls_mosquitto(
        tmp_path / "broker", directory.council_id, credentials, pki.broker_identity
    ) as broker:
        outcome = live_support.run(scenario(broker), timeout_s=60)
    assert outcome in DECIDED_OUTCOMES


def test_an_agent_that_cannot_trust_the_broker_says_so_and_exits(tmp_path: Path, pki: Pki) -> None:
    """Retrying would not mend a certificate: the agent exits 2 naming the TLS setting."""
    write_council(council_file(seats=4, window_ms=1_000), tmp_path / "council")
    directory = CouncilDir.load(tmp_path / "council")
    credentials = Credentials.generate(directory.council.n, clients=directory.council.secretariat)
    credentials_file = tmp_path / "credentials.json"
    credentials.save(credentials_file)
    with tls_mosquitto(
        tmp_path / "broker", directory.council_id, credentials, pki.broker_identity
    ) as broker:
        command = [
            sys.executable,
            *("-m", "council", "agent", "--seat", "1", "--council", str(directory.path)),
            *("--broker", broker.url(ca_query(pki.stranger)).render()),
            *("--credentials", str(credentials_file)),
        ]
        finished = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert finished.returncode == 2, finished.stderr
    assert "cannot trust" in finished.stderr and "ca=" in finished.stderr, finished.stderr
