"""The behaviour kinds a scenario can name, and :func:`wrap`, which builds one by name."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from council.behaviours.base import ALWAYS, Behaviour, BehaviourContext, Node, Window
from council.behaviours.censorship import Censor
from council.behaviours.corruption import Corrupt
from council.behaviours.equivocation import Equivocate
from council.behaviours.forgery import Forge
from council.behaviours.network import Omit, Silent, Slow
from council.behaviours.replay import Replay
from council.behaviours.twins import TwinPair
from council.behaviours.view_change import BogusViewChange
from council.behaviours.watermarks import OutOfWatermarks

WRAPPERS: dict[str, type[Behaviour]] = {
    wrapper.kind: wrapper
    for wrapper in (
        Silent,
        Slow,
        Omit,
        Equivocate,
        Forge,
        Corrupt,
        Replay,
        Censor,
        OutOfWatermarks,
        BogusViewChange,
    )
}
#: Every kind :func:`wrap` builds.
KINDS: tuple[str, ...] = (*WRAPPERS, TwinPair.kind)
#: Kinds a scenario may name that are not message behaviours, and who implements them.
NOT_WRAPPERS: dict[str, str] = {
    "crash": "the simulator crashes and restarts the seat's process",
    "bloc-vote": "it is a voting policy of the seat",
    "withhold-votes": "it is a voting policy of the seat",
    "split-brain": "it is a coalition of seats, built by the simulator",
}


def _keyword_parameters(factory: Callable[..., Any]) -> dict[str, bool]:
    """The keyword-only parameters of ``factory``, each with whether it is required."""
    return {
        name: parameter.default is inspect.Parameter.empty
        for name, parameter in inspect.signature(factory).parameters.items()
        if parameter.kind is inspect.Parameter.KEYWORD_ONLY
    }


def parameters(kind: str) -> dict[str, bool]:
    """The parameters behaviour ``kind`` takes, each with whether it is required."""
    if kind == TwinPair.kind:
        return {"twin": True, **_keyword_parameters(TwinPair)}
    _check_kind(kind)
    return _keyword_parameters(WRAPPERS[kind])


def _check_kind(kind: str) -> None:
    if kind in NOT_WRAPPERS:
        raise ValueError(f"behaviour {kind!r} does not wrap a replica: {NOT_WRAPPERS[kind]}")
    if kind not in KINDS:
        raise ValueError(f"unknown behaviour {kind!r}; expected one of: {', '.join(KINDS)}")


def wrap(
    kind: str,
    inner: Node,
    context: BehaviourContext,
    window: Window = ALWAYS,
    **params: Any,
) -> Node:
    """Wrap ``inner`` (a replica or another behaviour) in behaviour ``kind``, active in
    ``window``. ``twins`` takes the second copy as ``twin=`` (``inner`` is copy A)."""
    _check_kind(kind)
    accepted = parameters(kind)
    unknown = sorted(set(params) - set(accepted))
    if unknown:
        expected = ", ".join(sorted(accepted)) or "none"
        raise ValueError(f"behaviour {kind!r} has no parameter {unknown}; it takes: {expected}")
    missing = sorted(name for name, required in accepted.items() if required and name not in params)
    if missing:
        raise ValueError(f"behaviour {kind!r} needs parameter {missing}")
    if kind == TwinPair.kind:
        twin = params.pop("twin")
        return TwinPair(inner, twin, context, window, **params)
    return WRAPPERS[kind](inner, context, window, **params)
