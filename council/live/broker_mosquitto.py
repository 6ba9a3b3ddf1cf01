"""Mosquitto as the council's local broker: generated users, ACL and limits, run as a child.

The generated ``mosquitto.conf`` listens on one loopback port, admits only the principals of
:class:`~council.live.credentials.Credentials` (``allow_anonymous false``, a hashed
``password_file``), applies the ACL of :mod:`council.live.topics` (``acl_file``), keeps nothing
on disk (``persistence false``) and bounds what one client can make the broker hold.

Queue limits, sized for 33 agents all-to-all
--------------------------------------------
One PBFT instance at n = 33 makes each agent receive about 70 messages (a pre-prepare, 32
prepares, 33 commits, replies and checkpoints), ≈ 2,200 deliveries in all. At the ≈ 6
instances/s the council can reach on this machine, an agent is sent ≈ 400 messages/s. With 33
processes on two cores an agent is routinely descheduled for a while; a crashed one is noticed
only after 1.5 × its keep-alive. Mosquitto's defaults would drop messages then:

- ``max_queued_messages`` (default 1,000) caps, per client, the QoS 1 messages waiting behind
  the in-flight window *and* the packets waiting on a slow socket, above which even QoS 0
  messages are dropped. 1,000 is under 3 s at 400 messages/s; 100,000 rides out minutes.
  (Measured: 30,000 QoS 0 messages to a subscriber that reads only afterwards — 8,317 arrive
  with the default, all 30,000 with this setting.)
- ``max_queued_bytes`` bounds the same queue in bytes, so 36 stuck clients hold at most
  36 × 64 MiB, well inside this machine's memory.
- ``max_inflight_messages`` (default 20) is the QoS 1 window towards a client; 1,000 keeps a
  busy receiver's acknowledgements from throttling every sender.
- ``max_packet_size`` refuses (and disconnects) a client sending a packet over 64 MiB, above
  any honest message (a NEW-VIEW with full certificates), far below what would hurt the broker.
"""

from __future__ import annotations

import base64
import hashlib
import os
import pwd
import secrets
import shutil
import subprocess
from pathlib import Path
from typing import Final

from council.live.broker_process import LOOPBACK_HOST, BrokerError, BrokerProcess
from council.live.credentials import Credentials, write_private_file
from council.live.topics import mosquitto_acl

MOSQUITTO_SEARCH_PATH: Final = (Path("/usr/sbin/mosquitto"), Path("/usr/local/sbin/mosquitto"))

MAX_QUEUED_MESSAGES: Final = 100_000
MAX_QUEUED_BYTES: Final = 64 * 1024 * 1024
MAX_INFLIGHT_MESSAGES: Final = 1000
MESSAGE_SIZE_LIMIT_BYTES_DEFAULT: Final = 64 * 1024 * 1024

# Mosquitto 2's password hash: PBKDF2-SHA512, written as $7$<iterations>$<salt>$<hash>.
# 101 iterations is mosquitto_passwd's own default; our passwords are 192 random bits, so
# the iteration count does not carry their strength.
_PBKDF2_ITERATIONS: Final = 101
_PBKDF2_SALT_BYTES: Final = 12


def find_mosquitto() -> Path | None:
    """The ``mosquitto`` binary on PATH, else in an sbin directory that PATH may leave out."""
    found = shutil.which("mosquitto")
    if found:
        return Path(found)
    return next((path for path in MOSQUITTO_SEARCH_PATH if os.access(path, os.X_OK)), None)


def find_mosquitto_passwd(mosquitto: Path) -> Path | None:
    """``mosquitto_passwd`` on PATH, else next to ``mosquitto`` or in the usual bin directories."""
    found = shutil.which("mosquitto_passwd")
    if found:
        return Path(found)
    candidates = [mosquitto.with_name("mosquitto_passwd"), Path("/usr/bin/mosquitto_passwd")]
    return next((path for path in candidates if os.access(path, os.X_OK)), None)


