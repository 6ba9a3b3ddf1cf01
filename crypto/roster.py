"""The council roster: which principals exist and the Ed25519 public key of each.

A roster file is JSON, `{"council_id": ..., "members": {principal: hex public key}}`, written with
sorted keys so that it diffs cleanly and hashes the same on every machine.
"""

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final

from crypto.backends import PUBLIC_KEY_SIZE
from crypto.errors import KeyFormatError

_FIELDS: Final = ("council_id", "members")


@dataclass(frozen=True)
class Roster:
    """An immutable map from principal id to 32-byte Ed25519 public key, for one council."""

    council_id: str
    members: Mapping[str, bytes]

    def __post_init__(self) -> None:
        _check_name("council_id", self.council_id)
        for principal, public_key in self.members.items():
            _check_name(f"members[{principal!r}]", principal)
            if not isinstance(public_key, bytes) or len(public_key) != PUBLIC_KEY_SIZE:
                raise ValueError(f"members[{principal!r}]: a public key is {PUBLIC_KEY_SIZE} bytes")
        # A private sorted copy behind a read-only view: the caller's mapping may change.
        members = dict(sorted(self.members.items()))
        object.__setattr__(self, "members", MappingProxyType(members))

    def public_key(self, principal: str) -> bytes | None:
        """The public key of `principal`, or None when it is not a member."""
        return self.members.get(principal)

    def __contains__(self, principal: object) -> bool:
        return principal in self.members

    def __iter__(self) -> Iterator[str]:
        """The principals, in sorted order."""
        return iter(self.members)

    def __len__(self) -> int:
        return len(self.members)

    def __hash__(self) -> int:
        return hash((self.council_id, tuple(self.members.items())))

    def with_members(self, extra: Mapping[str, bytes]) -> "Roster":
        """A roster that also holds `extra`; re-adding a member with another key is a ValueError."""
        for principal, public_key in extra.items():
            known = self.members.get(principal)
            if known is not None and known != public_key:
                raise ValueError(f"{principal!r} is already a member with another public key")
        return Roster(self.council_id, {**self.members, **extra})

    def to_json(self) -> str:
        """The canonical file form: sorted, indented JSON with a final newline."""
        document = {
            "council_id": self.council_id,
            "members": {principal: key.hex() for principal, key in self.members.items()},
        }
        return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"

    def save(self, path: Path) -> None:
        """Write the roster to `path` (UTF-8 JSON)."""
        Path(path).write_text(self.to_json(), encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> "Roster":
        """Read a roster file; KeyFormatError names the file and the offending field."""
        path = Path(path)
        try:
            document = json.loads(path.read_bytes())
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise KeyFormatError(f"{path}: not a JSON document: {error}") from None
        return cls._from_document(path, document)

    @classmethod
    def _from_document(cls, path: Path, document: Any) -> "Roster":
        if not isinstance(document, dict):
            raise KeyFormatError(f"{path}: expected a JSON object with fields {_FIELDS}")
        for field in _FIELDS:
            if field not in document:
                raise KeyFormatError(f"{path}: {field}: missing")
        unexpected = sorted(set(document) - set(_FIELDS))
        if unexpected:
            raise KeyFormatError(f"{path}: {unexpected[0]}: unexpected field")
        council_id = document["council_id"]
        if not isinstance(council_id, str):
            raise KeyFormatError(f"{path}: council_id: expected a string")
        raw_members = document["members"]
        if not isinstance(raw_members, dict):
            raise KeyFormatError(f"{path}: members: expected an object of principal to hex key")
        members = {
            principal: _parse_public_key(path, f"members[{principal!r}]", hex_key)
            for principal, hex_key in raw_members.items()
        }
        try:
            return cls(council_id, members)
        except ValueError as error:
            raise KeyFormatError(f"{path}: {error}") from None


def _parse_public_key(path: Path, field: str, hex_key: object) -> bytes:
    expected = f"expected {2 * PUBLIC_KEY_SIZE} hex characters (an Ed25519 public key)"
    if not isinstance(hex_key, str) or len(hex_key) != 2 * PUBLIC_KEY_SIZE:
        raise KeyFormatError(f"{path}: {field}: {expected}")
    try:
        return bytes.fromhex(hex_key)
    except ValueError:
        raise KeyFormatError(f"{path}: {field}: {expected}") from None


def _check_name(field: str, value: object) -> None:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{field}: expected a non-empty string")
    if "\x00" in value:
        raise ValueError(f"{field}: must not contain NUL")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(f"{field}: not encodable as UTF-8") from None
