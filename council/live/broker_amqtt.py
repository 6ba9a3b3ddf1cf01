"""The embedded pure-Python broker (amqtt), for machines without Mosquitto; no root needed.

:class:`AmqttBroker` admits the same principals as the Mosquitto broker, with the same ACL
(see :mod:`council.live.broker_amqtt_server`), and runs amqtt as a child process
(``python -m council.live.broker_amqtt_server``) so the broker's event loop and the GIL are not
shared with the process that starts it.

What amqtt (0.12) cannot do that the Mosquitto broker does:

- no message size limit and no bound on a client's outgoing queue (the agents bound what they
  accept themselves);
- MQTT 3.1.1 only, and it refuses a subscription wider than the ACL instead of filtering it;
- a connecting client is sent the retained messages matching *any* client's subscriptions,
  without the read check. Harmless here because only ``presence/<principal>`` is retained and
  every principal may read it — nothing else in the council may be published retained;
- it spends ≈ 200–300 µs of CPU per delivered message where Mosquitto spends 4–8 µs, so its
  one core caps a council near 4,000 deliveries/s: fine for demos and tests, not for a load.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Final

from pwdlib.hashers.argon2 import Argon2Hasher

from council.live.broker_process import LOOPBACK_HOST, BrokerProcess
from council.live.credentials import Credentials, write_private_file

# amqtt's password plugin reads Argon2 (or legacy sha512-crypt) hashes. Our passwords are 192
# random bits, so a cheap Argon2 setting loses nothing, and keeps each CONNECT, which the
# broker verifies on its only event loop, at about a millisecond.
_ARGON2_TIME_COST: Final = 1
_ARGON2_MEMORY_KIB: Final = 8 * 1024


def write_amqtt_password_file(path: Path, credentials: Credentials) -> None:
    """Write ``path`` (0600): one ``principal:argon2-hash`` line per principal."""
    hasher = Argon2Hasher(time_cost=_ARGON2_TIME_COST, memory_cost=_ARGON2_MEMORY_KIB)
    lines = [f"{name}:{hasher.hash(credentials.password(name))}" for name in credentials.principals]
    write_private_file(path, "\n".join(lines) + "\n")


class AmqttBroker(BrokerProcess):
    """A private amqtt broker for one council: its users, its ACL, a free loopback port."""

    kind = "amqtt"

    def __init__(
        self,
        council_id: str,
        credentials: Credentials,
        *,
        host: str = LOOPBACK_HOST,
        work_dir: Path | None = None,
        python: Path | None = None,
    ) -> None:
        super().__init__(council_id, credentials, host=host, work_dir=work_dir)
        self.python = python or Path(sys.executable)

    def _prepare(self, directory: Path, port: int) -> list[str]:
        password_file = directory / "passwd"
        write_amqtt_password_file(password_file, self.credentials)
        settings = {
            "council_id": self.topics.council_id,
            "host": self.host,
            "port": port,
            "password_file": str(password_file),
            "parent_pid": os.getpid(),
        }
        settings_file = directory / "amqtt.json"
        write_private_file(settings_file, json.dumps(settings, indent=2) + "\n")
        return [str(self.python), "-m", "council.live.broker_amqtt_server", str(settings_file)]
