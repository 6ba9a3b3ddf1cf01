import os
import stat
from pathlib import Path

import pytest

from crypto import (
    SEED_SIZE,
    InsecureKeyFileError,
    KeyFormatError,
    PrivateKey,
    load_private_key,
    save_private_key,
)


def file_mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_generated_keys_are_distinct() -> None:
    assert PrivateKey.generate() != PrivateKey.generate()


def test_seed_must_be_32_bytes() -> None:
    with pytest.raises(KeyFormatError):
        PrivateKey(b"\x00" * 31)
    with pytest.raises(KeyFormatError):
        PrivateKey.from_seed(b"\x00" * 33)
    with pytest.raises(KeyFormatError):
        PrivateKey.from_seed("00" * 32)  # type: ignore[arg-type]


def test_repr_does_not_leak_the_seed() -> None:
    key = PrivateKey.derive(1, "agent-00")
    assert key.seed.hex() not in repr(key)
    assert key.seed.hex() not in str(key)
    assert repr(key.seed) not in repr(key)


def test_derived_keys_are_deterministic() -> None:
    assert PrivateKey.derive(42, "agent-07") == PrivateKey.derive(42, "agent-07")
    assert PrivateKey.derive(b"master", "agent-07") == PrivateKey.derive(b"master", "agent-07")


def test_derived_keys_differ_by_label_and_master() -> None:
    seeds = {
        PrivateKey.derive(42, "agent-07").seed,
        PrivateKey.derive(42, "agent-08").seed,
        PrivateKey.derive(43, "agent-07").seed,
        PrivateKey.derive(b"42", "agent-07").seed,
        # "/" in a label cannot be confused with a different master/label split.
        PrivateKey.derive(b"a", "b/c").seed,
        PrivateKey.derive(b"a/b", "c").seed,
    }
    assert len(seeds) == 6


def test_derivation_matches_documented_formula() -> None:
    import hashlib

    expected = hashlib.sha256(b"byzantine-council/key/5/agent-01").digest()
    assert PrivateKey.derive(5, "agent-01").seed == expected


def test_derive_rejects_bool_master() -> None:
    with pytest.raises(TypeError):
        PrivateKey.derive(True, "agent-00")


def test_saved_key_has_mode_0600_and_loads_back(tmp_path: Path) -> None:
    key = PrivateKey.generate()
    path = tmp_path / "agent-00.key"
    save_private_key(key, path)
    assert file_mode(path) == 0o600
    assert path.read_text() == key.seed.hex() + "\n"
    assert load_private_key(path) == key


def test_saved_key_mode_ignores_a_permissive_umask(tmp_path: Path) -> None:
    previous = os.umask(0)
    try:
        save_private_key(PrivateKey.generate(), tmp_path / "k")
    finally:
        os.umask(previous)
    assert file_mode(tmp_path / "k") == 0o600


def test_save_refuses_to_overwrite(tmp_path: Path) -> None:
    path = tmp_path / "agent-00.key"
    first = PrivateKey.generate()
    save_private_key(first, path)
    with pytest.raises(FileExistsError):
        save_private_key(PrivateKey.generate(), path)
    assert load_private_key(path) == first


def test_save_overwrites_when_asked(tmp_path: Path) -> None:
    path = tmp_path / "agent-00.key"
    save_private_key(PrivateKey.generate(), path)
    second = PrivateKey.generate()
    save_private_key(second, path, overwrite=True)
    assert load_private_key(path) == second
    assert file_mode(path) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["agent-00.key"]


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660, 0o606])
def test_load_refuses_group_or_world_accessible_file(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "agent-00.key"
    save_private_key(PrivateKey.generate(), path)
    path.chmod(mode)
    with pytest.raises(InsecureKeyFileError, match="chmod 600"):
        load_private_key(path)


@pytest.mark.parametrize(
    "content",
    [b"", b"zz" * SEED_SIZE + b"\n", b"00" * 31 + b"\n", b"00" * 33 + b"\n", b"\xff" * 64],
)
def test_load_rejects_malformed_content_naming_the_file(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "broken.key"
    path.write_bytes(content)
    path.chmod(0o600)
    with pytest.raises(KeyFormatError, match=r"broken\.key"):
        load_private_key(path)


def test_load_accepts_content_without_final_newline(tmp_path: Path) -> None:
    key = PrivateKey.derive(3, "agent-03")
    path = tmp_path / "agent-03.key"
    path.write_text(key.seed.hex())
    path.chmod(0o600)
    assert load_private_key(path) == key


def test_public_key_is_32_bytes_and_backend_independent() -> None:
    from crypto import BACKENDS

    key = PrivateKey.derive(9, "agent-09")
    public_keys = {key.public_key(backend) for backend in BACKENDS.values()}
    assert len(public_keys) == 1
    assert len(key.public_key()) == 32
