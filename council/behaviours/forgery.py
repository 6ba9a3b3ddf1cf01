"""Forgery: messages whose signature does not hold for what they claim.

A forger holds only its own key, so everything it forges fails signature verification at the
receiver's edge — which is the point: the test is that no verifier lets one through. Three ways:

- ``impersonate``: the envelope claims another seat as its sender, with the forger's signature;
- ``bad-signature``: the forger's own signature, but made over different bytes;
- ``tampered-body``: the body is changed after signing.

``mixed`` picks one of the three for each message.
"""

from __future__ import annotations

from typing import ClassVar

from consensus import Effect, Envelope, replica_principal
from council.behaviours.base import (
    ALWAYS,
    Behaviour,
    BehaviourContext,
    MessageEffect,
    Node,
    Window,
    with_envelope,
)

FORGERIES = ("impersonate", "bad-signature", "tampered-body")
FORGE_MODES = (*FORGERIES, "mixed")


def tampered_body(envelope: Envelope) -> Envelope:
    """The same envelope with one character of its body changed: its signature no longer holds."""
    body = envelope.body
    position = len(body) // 2
    replacement = "0" if body[position] != "0" else "1"
    return Envelope(
        sender=envelope.sender,
        kind=envelope.kind,
        body=body[:position] + replacement + body[position + 1 :],
        signature=envelope.signature,
    )


def _envelope(
    envelope: Envelope, *, sender: str | None = None, signature: str | None = None
) -> Envelope:
    """A new envelope object (never a copy: a copy would share the original's memo of a good
    verdict) with the sender or the signature replaced."""
    return Envelope(
        attachment=envelope.attachment,
        body=envelope.body,
        kind=envelope.kind,
        sender=envelope.sender if sender is None else sender,
        signature=envelope.signature if signature is None else signature,
    )


class Forge(Behaviour):
    """Replaces every message it sends in the window by a forgery (see the module doc)."""

    kind: ClassVar[str] = "forge"

    def __init__(
        self,
        inner: Node,
        context: BehaviourContext,
        window: Window = ALWAYS,
        *,
        mode: str = "mixed",
    ) -> None:
        super().__init__(inner, context, window)
        if mode not in FORGE_MODES:
            raise ValueError(f"forge: mode must be one of {FORGE_MODES}, got {mode!r}")
        self.mode = mode

    def rewrite(self, effect: MessageEffect) -> list[Effect]:
        return [with_envelope(effect, self.forged(effect.envelope))]

    def forged(self, envelope: Envelope) -> Envelope:
        rng = self.context.rng
        mode = self.mode if self.mode != "mixed" else rng.choice(FORGERIES)
        if mode == "impersonate":
            victim = rng.choice(self.context.others)
            return _envelope(envelope, sender=replica_principal(victim))
        if mode == "bad-signature":
            other_bytes = (envelope.body + " ").encode()
            signature = self.context.signer.sign(envelope.kind, other_bytes)
            return _envelope(envelope, signature=signature.hex())
        return tampered_body(envelope)
