"""The PBFT protocol core: a pure, deterministic replica state machine and its messages.

Nothing here performs I/O, reads a clock or draws randomness; shells (the simulator, the MQTT
runtime) feed inputs with ``now_ms`` and perform the returned effects.
"""

from consensus.application import Application, LedgerApplication
from consensus.config import ReplicaConfig
from consensus.effects import (
    Broadcast,
    Effect,
    Evidence,
    Execute,
    Persist,
    PersistCheckpoint,
    Respond,
    Send,
    StateTransferred,
    ViewEntered,
)
from consensus.messages import (
    NULL_DIGEST,
    Envelope,
    MalformedMessage,
    Message,
    Reply,
    Request,
    decode,
    replica_principal,
    seal,
)
from consensus.quorum import QuorumMath, max_faulty, quorum_size
from consensus.replica import Replica
from consensus.verification import EnvelopeVerifier

__all__ = [
    "NULL_DIGEST",
    "Application",
    "Broadcast",
    "Effect",
    "Envelope",
    "EnvelopeVerifier",
    "Evidence",
    "Execute",
    "LedgerApplication",
    "MalformedMessage",
    "Message",
    "Persist",
    "PersistCheckpoint",
    "QuorumMath",
    "Replica",
    "ReplicaConfig",
    "Reply",
    "Request",
    "Respond",
    "Send",
    "StateTransferred",
    "ViewEntered",
    "decode",
    "max_faulty",
    "quorum_size",
    "replica_principal",
    "seal",
]
