"""Equivocation: telling two halves of the council two different things under one signature.

As primary, the seat shows half the backups its batch and the other half a different valid
batch for the same sequence number; as a backup, it sends conflicting PREPAREs and COMMITs.
A correct replica that ends up holding both versions (a retransmitted pre-prepare, a vote in a
certificate) has signed proof of the lie and reports it as ``Evidence``.
"""

from __future__ import annotations

import hashlib
from typing import ClassVar

from consensus import Broadcast, Effect, Envelope, Send, replica_principal, seal
from consensus.messages import Commit, Prepare, PrePrepare, batch_digest
from council.behaviours.base import Behaviour, MessageEffect, decoded
from crypto import Signer


def other_digest(digest: str) -> str:
    """A well-formed digest that differs from ``digest`` (and names nothing)."""
    return hashlib.sha256(("equivocation/" + digest).encode()).hexdigest()


def variant_batch(requests: tuple[Envelope, ...]) -> tuple[Envelope, ...]:
    """A different, still valid, batch: reversed, or one request fewer."""
    if len(requests) >= 2:
        return tuple(reversed(requests))
    return requests[:-1]


def equivocating_sends(envelope: Envelope, signer: Signer, n: int, sender: int) -> list[Effect]:
    """Replace a broadcast of ``envelope`` by sends of it to even replicas and of a conflicting
    twin to odd ones; messages that are not PRE-PREPARE, PREPARE or COMMIT stay a broadcast."""
    message = decoded(envelope)
    other: PrePrepare | Prepare | Commit
    attachment: tuple[Envelope, ...] = ()
    if isinstance(message, PrePrepare):
        attachment = variant_batch(envelope.attachment)
        other = message.model_copy(update={"digest": batch_digest(attachment)})
    elif isinstance(message, Prepare | Commit):
        other = message.model_copy(update={"digest": other_digest(message.digest)})
    else:  # another kind, or mangled by a behaviour nested inside this one
        return [Broadcast(envelope)]
    twin = seal(signer, other, attachment)
    effects: list[Effect] = []
    for target in range(n):
        if target != sender:
            chosen = envelope if target % 2 == 0 else twin
            effects.append(Send(replica_principal(target), chosen))
    return effects


class Equivocate(Behaviour):
    """Every broadcast pre-prepare, prepare and commit goes out in two conflicting versions."""

    kind: ClassVar[str] = "equivocate"

    def rewrite(self, effect: MessageEffect) -> list[Effect]:
        context = self.context
        envelope = effect.envelope
        if envelope.sender != context.signer.principal:
            return [effect]  # a relaying primary passing on others' votes: not its to twist
        own_vote = isinstance(effect, Send) and isinstance(decoded(envelope), Prepare | Commit)
        if not isinstance(effect, Broadcast) and not own_vote:
            return [effect]
        # A vote meant for a relaying primary alone is told to the two halves all the same.
        return equivocating_sends(envelope, context.signer, context.n, context.replica_id)
