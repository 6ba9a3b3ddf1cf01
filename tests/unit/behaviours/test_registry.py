"""Building behaviours by name, their windows and context, and what every behaviour promises:
outside its window it is invisible, and effects that are not messages pass it unchanged."""

from __future__ import annotations

import random
from typing import Any

import pytest

from consensus import (
    Broadcast,
    Effect,
    Evidence,
    Execute,
    Persist,
    PersistCheckpoint,
    StateTransferred,
    ViewEntered,
    replica_principal,
)
from council.behaviours import KINDS, NOT_WRAPPERS, BehaviourContext, Window, parameters, wrap
from tests.unit.behaviours.support import (
    Link,
    ScriptedNode,
    Wire,
    example_params,
    motion,
    wire,
)

WINDOW = Window(1_000, 2_000)


def test_a_window_holds_from_its_start_up_to_but_not_including_its_end() -> None:
    assert [WINDOW.active(t) for t in (0, 999, 1_000, 1_999, 2_000)] == [
        False,
        False,
        True,
        True,
        False,
    ]
    assert Window().active(0) and Window().active(10**12)
    assert Window(5).active(5) and not Window(5).active(4)


@pytest.mark.parametrize(("from_ms", "until_ms"), [(-1, None), (10, 10), (10, 5)])
def test_a_window_must_start_at_zero_or_later_and_end_after_it_starts(
    from_ms: int, until_ms: int | None
) -> None:
    with pytest.raises(ValueError, match="window"):
        Window(from_ms, until_ms)


def test_a_context_holds_only_the_seats_own_key() -> None:
    link = Link(4)
    context = link.context(2)
    assert (context.n, context.quorums.f, context.others) == (4, 1, (0, 1, 3))
    with pytest.raises(ValueError, match="does not sign for replica 2"):
        BehaviourContext(2, link.signers["r1"], link.config, random.Random(0))


def test_every_kind_of_the_scenario_language_is_built_here_or_named_as_built_elsewhere() -> None:
    assert set(KINDS) == {
        "silent",
        "slow",
        "omit",
        "equivocate",
        "forge",
        "corrupt",
        "replay",
        "censor",
        "out-of-watermarks",
        "bogus-view-change",
        "twins",
    }
    assert set(NOT_WRAPPERS) == {"crash", "bloc-vote", "withhold-votes", "split-brain"}
    assert parameters("slow") == {"delay_ms": True}
    assert parameters("omit") == {"peers": True, "direction": False}
    assert parameters("twins") == {"twin": True, "groups": False}


@pytest.mark.parametrize(
    ("kind", "params", "error"),
    [
        ("teleport", {}, "unknown behaviour 'teleport'"),
        ("crash", {}, "does not wrap a replica: the simulator crashes"),
        ("bloc-vote", {}, "voting policy"),
        ("silent", {"delay_ms": 5}, r"'silent' has no parameter \['delay_ms'\]; it takes: none"),
        ("slow", {"delay": 5}, r"has no parameter \['delay'\]; it takes: delay_ms"),
        ("slow", {}, r"'slow' needs parameter \['delay_ms'\]"),
        ("slow", {"delay_ms": -1}, "delay_ms must be >= 0"),
        ("omit", {"peers": {1}, "direction": "sideways"}, "direction must be one of"),
        ("omit", {"peers": {9}}, r"peers \[9\] are not replicas"),
        ("forge", {"mode": "politely"}, "mode must be one of"),
        ("bogus-view-change", {"every_ms": 0}, "every_ms must be >= 1"),
        ("twins", {}, r"'twins' needs parameter \['twin'\]"),
    ],
)
def test_wrap_explains_what_is_wrong_with_a_kind_or_its_parameters(
    kind: str, params: dict[str, Any], error: str
) -> None:
    link = Link(4)
    with pytest.raises(ValueError, match=error):
        wrap(kind, link.replicas[0], link.context(0), **params)


def test_twins_need_two_distinct_copies_and_disjoint_groups_of_other_seats() -> None:
    link = Link(4)
    replica, context = link.replicas[0], link.context(0)
    with pytest.raises(ValueError, match="distinct"):
        wrap("twins", replica, context, twin=replica)
    twin = link.new_replica(0)
    with pytest.raises(ValueError, match="overlap"):
        wrap("twins", replica, context, twin=twin, groups=({1, 2}, {2, 3}))
    with pytest.raises(ValueError, match="other replicas only"):
        wrap("twins", replica, context, twin=twin, groups=({0, 1}, {2, 3}))


def _script(link: Link) -> None:
    """Two motions, one before the window and one well after it; nothing inside it."""
    link.submit(link.request("secretariat", motion("M-1", "budget")))
    link.advance(500)
    link.advance(3_000)
    link.submit(link.request("secretariat", motion("M-2", "budget")))
    link.advance(3_500)


@pytest.mark.parametrize("kind", KINDS)
def test_outside_its_window_a_behaviour_sends_exactly_what_the_correct_replica_sends(
    kind: str,
) -> None:
    plain, wearing = Link(4), Link(4)
    wearing.wrap(0, kind, WINDOW, **example_params(wearing, kind, 0))
    _script(plain)
    _script(wearing)

    def outside(link: Link) -> list[tuple[int, Wire | None]]:
        return [(t, wire(e)) for t, e in link.out[0] if wire(e) and not 1_000 <= t < 3_000]

    pre_prepared_at = [t for t, w in outside(plain) if w and w[2] == "pre-prepare"]
    assert pre_prepared_at[0] < 1_000 and pre_prepared_at[-1] >= 3_000
    assert outside(wearing) == outside(plain)
    assert (
        wearing.executed_ops(1)
        == plain.executed_ops(1)
        == [
            motion("M-1", "budget"),
            motion("M-2", "budget"),
        ]
    )


def _non_message_effects(link: Link) -> list[Effect]:
    envelope = link.request()
    return [
        Persist(envelope),
        Execute(seq=1, view=0, digest="0" * 64, requests=(envelope,), executed=(envelope,)),
        Evidence(kind="equivocation", culprit=2, proof=(envelope,)),
        ViewEntered(3),
        StateTransferred(2),
        PersistCheckpoint(2, (), "{}"),
    ]


@pytest.mark.parametrize("kind", [kind for kind in KINDS if kind != "twins"])
def test_effects_that_are_not_messages_pass_every_behaviour_unchanged(kind: str) -> None:
    link = Link(4)
    inner = ScriptedNode()
    node = wrap(kind, inner, link.context(0), **example_params(link, kind, 0))
    effects = _non_message_effects(link)
    inner.queued = list(effects)
    node.tick(0)
    passed = [effect for effect in node.take_effects() if not isinstance(effect, Broadcast)]
    assert passed == effects
    assert inner.ticks == [0]


def test_twins_hand_on_the_non_message_effects_of_copy_a_only() -> None:
    link = Link(4)
    copy_a, copy_b = ScriptedNode(), ScriptedNode()
    pair = wrap("twins", copy_a, link.context(0), twin=copy_b)
    effects = _non_message_effects(link)
    copy_a.queued, copy_b.queued = list(effects), list(effects)
    assert pair.take_effects() == effects
    assert replica_principal(0) == link.context(0).signer.principal
