"""At the threshold the council holds; one colluder past it, the simulator sees it break.

With ``f`` split-brain colluders no half of the correct replicas gathers a quorum for its own
batch; with ``f + 1`` both halves do, and two correct replicas execute different batches at
one sequence number. The checker must report that as an agreement violation.
"""

from __future__ import annotations

import pytest

from council.sim import SimulationSettings
from council.sim.sweep import sweep
from tests.sim.support import explain, run

BEYOND_SEEDS = range(1, 21)


@pytest.mark.parametrize("seed", BEYOND_SEEDS)
def test_eleven_split_brain_colluders_of_33_break_agreement_and_it_is_seen(seed: int) -> None:
    settings = SimulationSettings(
        agents=33, byzantine=11, attack="split-brain", requests=20, clients=8, seed=seed
    )
    simulation = run(settings)
    violation = simulation.violation
    assert violation is not None, explain(simulation)
    assert violation.invariant == "agreement", explain(simulation)
    # Both replicas named are correct ones: the broken council is seen where it matters.
    assert violation.replica in simulation.council.replicas, explain(simulation)
    assert not set(simulation.council.replicas) & set(simulation.byzantine)
    assert violation.seq >= 1


def test_ten_split_brain_colluders_of_33_do_not_break_agreement() -> None:
    report = sweep(
        [
            SimulationSettings(
                agents=33, byzantine=10, attack="split-brain", requests=20, clients=8, seed=seed
            )
            for seed in BEYOND_SEEDS
        ],
        jobs=1,
    )
    assert not report.failures, report.describe_failures()


@pytest.mark.parametrize(("colluders", "safe"), [(2, True), (3, False)])
def test_seven_members_hold_with_two_split_brain_colluders_and_break_with_three(
    colluders: int, safe: bool
) -> None:
    report = sweep(
        [
            SimulationSettings(
                agents=7,
                byzantine=colluders,
                attack="split-brain",
                requests=20,
                clients=8,
                seed=seed,
            )
            for seed in BEYOND_SEEDS
        ],
        jobs=1,
    )
    if safe:
        assert not report.failures, report.describe_failures()
    else:
        missed = [r.describe() for r in report.results if r.safe]
        assert not missed, "beyond f the break must be seen:\n" + "\n".join(missed)
        assert all((r.violation or "").startswith("agreement") for r in report.results)
