"""Errors raised by the crypto package.

Bad signatures are not errors: `Verifier.verify` answers False. These exceptions are for keys and
rosters that cannot be used at all.
"""


class CryptoError(Exception):
    """Base class for every error raised by this package."""


class InsecureKeyFileError(CryptoError):
    """A private key file is readable or writable by its group or by others."""


class KeyFormatError(CryptoError):
    """A key, key file or roster file does not have the expected form."""