def mosquitto_password_hash(password: str, *, salt: bytes | None = None) -> str:
    """``password`` hashed as Mosquitto 2 stores it in a ``password_file``."""
    salt = salt if salt is not None else secrets.token_bytes(_PBKDF2_SALT_BYTES)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, _PBKDF2_ITERATIONS)
    encoded_salt = base64.b64encode(salt).decode()
    return f"$7${_PBKDF2_ITERATIONS}${encoded_salt}${base64.b64encode(digest).decode()}"


def write_password_file(path: Path, credentials: Credentials, passwd_tool: Path | None) -> None:
    """Write ``path`` (0600) with every principal's hashed password.

    With ``mosquitto_passwd`` at hand, its ``-U`` hashes the file in place, so the format is
    always the installed Mosquitto's own; without it we write the PBKDF2 hashes ourselves.
    """
    if passwd_tool is None:
        lines = [
            f"{name}:{mosquitto_password_hash(credentials.password(name))}"
            for name in credentials.principals
        ]
        write_private_file(path, "\n".join(lines) + "\n")
        return
    # Plain text for an instant, in a 0600 file inside a 0700 directory; never on argv.
    plain = [f"{name}:{credentials.password(name)}" for name in credentials.principals]
    write_private_file(path, "\n".join(plain) + "\n")
    result = subprocess.run(
        [str(passwd_tool), "-U", str(path)], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        path.unlink(missing_ok=True)
        raise BrokerError(f"{passwd_tool} -U failed: {result.stderr.strip() or result.stdout}")


def mosquitto_config(directory: Path, host: str, port: int, message_size_limit_bytes: int) -> str:
    """The ``mosquitto.conf`` text for a broker whose files live in ``directory``."""
    lines = [
        "# Generated for one council run; see council/live/broker_mosquitto.py.",
        "per_listener_settings false",
        f"listener {port} {host}",
        "allow_anonymous false",
        f"password_file {directory / 'passwd'}",
        f"acl_file {directory / 'acl'}",
        "persistence false",
        # Run as whoever started us: as root, Mosquitto would otherwise switch to the
        # `mosquitto` user, which cannot read this private directory.
        f"user {pwd.getpwuid(os.getuid()).pw_name}",
        "log_dest stderr",
        "log_type error",
        "log_type warning",
        "log_type notice",
        "connection_messages true",
        "log_timestamp_format %Y-%m-%dT%H:%M:%S",
        # Protocol messages are small and latency-bound: do not let Nagle hold them back.
        "set_tcp_nodelay true",
        f"max_packet_size {message_size_limit_bytes}",
        f"max_inflight_messages {MAX_INFLIGHT_MESSAGES}",
        f"max_queued_messages {MAX_QUEUED_MESSAGES}",
        f"max_queued_bytes {MAX_QUEUED_BYTES}",
    ]
    return "\n".join(lines) + "\n"


class MosquittoBroker(BrokerProcess):
    """A private Mosquitto for one council: its users, its ACL, a free loopback port."""

    kind = "mosquitto"

    def __init__(
        self,
        council_id: str,
        credentials: Credentials,
        *,
        binary: Path | None = None,
        host: str = LOOPBACK_HOST,
        work_dir: Path | None = None,
        message_size_limit_bytes: int = MESSAGE_SIZE_LIMIT_BYTES_DEFAULT,
        hash_passwords_with_tool: bool = True,
    ) -> None:
        super().__init__(council_id, credentials, host=host, work_dir=work_dir)
        found = binary or find_mosquitto()
        if found is None:
            raise BrokerError("mosquitto was not found on PATH or in /usr/sbin, /usr/local/sbin")
        self.binary = found
        self.message_size_limit_bytes = message_size_limit_bytes
        self._passwd_tool = find_mosquitto_passwd(found) if hash_passwords_with_tool else None

    def _prepare(self, directory: Path, port: int) -> list[str]:
        write_password_file(directory / "passwd", self.credentials, self._passwd_tool)
        acl = mosquitto_acl(self.topics, self.credentials.principals)
        write_private_file(directory / "acl", acl)
        config = mosquitto_config(directory, self.host, port, self.message_size_limit_bytes)
        write_private_file(directory / "mosquitto.conf", config)
        return [str(self.binary), "-c", str(directory / "mosquitto.conf")]
