"""A small council on an instant, lossless link where any seat can wear behaviours.

Every seat is a node: a correct replica, or a behaviour around one. Messages are verified at
the edge (as the simulator does) and delivered in sending order; virtual time moves only when
the test calls :meth:`Link.advance`, firing every node's due deadline in order.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Iterable
from typing import Any, TypeVar

import crypto
from consensus import (
    Broadcast,
    Effect,
    Envelope,
    EnvelopeVerifier,
    Evidence,
    Execute,
    LedgerApplication,
    Replica,
    ReplicaConfig,
    Request,
    Respond,
    Send,
    decode,
    replica_principal,
    seal,
)
from consensus.messages import canonical_json
from council.behaviours import ALWAYS, BehaviourContext, Node, Window, wrap

COUNCIL_ID = "behaviour-council"
SEED = 31
CLIENTS = ("alice", "bob", "secretariat")
DELIVERIES_MAX = 50_000
TICKS_MAX = 50_000

M = TypeVar("M")
Wire = tuple[str, str, str, str, str]


def wire(effect: Effect) -> Wire | None:
    """What a message effect puts on the wire (envelopes compare by their signed part)."""
    if isinstance(effect, Send):
        to = effect.to
    elif isinstance(effect, Broadcast):
        to = "*"
    elif isinstance(effect, Respond):
        to = ",".join(effect.clients)
    else:
        return None
    envelope = effect.envelope
    return (to, envelope.sender, envelope.kind, envelope.body, envelope.signature)


def wires(effects: Iterable[Effect]) -> list[Wire]:
    return [w for effect in effects if (w := wire(effect)) is not None]


def motion(motion_id: str, category: str) -> str:
    return canonical_json(
        {"op": "motion", "id": motion_id, "title": motion_id, "text": "", "category": category}
    )


class Link:
    """``n`` seats, each a correct replica until :meth:`wrap` puts a behaviour around it."""

    def __init__(self, n: int = 4, **config: Any) -> None:
        self.config = ReplicaConfig(n=n, **config)
        names = [replica_principal(i) for i in range(n)] + list(CLIENTS)
        keys = {name: crypto.PrivateKey.derive(SEED, name) for name in names}
        self.roster = crypto.Roster(
            COUNCIL_ID, {name: key.public_key() for name, key in keys.items()}
        )
        self.verifier = EnvelopeVerifier(crypto.Verifier(self.roster))
        self.signers = {name: crypto.Signer(COUNCIL_ID, name, key) for name, key in keys.items()}
        self.replicas = {i: self.new_replica(i) for i in range(n)}
        self.nodes: dict[int, Node] = dict(self.replicas)
        self.byzantine: set[int] = set()
        self.now_ms = 0
        self.in_flight: deque[tuple[int, Envelope]] = deque()
        self.out: dict[int, list[tuple[int, Effect]]] = {i: [] for i in range(n)}
        self.received: dict[int, list[Envelope]] = {i: [] for i in range(n)}
        self.replies: list[Envelope] = []
        self.edge_rejections = 0
        self.timestamps = dict.fromkeys(CLIENTS, 0)

    @property
    def n(self) -> int:
        return self.config.n

    @property
    def honest(self) -> tuple[int, ...]:
        return tuple(i for i in range(self.n) if i not in self.byzantine)

    def fresh_verifier(self) -> EnvelopeVerifier:
        """A verifier that has seen nothing, so no memoised verdict can let a forgery through."""
        return EnvelopeVerifier(crypto.Verifier(self.roster))

    def new_replica(self, i: int) -> Replica:
        signer = self.signers[replica_principal(i)]
        return Replica(self.config, i, signer, self.verifier, LedgerApplication())

    def context(self, i: int, seed: int = 0) -> BehaviourContext:
        return BehaviourContext(
            i, self.signers[replica_principal(i)], self.config, random.Random(seed)
        )

    def wrap(self, i: int, kind: str, window: Window = ALWAYS, **params: Any) -> Node:
        """Put behaviour ``kind`` around seat ``i`` (around what it already wears)."""
        node = wrap(kind, self.nodes[i], self.context(i), window, **params)
        self.nodes[i] = node
        self.byzantine.add(i)
        return node

    # -- inputs ------------------------------------------------------------------------------

    def request(self, client: str = "alice", operation: str = "op") -> Envelope:
        self.timestamps[client] += 1
        message = Request(client=client, timestamp=self.timestamps[client], operation=operation)
        return seal(self.signers[client], message)

    def submit(self, envelope: Envelope, to: Iterable[int] | None = None) -> None:
        """A client hands ``envelope`` to seats ``to`` (all by default), then the link settles."""
        for target in range(self.n) if to is None else to:
            self.deliver(envelope, target)
        self.flush()

    def deliver(self, envelope: Envelope, target: int) -> bool:
        if not self.verifier.verify(envelope):
            self.edge_rejections += 1
            return False
        self.received[target].append(envelope)
        self.nodes[target].receive(envelope, self.now_ms)
        self._collect(target)
        return True

    def flush(self) -> int:
        deliveries = 0
        while self.in_flight:
            target, envelope = self.in_flight.popleft()
            self.deliver(envelope, target)
            deliveries += 1
            assert deliveries <= DELIVERIES_MAX, "the council does not quiesce"
        return deliveries

    def advance(self, until_ms: int) -> None:
        """Let time pass to ``until_ms``: fire due deadlines in order, settling after each."""
        self.flush()
        for _ in range(TICKS_MAX):
            due = [
                (deadline, i)
                for i, node in self.nodes.items()
                if (deadline := node.next_deadline_ms()) is not None
            ]
            if not due or min(due)[0] > until_ms:
                break
            deadline, i = min(due)
            self.now_ms = max(self.now_ms, deadline)
            self.nodes[i].tick(self.now_ms)
            self._collect(i)
            self.flush()
        else:
            raise AssertionError("too many timer firings")
        self.now_ms = max(self.now_ms, until_ms)

    def _collect(self, i: int) -> None:
        for effect in self.nodes[i].take_effects():
            self.out[i].append((self.now_ms, effect))
            if isinstance(effect, Broadcast):
                self.in_flight.extend((t, effect.envelope) for t in range(self.n) if t != i)
            elif isinstance(effect, Send):
                if effect.to.startswith("r") and effect.to[1:].isdigit():
                    self.in_flight.append((int(effect.to[1:]), effect.envelope))
                else:
                    self.replies.append(effect.envelope)
            elif isinstance(effect, Respond):
                self.replies.append(effect.envelope)

    # -- reading what happened ---------------------------------------------------------------

    def effects(self, i: int, kind: type[M]) -> list[M]:
        return [effect for _, effect in self.out[i] if isinstance(effect, kind)]

    def messages(self, i: int) -> list[Envelope]:
        """Every envelope seat ``i`` put on the wire."""
        return [e.envelope for _, e in self.out[i] if isinstance(e, Send | Broadcast | Respond)]

    def sent(self, i: int, kind: type[M]) -> list[tuple[Envelope, M]]:
        found: list[tuple[Envelope, M]] = []
        for envelope in self.messages(i):
            message = decode(envelope)
            if isinstance(message, kind):
                found.append((envelope, message))
        return found

    def evidence(self, i: int) -> list[Evidence]:
        return self.effects(i, Evidence)

    def executed_ops(self, i: int) -> list[str]:
        """The operations replica ``i`` executed, in order."""
        ops = []
        for execute in self.effects(i, Execute):
            for envelope in execute.executed:
                request = decode(envelope)
                assert isinstance(request, Request)
                ops.append(request.operation)
        return ops

    def logs_agree(self) -> bool:
        """Every honest replica executed the same (seq, digest) at every seq it executed."""
        by_seq: dict[int, str] = {}
        for i in self.honest:
            for execute in self.effects(i, Execute):
                if by_seq.setdefault(execute.seq, execute.digest) != execute.digest:
                    return False
        return True


class ScriptedNode:
    """A stand-in for a replica: it records what it hears and hands out the effects a test
    queued, so a behaviour can be checked on exactly those."""

    def __init__(self) -> None:
        self.heard: list[Envelope] = []
        self.ticks: list[int] = []
        self.queued: list[Effect] = []
        self.deadline_ms: int | None = None

    def receive(self, envelope: Envelope, now_ms: int) -> None:
        self.heard.append(envelope)

    def tick(self, now_ms: int) -> None:
        self.ticks.append(now_ms)

    def take_effects(self) -> list[Effect]:
        effects, self.queued = self.queued, []
        return effects

    def next_deadline_ms(self) -> int | None:
        return self.deadline_ms


def example_params(link: Link, kind: str, seat: int) -> dict[str, Any]:
    """Parameters that make behaviour ``kind`` at ``seat`` do something in a short run."""
    examples: dict[str, dict[str, Any]] = {
        "slow": {"delay_ms": 10},
        "omit": {"peers": frozenset({(seat + 1) % link.n})},
        "censor": {"categories": ["budget"]},
        "bogus-view-change": {"every_ms": 100},
    }
    if kind == "twins":
        return {"twin": link.new_replica(seat)}
    return examples.get(kind, {})
