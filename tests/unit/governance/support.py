"""A small council of real replicas, each executing a :class:`GovernanceApplication`.

Every member and the secretariat hold real Ed25519 keys derived from one seed. Requests are
verified at the edge and handed to every replica; what replicas broadcast or send is delivered
among them until the council is quiet, with virtual time moving in 1 ms steps so the primary's
batch timer fires. Each replica's effects are kept, so a test can feed one agent's ``Execute``
effects to a :class:`DecisionRecorder`.
"""

from __future__ import annotations

from collections.abc import Mapping

import crypto
from consensus import (
    Broadcast,
    Effect,
    Envelope,
    EnvelopeVerifier,
    Replica,
    ReplicaConfig,
    Request,
    Send,
    replica_principal,
    seal,
)
from council.governance import CategoryRule, GovernanceApplication, GovernanceRules

COUNCIL_ID = "governance-test"
SEED = 33
SECRETARIAT = "secretariat"
CATEGORIES: Mapping[str, CategoryRule] = {
    "budget": CategoryRule(rule="majority", window_ms=1_000, turnout=0.5),
    "constitutional": CategoryRule(rule="unanimity", window_ms=5_000, turnout=1.0),
}
#: Virtual time a request is given to be ordered and executed everywhere.
SETTLE_MS = 50


class GovernedCouncil:
    """``n`` correct replicas with governance applications and a lossless, instant link."""

    def __init__(self, n: int = 4) -> None:
        names = [replica_principal(i) for i in range(n)] + [SECRETARIAT]
        keys = {name: crypto.PrivateKey.derive(SEED, name) for name in names}
        self.roster = crypto.Roster(
            COUNCIL_ID, {name: key.public_key() for name, key in keys.items()}
        )
        self.signers = {name: crypto.Signer(COUNCIL_ID, name, key) for name, key in keys.items()}
        self.verifier = EnvelopeVerifier(crypto.Verifier(self.roster))
        self.rules = GovernanceRules.for_council(COUNCIL_ID, n, CATEGORIES)
        self.applications = [GovernanceApplication(self.rules) for _ in range(n)]
        config = ReplicaConfig(n=n)
        self.replicas = [
            Replica(config, i, self.signers[replica_principal(i)], self.verifier, application)
            for i, application in enumerate(self.applications)
        ]
        self.effects: list[list[Effect]] = [[] for _ in range(n)]
        self.now_ms = 0
        self._timestamps: dict[str, int] = {}
        self._in_flight: list[tuple[int, Envelope]] = []  # (target, envelope)

    def request(self, client: str, operation: str) -> Envelope:
        """A request of ``client`` signed with its key, with the client's next timestamp."""
        timestamp = self._timestamps.get(client, 0) + 1
        self._timestamps[client] = timestamp
        request = Request(client=client, timestamp=timestamp, operation=operation)
        return seal(self.signers[client], request)

    def submit(self, client: str, operation: str) -> Envelope:
        """Hand ``client``'s request to every replica and let the council order it."""
        return self.submit_together([(client, operation)])[0]

    def submit_together(self, requests: list[tuple[str, str]]) -> list[Envelope]:
        """Hand several (client, operation) requests to every replica at the same instant, so
        the primary may batch them, then let the council order them."""
        envelopes = [self.request(client, operation) for client, operation in requests]
        for envelope in envelopes:
            assert self.verifier.verify(envelope)
            for i, replica in enumerate(self.replicas):
                replica.submit(envelope, self.now_ms)
                self._collect(i)
        self.settle()
        return envelopes

    def settle(self, duration_ms: int = SETTLE_MS) -> None:
        until_ms = self.now_ms + duration_ms
        while True:
            self._deliver_in_flight()
            if self.now_ms >= until_ms:
                return
            self.now_ms += 1
            for i, replica in enumerate(self.replicas):
                replica.tick(self.now_ms)
                self._collect(i)

    def _deliver_in_flight(self) -> None:
        while self._in_flight:
            batch, self._in_flight = self._in_flight, []
            for target, envelope in batch:
                assert self.verifier.verify(envelope)
                self.replicas[target].receive(envelope, self.now_ms)
                self._collect(target)

    def _collect(self, i: int) -> None:
        effects = self.replicas[i].take_effects()
        self.effects[i].extend(effects)
        for effect in effects:
            if isinstance(effect, Broadcast):
                others = (t for t in range(len(self.replicas)) if t != i)
                self._in_flight.extend((t, effect.envelope) for t in others)
            elif isinstance(effect, Send) and effect.to.startswith("r"):
                self._in_flight.append((int(effect.to[1:]), effect.envelope))
