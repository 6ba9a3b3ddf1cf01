"""Signature checks for envelopes, at the edge and for proofs nested inside messages.

The shell verifies every envelope it receives before ``Replica.receive``; the replica uses the
same :class:`EnvelopeVerifier` for envelopes nested in certificates (VIEW-CHANGE's P and C,
NEW-VIEW's V and O, state-transfer certificates) — never trusting them because the outer
envelope was signed. A successful check is memoised on the envelope object, and the crypto
layer caches by content, so a certificate repeated in many messages is verified once.
"""

from __future__ import annotations

from typing import Protocol, TypeVar

from consensus.messages import Envelope, MalformedMessage, Message, decode

M = TypeVar("M")


class SignatureVerifier(Protocol):
    """What the core needs from ``crypto.Verifier``."""

    def verify(self, principal: str, kind: str, body: bytes, signature: bytes) -> bool: ...


class EnvelopeVerifier:
    """Verifies and decodes envelopes; counts rejections by reason."""

    def __init__(self, signatures: SignatureVerifier) -> None:
        self._signatures = signatures
        self.rejected: dict[str, int] = {}

    def _reject(self, reason: str) -> None:
        self.rejected[reason] = self.rejected.get(reason, 0) + 1

    def verify(self, envelope: Envelope) -> bool:
        """True when ``envelope`` carries a valid signature by its sender."""
        memo = envelope.memo
        verdict = memo.get("verdict")
        if verdict is not None and verdict[0] is self:
            if not verdict[1]:
                self._reject("bad-signature")
            return bool(verdict[1])
        try:
            signature = bytes.fromhex(envelope.signature)
        except ValueError:
            self._reject("bad-signature")
            return False
        valid = self._signatures.verify(
            envelope.sender, envelope.kind, envelope.body.encode(), signature
        )
        # Either verdict is a fact about these exact bytes: a forged broadcast is checked once.
        memo["verdict"] = (self, valid)
        if not valid:
            self._reject("bad-signature")
        return valid

    def open(self, envelope: Envelope) -> Message | None:
        """The decoded message if ``envelope`` is signed and well formed, else ``None``."""
        if not self.verify(envelope):
            return None
        try:
            return decode(envelope)
        except MalformedMessage:
            self._reject("malformed")
            return None

    def open_as(self, envelope: Envelope, kind: type[M]) -> M | None:
        """Like :meth:`open`, but also ``None`` unless the message is a ``kind``."""
        message = self.open(envelope)
        if not isinstance(message, kind):
            if message is not None:
                self._reject("unexpected-kind")
            return None
        return message
