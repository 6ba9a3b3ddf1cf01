"""Safety invariants checked after every step of a simulation.

- **agreement**: no two correct replicas execute different batches at one sequence number;
- **validity**: every executed request was signed and submitted by a client;
- **integrity**: no correct replica executes a client's request twice, nor an older one after
  a newer one, and each executes sequence numbers in order.

The checker compares each execution with what every other correct replica executed there, so a
violation is caught at the step that causes it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from consensus import Execute, PersistCheckpoint, Request, decode
from consensus.application import parse_snapshot


@dataclass(frozen=True, slots=True)
class Violation:
    invariant: str
    replica: int
    seq: int
    detail: str


@dataclass(slots=True)
class SafetyChecker:
    """Watches the ``Execute`` effects of correct replicas."""

    submitted: set[str] = field(default_factory=set)
    executed_at: dict[int, tuple[str, int]] = field(default_factory=dict)
    last_seq: dict[int, int] = field(default_factory=dict)
    last_timestamp: dict[tuple[int, str], int] = field(default_factory=dict)
    violations: list[Violation] = field(default_factory=list)
    ordered: set[str] = field(default_factory=set)

    def submit(self, request_digest: str) -> None:
        self.submitted.add(request_digest)

    def resumed(self, replica: int, seq: int, client_table: dict[str, int]) -> None:
        """``replica`` now holds the state at ``seq`` (after a restart or a state transfer)."""
        self.last_seq[replica] = seq
        for key in [key for key in self.last_timestamp if key[0] == replica]:
            del self.last_timestamp[key]
        for client, timestamp in client_table.items():
            self.last_timestamp[(replica, client)] = timestamp

    def resumed_from_checkpoint(self, replica: int, checkpoint: PersistCheckpoint | None) -> None:
        """``replica`` jumped to a stable checkpoint by state transfer. The client table comes
        from the snapshot it just persisted, not from the replica, which may already have
        executed batches after it in the same step."""
        assert checkpoint is not None, "a state transfer is persisted before it is reported"
        seq, _, client_table = parse_snapshot(checkpoint.snapshot)
        self.resumed(replica, seq, client_table)

    def execute(self, replica: int, effect: Execute) -> Violation | None:
        violation = self._check(replica, effect)
        if violation is not None:
            self.violations.append(violation)
        return violation

    def _check(self, replica: int, effect: Execute) -> Violation | None:
        seq = effect.seq
        expected_seq = self.last_seq.get(replica, 0) + 1
        self.last_seq[replica] = seq
        if seq != expected_seq:
            return Violation("integrity", replica, seq, f"executed {seq}, expected {expected_seq}")
        first = self.executed_at.get(seq)
        if first is None:
            self.executed_at[seq] = (effect.digest, replica)
        elif first[0] != effect.digest:
            return Violation(
                "agreement",
                replica,
                seq,
                f"replica {replica} executed batch {effect.digest[:12]} at seq {seq}, "
                f"replica {first[1]} executed {first[0][:12]}",
            )
        last_timestamp, ordered = self.last_timestamp, self.ordered
        for envelope in effect.executed:
            digest = envelope.request_digest()
            if digest not in ordered:
                if digest not in self.submitted:
                    return Violation("validity", replica, seq, f"request from {envelope.sender}")
                ordered.add(digest)
            request = decode(envelope)
            assert isinstance(request, Request)
            key = (replica, request.client)
            if request.timestamp <= last_timestamp.get(key, 0):
                return Violation(
                    "integrity",
                    replica,
                    seq,
                    f"{request.client} request {request.timestamp} executed again or late",
                )
            last_timestamp[key] = request.timestamp
        return None
