"""Corruption: a field of an outgoing message changed, then validly signed with the seat's key.

Unlike a forgery, a corrupted message passes every signature check; the protocol has to notice
that what it says is inconsistent. What changes:

- PREPARE and COMMIT: the digest, so the vote matches no pre-prepare and never counts towards
  a certificate (and is equivocation once the real vote is seen beside it);
- CHECKPOINT: the state digest, so it never joins a stable-checkpoint certificate;
- PRE-PREPARE: the view (one ahead: backups hold it, then refuse it once that view starts,
  because its primary is another seat) or the sequence number (``L`` ahead, outside every
  watermark window that contains the real one); the batch stays, so the digest still matches.

Other messages pass unchanged.
"""

from __future__ import annotations

from typing import ClassVar

from consensus import Effect, seal
from consensus.messages import Checkpoint, Commit, Prepare, PrePrepare
from council.behaviours.base import Behaviour, MessageEffect, decoded, with_envelope
from council.behaviours.equivocation import other_digest

PRE_PREPARE_FIELDS = ("view", "seq")


class Corrupt(Behaviour):
    """Re-signs every pre-prepare, prepare, commit and checkpoint it sends with one field
    changed (see the module doc); which field of a pre-prepare is drawn from the rng."""

    kind: ClassVar[str] = "corrupt"

    def rewrite(self, effect: MessageEffect) -> list[Effect]:
        envelope = effect.envelope
        message = decoded(envelope)
        corrupted: PrePrepare | Prepare | Commit | Checkpoint
        if isinstance(message, Prepare | Commit):
            corrupted = message.model_copy(update={"digest": other_digest(message.digest)})
        elif isinstance(message, Checkpoint):
            digest = other_digest(message.state_digest)
            corrupted = message.model_copy(update={"state_digest": digest})
        elif isinstance(message, PrePrepare):
            if self.context.rng.choice(PRE_PREPARE_FIELDS) == "view":
                corrupted = message.model_copy(update={"view": message.view + 1})
            else:
                window = self.context.config.watermark_window
                corrupted = message.model_copy(update={"seq": message.seq + window})
        else:
            return [effect]
        return [with_envelope(effect, seal(self.context.signer, corrupted, envelope.attachment))]
