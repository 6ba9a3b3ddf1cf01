"""Broker usernames and passwords: one per seat, one for the secretariat, one for the gateway.

The broker username is the principal's roster name, so the ACL in :mod:`council.live.topics`
can tie every topic's sender to the connection that published it. Passwords are random
(``secrets``), stored in a JSON file readable by its owner only (0600), and never shown by
``repr``. An agent process needs only its own entry: :meth:`Credentials.only` cuts it out.
"""

from __future__ import annotations

import json
import os
import secrets
import stat
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from consensus.messages import replica_principal
from council.live.topics import check_name

SECRETARIAT: Final = "secretariat"
#: The HTTP front door and read-only observers: submits requests, watches events and presence.
GATEWAY: Final = "gateway"
CLIENT_PRINCIPALS: Final = (SECRETARIAT, GATEWAY)

CREDENTIALS_FORMAT: Final = "byzantine-council/broker-credentials/1"
# 24 random bytes; URL-safe base64, so a password can sit in an mqtt:// URL unescaped.
PASSWORD_BYTES: Final = 24


class CredentialsError(Exception):
    """A credentials file is missing, malformed, too widely readable, or lacks a principal."""


def seat_principals(seat_count: int) -> tuple[str, ...]:
    """``r0`` … ``r{seat_count-1}``: the roster names under which the seats sign."""
    if seat_count < 1:
        raise ValueError(f"a council needs at least one seat, not {seat_count}")
    return tuple(replica_principal(seat) for seat in range(seat_count))


@dataclass(frozen=True)
class Credentials:
    """A password for every principal allowed on the council's broker."""

    passwords: Mapping[str, str] = field(repr=False)

    def __post_init__(self) -> None:
        for principal, password in self.passwords.items():
            check_name(principal, "principal")
            if not password:
                raise CredentialsError(f"principal {principal!r} has an empty password")

    def __repr__(self) -> str:
        return f"Credentials(principals={list(self.passwords)!r})"

    @classmethod
    def generate(cls, seat_count: int, clients: Sequence[str] = ()) -> Credentials:
        """Fresh random passwords for ``seat_count`` seats and the client principals, plus
        ``clients`` (further secretariat principals the council file names)."""
        principals = dict.fromkeys((*seat_principals(seat_count), *CLIENT_PRINCIPALS, *clients))
        return cls({name: secrets.token_urlsafe(PASSWORD_BYTES) for name in principals})

    @property
    def principals(self) -> tuple[str, ...]:
        return tuple(self.passwords)

    def password(self, principal: str) -> str:
        try:
            return self.passwords[principal]
        except KeyError:
            raise CredentialsError(f"no broker credentials for principal {principal!r}") from None

    def only(self, principal: str) -> Credentials:
        """The credentials of ``principal`` alone, for the process that acts as it."""
        return Credentials({principal: self.password(principal)})

    def save(self, path: Path) -> None:
        """Write the credentials to ``path`` with mode 0600, replacing it atomically."""
        document = {"format": CREDENTIALS_FORMAT, "passwords": dict(self.passwords)}
        write_private_file(path, json.dumps(document, indent=2, sort_keys=True) + "\n")

    @classmethod
    def load(cls, path: Path) -> Credentials:
        """Read a file written by :meth:`save`; refuse one that others may read."""
        try:
            mode = path.stat().st_mode
            text = path.read_text(encoding="utf-8")
        except OSError as error:
            raise CredentialsError(f"cannot read broker credentials {path}: {error}") from error
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise CredentialsError(
                f"broker credentials {path} are open to other users "
                f"(mode {stat.S_IMODE(mode):o}); run: chmod 600 {path}"
            )
        try:
            document = json.loads(text)
            passwords = document["passwords"]
            valid = document["format"] == CREDENTIALS_FORMAT and isinstance(passwords, dict)
        except (ValueError, KeyError, TypeError):
            valid = False
        if not valid or not all(isinstance(value, str) for value in passwords.values()):
            raise CredentialsError(f"{path} is not a broker credentials file")
        return cls(dict(passwords))


def write_private_file(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` as 0600 from the first byte, then rename it into place."""
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
