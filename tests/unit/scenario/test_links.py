"""The scenario network: phases, partitions that heal, and seeded delays."""

from __future__ import annotations

import random

import pytest

from council.scenario.links import LinkModel, NetworkPhase, PhasedNetwork

PARTITION = NetworkPhase(
    from_ms=1_000,
    until_ms=2_000,
    link=LinkModel(),
    groups=(frozenset({0, 1}), frozenset({2, 3})),
)


def network(*phases: NetworkPhase, seed: int = 1, base: LinkModel | None = None) -> PhasedNetwork:
    return PhasedNetwork(base or LinkModel(), phases, random.Random(seed))


def test_a_partition_cuts_groups_apart_only_during_its_phase() -> None:
    net = network(PARTITION)
    assert net.deliveries(0, 2, 999)
    assert net.deliveries(0, 2, 1_000) == ()
    assert net.deliveries(3, 1, 1_999) == ()
    assert net.deliveries(0, 2, 2_000), "the partition heals at until_ms"
    assert net.healed_ms == 2_000


def test_seats_in_one_group_and_seats_outside_every_group_still_talk() -> None:
    net = network(PARTITION)
    assert net.deliveries(0, 1, 1_500), "same group"
    assert net.deliveries(4, 0, 1_500), "seat 4 is in no group: it reaches everyone"
    assert net.deliveries(2, 4, 1_500)


def test_clients_are_never_partitioned() -> None:
    net = network(PARTITION)
    assert net.deliveries(-1, 2, 1_500)
    assert net.deliveries(0, -1, 1_500)


def test_a_phase_overrides_loss_for_its_interval() -> None:
    lossy = NetworkPhase(0, 100, LinkModel(loss=0.999_999))
    net = network(lossy)
    assert all(net.deliveries(0, 1, t) == () for t in range(100))
    assert all(net.deliveries(0, 1, t) for t in range(100, 200))


def test_a_later_phase_wins_an_overlap() -> None:
    quiet = NetworkPhase(0, 1_000, LinkModel(distribution="fixed", base_ms=7, jitter_ms=0))
    loud = NetworkPhase(500, 600, LinkModel(distribution="fixed", base_ms=90, jitter_ms=0))
    net = network(quiet, loud)
    assert net.deliveries(0, 1, 100) == (7,)
    assert net.deliveries(0, 1, 550) == (90,)


@pytest.mark.parametrize("distribution", ["fixed", "uniform", "exponential", "normal"])
def test_delays_respect_the_distribution_floor(distribution: str) -> None:
    link = LinkModel(distribution=distribution, base_ms=10, jitter_ms=4)
    rng = random.Random(3)
    delays = [link.delay_ms(rng) for _ in range(2_000)]
    assert min(delays) >= 10
    if distribution == "fixed":
        assert set(delays) == {10}
    if distribution == "uniform":
        assert max(delays) <= 14
    if distribution in ("exponential", "normal"):
        assert max(delays) > 14, "an unbounded tail reaches past one jitter"


def test_reordering_lets_later_messages_overtake() -> None:
    steady = LinkModel(distribution="fixed", base_ms=5, jitter_ms=2)
    reordering = LinkModel(distribution="fixed", base_ms=5, jitter_ms=2, reorder=0.5)
    rng = random.Random(5)
    assert {steady.delay_ms(rng) for _ in range(100)} == {5}
    assert max(reordering.delay_ms(rng) for _ in range(100)) > 5


def test_duplication_delivers_two_copies() -> None:
    net = network(base=LinkModel(duplicate=0.999_999))
    assert all(len(net.deliveries(0, 1, t)) == 2 for t in range(50))


def test_the_same_seed_gives_the_same_deliveries() -> None:
    base = LinkModel(loss=0.2, duplicate=0.1, reorder=0.1)

    def deliveries(seed: int) -> list[tuple[int, ...]]:
        net = network(PARTITION, seed=seed, base=base)
        return [net.deliveries(0, 2, t) for t in range(0, 3_000, 7)]

    assert deliveries(9) == deliveries(9)
    assert deliveries(9) != deliveries(10)
