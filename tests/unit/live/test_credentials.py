"""Broker credentials: one random password per principal, kept in a file only its owner reads."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from council.live.credentials import Credentials, CredentialsError


def test_every_seat_and_client_principal_gets_a_distinct_password() -> None:
    credentials = Credentials.generate(33)
    assert credentials.principals == (*(f"r{seat}" for seat in range(33)), "secretariat", "gateway")
    passwords = [credentials.password(name) for name in credentials.principals]
    assert len(set(passwords)) == len(passwords)
    assert all(len(password) >= 32 for password in passwords)


def test_further_client_principals_get_passwords_once_each() -> None:
    credentials = Credentials.generate(4, clients=("load-1", "secretariat", "load-2"))
    assert credentials.principals == (
        "r0",
        "r1",
        "r2",
        "r3",
        "secretariat",
        "gateway",
        "load-1",
        "load-2",
    )


def test_passwords_are_random_not_derived() -> None:
    assert Credentials.generate(4).password("r0") != Credentials.generate(4).password("r0")


def test_the_file_is_private_and_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "broker-credentials.json"
    credentials = Credentials.generate(4)
    credentials.save(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert Credentials.load(path) == credentials
    assert list(tmp_path.iterdir()) == [path]


def test_a_file_others_can_read_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "broker-credentials.json"
    Credentials.generate(4).save(path)
    path.chmod(0o644)
    with pytest.raises(CredentialsError, match="chmod 600"):
        Credentials.load(path)


@pytest.mark.parametrize(
    "document",
    ['{"passwords": {"r0": "x"}}', '{"format": "other", "passwords": {}}', "[]", "not json"],
)
def test_a_file_in_another_format_is_refused(tmp_path: Path, document: str) -> None:
    path = tmp_path / "broker-credentials.json"
    path.write_text(document)
    path.chmod(0o600)
    with pytest.raises(CredentialsError, match="not a broker credentials file"):
        Credentials.load(path)


def test_a_missing_file_is_reported(tmp_path: Path) -> None:
    with pytest.raises(CredentialsError, match="cannot read broker credentials"):
        Credentials.load(tmp_path / "absent.json")


def test_an_agent_gets_only_its_own_password() -> None:
    credentials = Credentials.generate(4)
    own = credentials.only("r2")
    assert own.principals == ("r2",)
    assert own.password("r2") == credentials.password("r2")
    with pytest.raises(CredentialsError, match="no broker credentials for principal 'r1'"):
        own.password("r1")


def test_repr_names_principals_but_no_password() -> None:
    credentials = Credentials.generate(1)
    assert credentials.password("r0") not in repr(credentials)
    assert "r0" in repr(credentials)


def test_the_saved_document_is_readable_json(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    Credentials({"r0": "pw"}).save(path)
    assert json.loads(path.read_text())["passwords"] == {"r0": "pw"}
