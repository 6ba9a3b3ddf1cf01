"""Ed25519 keys, the council roster, and domain-separated signing and verification."""

from crypto.backends import (
    BACKENDS,
    DEFAULT_BACKEND,
    PUBLIC_KEY_SIZE,
    SEED_SIZE,
    SIGNATURE_SIZE,
    Backend,
    CryptographyBackend,
    NaclBackend,
    get_backend,
)
from crypto.errors import CryptoError, InsecureKeyFileError, KeyFormatError
from crypto.keys import PrivateKey, load_private_key, save_private_key
from crypto.roster import Roster
from crypto.signing import DOMAIN, Signer, VerificationStats, Verifier, signing_bytes

__all__ = [
    "BACKENDS",
    "DEFAULT_BACKEND",
    "DOMAIN",
    "PUBLIC_KEY_SIZE",
    "SEED_SIZE",
    "SIGNATURE_SIZE",
    "Backend",
    "CryptoError",
    "CryptographyBackend",
    "InsecureKeyFileError",
    "KeyFormatError",
    "NaclBackend",
    "PrivateKey",
    "Roster",
    "Signer",
    "VerificationStats",
    "Verifier",
    "get_backend",
    "load_private_key",
    "save_private_key",
    "signing_bytes",
]
