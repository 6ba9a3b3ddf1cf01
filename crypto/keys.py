"""Ed25519 private keys: generation, deterministic derivation, and key files.

A key file holds the 32-byte seed as 64 hex characters and a newline. It is created with mode
0600 and refused on load when its group or others have any access to it, as ssh does.
"""

import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from crypto.backends import SEED_SIZE, Backend, get_backend
from crypto.errors import InsecureKeyFileError, KeyFormatError

KEY_FILE_MODE: Final = 0o600
DERIVATION_PREFIX: Final = b"byzantine-council/key/"
_KEY_FILE_SIZE_MAX: Final = 4096


@dataclass(frozen=True, repr=False)
class PrivateKey:
    """An Ed25519 private key, held as its 32-byte seed."""

    seed: bytes

    def __post_init__(self) -> None:
        if not isinstance(self.seed, bytes):
            raise KeyFormatError(f"a private key seed is bytes, not {type(self.seed).__name__}")
        if len(self.seed) != SEED_SIZE:
            raise KeyFormatError(
                f"a private key seed is {SEED_SIZE} bytes, not {len(self.seed)} bytes"
            )

    @classmethod
    def generate(cls) -> "PrivateKey":
        """A fresh key from the operating system's random source."""
        return cls(os.urandom(SEED_SIZE))

    @classmethod
    def from_seed(cls, seed: bytes) -> "PrivateKey":
        """The key with this 32-byte seed."""
        return cls(seed)

    @classmethod
    def derive(cls, master_seed: int | bytes, label: str) -> "PrivateKey":
        """A key determined by a master seed and a label, for simulations and tests.

        seed = sha256(b"byzantine-council/key/" + master + b"/" + label.encode("utf-8")), where
        master is the decimal form of an int master seed, or "0x" and the hex form of a bytes
        one; neither contains "/", so distinct (master, label) pairs give distinct inputs.
        Never use derived keys for a council that protects anything real.
        """
        if isinstance(master_seed, bool) or not isinstance(master_seed, int | bytes):
            raise TypeError(f"master seed is an int or bytes, not {type(master_seed).__name__}")
        if isinstance(master_seed, int):
            master = str(master_seed).encode("ascii")
        else:
            master = b"0x" + master_seed.hex().encode("ascii")
        material = DERIVATION_PREFIX + master + b"/" + label.encode("utf-8")
        return cls(hashlib.sha256(material).digest())

    def public_key(self, backend: Backend | None = None) -> bytes:
        """The 32-byte Ed25519 public key."""
        return (backend or get_backend()).public_key(self.seed)

    def __repr__(self) -> str:
        return "PrivateKey(seed=<redacted>)"


def save_private_key(key: PrivateKey, path: Path, *, overwrite: bool = False) -> None:
    """Write `key` to `path` with mode 0600.

    Without `overwrite`, an existing file is never touched (FileExistsError). With it, the new
    file is written beside the old one and renamed over it, so a crash leaves one or the other.
    """
    path = Path(path)
    content = (key.seed.hex() + "\n").encode("ascii")
    if not overwrite:
        _write_new_file(path, content)
    else:
        temporary = path.with_name(f".{path.name}.{os.urandom(6).hex()}.tmp")
        _write_new_file(temporary, content)
        try:
            os.replace(temporary, path)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
    _fsync_directory(path.parent)


def load_private_key(path: Path) -> PrivateKey:
    """Read a key written by `save_private_key`.

    Raises InsecureKeyFileError when group or others have any access to the file, and
    KeyFormatError, naming the file, when it does not hold 64 hex characters.
    """
    path = Path(path)
    fd = os.open(path, os.O_RDONLY)
    with os.fdopen(fd, "rb") as key_file:
        # Check the opened file, not the name, so the mode checked is the mode of what is read.
        mode = os.fstat(key_file.fileno()).st_mode
        if not stat.S_ISREG(mode):
            raise KeyFormatError(f"{path}: not a regular file")
        if mode & 0o077:
            raise InsecureKeyFileError(
                f"{path}: key file mode is {stat.S_IMODE(mode):#o}, group or others can access"
                f" it; restrict it with `chmod 600 {path}`"
            )
        content = key_file.read(_KEY_FILE_SIZE_MAX + 1)
    return PrivateKey(_parse_seed(path, content))


def _parse_seed(path: Path, content: bytes) -> bytes:
    if len(content) > _KEY_FILE_SIZE_MAX:
        raise KeyFormatError(f"{path}: too large for a key file")
    try:
        text = content.decode("ascii").strip()
    except UnicodeDecodeError:
        raise KeyFormatError(f"{path}: expected {2 * SEED_SIZE} hex characters") from None
    if len(text) != 2 * SEED_SIZE:
        raise KeyFormatError(
            f"{path}: expected {2 * SEED_SIZE} hex characters, found {len(text)} characters"
        )
    try:
        return bytes.fromhex(text)
    except ValueError:
        raise KeyFormatError(f"{path}: expected {2 * SEED_SIZE} hex characters") from None


def _write_new_file(path: Path, content: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, KEY_FILE_MODE)
    try:
        os.fchmod(fd, KEY_FILE_MODE)  # the umask may have narrowed the mode given to open
        view = memoryview(content)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        path.unlink(missing_ok=True)
        raise
    os.close(fd)


def _fsync_directory(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return  # not every platform lets a directory be opened; the rename is still atomic
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
