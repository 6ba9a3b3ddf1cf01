"""From a scenario's behaviour entries to the wrappers around a seat's replica."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from consensus import Replica, ReplicaConfig
from council.behaviours import BehaviourContext, TwinPair, Window, wrap
from council.behaviours.base import Node
from council.scenario.schema import Behaviour, Omit, SeatSelector

#: Entries the runner handles itself; they do not wrap the agent's messages.
NOT_WRAPPERS = frozenset({"crash", "twins", "split-brain", "bloc-vote", "withhold-votes"})


#: The seat numbers a selector picks (the scenario's council resolves it).
ResolveSeats = Callable[[SeatSelector], tuple[int, ...]]


def _params(behaviour: Behaviour, resolve: ResolveSeats) -> dict[str, Any]:
    params = behaviour.model_dump(exclude={"kind", "from_ms", "until_ms"})
    if isinstance(behaviour, Omit):
        seats = resolve(behaviour.peers)
        params["peers"] = frozenset(seat - 1 for seat in seats)
    for name in ("categories", "submitters"):
        if name in params:
            params[name] = frozenset(params[name])
    return params


def wrapper_for(
    replica: Replica,
    behaviours: tuple[Behaviour, ...],
    config: ReplicaConfig,
    rng: random.Random,
    resolve: ResolveSeats,
    inner: Node | None = None,
) -> Node:
    """``replica`` (or ``inner``, a twin pair around it) inside each of its message
    behaviours, in the order the file lists them."""
    context = BehaviourContext(replica.id, replica.signer, config, rng)
    node: Node = replica if inner is None else inner
    for behaviour in behaviours:
        if behaviour.kind in NOT_WRAPPERS:
            continue
        window = Window(behaviour.from_ms, behaviour.until_ms)
        node = wrap(behaviour.kind, node, context, window, **_params(behaviour, resolve))
    return node


def twins_for(
    first: Replica,
    second: Replica,
    behaviours: tuple[Behaviour, ...],
    config: ReplicaConfig,
    rng: random.Random,
) -> Node:
    """Two correct copies of a seat under one key, each talking to half of the council while
    its ``twins`` entry is in force."""
    entry = next(b for b in behaviours if b.kind == "twins")
    context = BehaviourContext(first.id, first.signer, config, rng)
    return TwinPair(first, second, context, Window(entry.from_ms, entry.until_ms))
