"""What is signed, who signs it, and how signatures are checked.

Every signature covers the domain, the council id, the signer and the message kind as well as the
body, separated by NUL bytes:

    b"byzantine-council/v1" 0x00 council_id 0x00 principal 0x00 kind 0x00 body

so a signature cannot be replayed in another council, passed off as another principal's, or moved
to another kind of message. The body comes last and may hold any bytes; the other parts are UTF-8
text without NUL, which makes the layout unambiguous.

`Verifier.verify` is on the simulator's hot path (about 100k calls a second, most of them repeats:
a PREPARE is checked by every replica that receives it, and again inside certificates). Good
signatures are cached by the exact (principal, kind, body, signature) checked, so a repeat costs a
dict lookup, and anything else, a tampered body included, is checked afresh.
"""

from collections import OrderedDict
from dataclasses import dataclass
from typing import Final, TypeAlias

from crypto.backends import SIGNATURE_SIZE, Backend, get_backend
from crypto.keys import PrivateKey
from crypto.roster import Roster

DOMAIN: Final = b"byzantine-council/v1"
_SEPARATOR: Final = b"\x00"

_CacheKey: TypeAlias = tuple[str, str, bytes, bytes]


def signing_bytes(council_id: str, principal: str, kind: str, body: bytes) -> bytes:
    """The exact bytes signed by `principal` for a `kind` message with `body` in `council_id`.

    Raises ValueError when council_id, principal or kind contains NUL.
    """
    return _prefix(council_id, principal) + _kind_and_body(kind, body)


def _prefix(council_id: str, principal: str) -> bytes:
    _check_text("council_id", council_id)
    _check_text("principal", principal)
    return _SEPARATOR.join((DOMAIN, council_id.encode(), principal.encode(), b""))


def _kind_and_body(kind: str, body: bytes) -> bytes:
    _check_text("kind", kind)
    return kind.encode() + _SEPARATOR + body


def _check_text(field: str, value: str) -> None:
    if "\x00" in value:
        raise ValueError(f"{field} must not contain NUL: {value!r}")


class Signer:
    """Signs messages as one principal of one council."""

    __slots__ = ("_backend", "_prefix", "_signing_key", "council_id", "principal", "public_key")

    def __init__(
        self, council_id: str, principal: str, key: PrivateKey, backend: Backend | None = None
    ) -> None:
        self._backend = backend or get_backend()
        self._prefix = _prefix(council_id, principal)
        self._signing_key = self._backend.signing_key(key.seed)
        self.council_id = council_id
        self.principal = principal
        self.public_key = self._backend.public_key(key.seed)

    def sign(self, kind: str, body: bytes) -> bytes:
        """The 64-byte signature of `signing_bytes(council_id, principal, kind, body)`."""
        return self._backend.sign(self._signing_key, self._prefix + _kind_and_body(kind, body))

    def __repr__(self) -> str:
        return f"Signer(council_id={self.council_id!r}, principal={self.principal!r})"


@dataclass
class VerificationStats:
    """Counters of a Verifier.

    hits: answered True from the cache of good signatures, without a signature check.
    misses: signature checks run by the backend.
    failures: answered False, whatever the reason (non-member, malformed, bad signature).
    """

    hits: int = 0
    misses: int = 0
    failures: int = 0


class Verifier:
    """Checks signatures against a roster, caching the good ones.

    `verify` never raises on what a peer sent: a non-member, a malformed argument or a bad
    signature is False. Both caches are bounded and evict their oldest entry first.
    """

    __slots__ = (
        "_backend",
        "_members",
        "_rejected",
        "_verified",
        "cache_size_max",
        "rejected_cache_size_max",
        "roster",
        "stats",
    )

    def __init__(
        self,
        roster: Roster,
        backend: Backend | None = None,
        cache_size_max: int = 200_000,
        rejected_cache_size_max: int = 10_000,
    ) -> None:
        if cache_size_max < 0 or rejected_cache_size_max < 0:
            raise ValueError("cache sizes must not be negative")
        self.roster = roster
        self.cache_size_max = cache_size_max
        self.rejected_cache_size_max = rejected_cache_size_max
        self.stats = VerificationStats()
        self._backend = backend or get_backend()
        # principal -> (public key, signing_bytes prefix), so a check needs one lookup
        self._members: dict[str, tuple[bytes, bytes]] = {
            principal: (public_key, _prefix(roster.council_id, principal))
            for principal, public_key in roster.members.items()
        }
        self._verified: OrderedDict[_CacheKey, None] = OrderedDict()
        # Failed checks are remembered apart, so a replayed forgery costs a lookup, not a check.
        self._rejected: OrderedDict[_CacheKey, None] = OrderedDict()

    @property
    def backend(self) -> Backend:
        return self._backend

    def verify(self, principal: str, kind: str, body: bytes, signature: bytes) -> bool:
        """Whether `principal`, a roster member, signed (kind, body) in this council."""
        entry = (principal, kind, body, signature)
        try:
            if entry in self._verified:
                self.stats.hits += 1
                return True
        except TypeError:  # an unhashable argument
            self.stats.failures += 1
            return False
        return self._verify_uncached(entry)

    def _verify_uncached(self, entry: _CacheKey) -> bool:
        principal, kind, body, signature = entry
        member = self._members.get(principal)
        if (
            member is None
            or not isinstance(kind, str)
            or not isinstance(body, bytes)
            or not isinstance(signature, bytes)
            or len(signature) != SIGNATURE_SIZE
            or "\x00" in kind
            or entry in self._rejected
        ):
            self.stats.failures += 1
            return False
        public_key, prefix = member
        try:
            data = prefix + kind.encode() + _SEPARATOR + body
        except UnicodeEncodeError:
            self.stats.failures += 1
            return False
        self.stats.misses += 1
        if self._backend.verify(public_key, data, signature):
            _remember(self._verified, entry, self.cache_size_max)
            return True
        _remember(self._rejected, entry, self.rejected_cache_size_max)
        self.stats.failures += 1
        return False

    def __repr__(self) -> str:
        return (
            f"Verifier(council_id={self.roster.council_id!r}, members={len(self.roster)},"
            f" backend={self._backend.name!r})"
        )


def _remember(cache: OrderedDict[_CacheKey, None], entry: _CacheKey, size_max: int) -> None:
    if size_max == 0:
        return
    while len(cache) >= size_max:
        cache.popitem(last=False)
    cache[entry] = None
