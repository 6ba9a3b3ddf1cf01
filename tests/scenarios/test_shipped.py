"""Every shipped scenario is a named test: it passes its own expectations, and its faults
visibly did something — a check fails when the behaviour had no effect on the run.

The expectations in a file say what the council must achieve (safety, decisions, outcomes);
the checks here say the attack really happened (evidence, view changes, absent seats, refused
messages), so a behaviour that silently stopped working cannot leave its scenario green.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from consensus import Replica
from council.behaviours import TwinPair
from tests.scenarios.observed import SHIPPED, Observed, failure_message, observe

Check = Callable[[Observed], None]
CHECKS: dict[str, Check] = {}


def check(name: str) -> Callable[[Check], Check]:
    def register(function: Check) -> Check:
        CHECKS[name] = function
        return function

    return register


@pytest.mark.parametrize("path", SHIPPED, ids=[path.stem for path in SHIPPED])
def test_shipped_scenario(path: Path) -> None:
    observed = observe(path)

    assert observed.report.passed, failure_message(observed)
    CHECKS[path.stem](observed)


def _all_decided(observed: Observed) -> None:
    undecided = [m.id for m in observed.report.motions if m.outcome == "undecided"]
    assert not undecided, f"undecided: {undecided}"


# -- honest council and network faults -------------------------------------------------------


@check("baseline")
def _baseline(observed: Observed) -> None:
    report = observed.report
    assert report.view_changes == 0
    assert not report.evidence
    assert all(m.absent == 0 for m in report.motions), "every seat votes on every motion"
    assert max(report.latency_ms) < 1_000, "decided as soon as the last ballot is ordered"


@check("lossy-network")
def _lossy_network(observed: Observed) -> None:
    _all_decided(observed)
    # Lost messages leave replicas behind; they ask their peers (no STATUS on a healthy run).
    assert observed.report.messages.count_by_kind.get("status", 0) > 0


@check("partition-heals")
def _partition_heals(observed: Observed) -> None:
    report = observed.report
    _all_decided(observed)
    commits = [point for agent in report.timeline.agents for point in agent.commits]
    # Neither side of the first partition (17 | 16 seats) holds a quorum of 22: a seat may
    # still catch up on what was decided before the split, but nothing new is decided in it.
    before = {seq for t_ms, seq in commits if t_ms < 1_000}
    during = {seq for t_ms, seq in commits if 1_000 <= t_ms < 6_000}
    assert during <= before, f"decided while split: {sorted(during - before)}"
    assert max(seq for t_ms, seq in commits if t_ms >= 6_000) > max(before), "resumed"
    assert report.view_changes >= 1


# -- crash, silence, slowness, omission ------------------------------------------------------


@check("primary-crash-restart")
def _primary_crash_restart(observed: Observed) -> None:
    report = observed.report
    seat_1 = report.timeline.agents[0]
    assert seat_1.seat == 1
    assert seat_1.down == [(1_500, 11_500)]
    assert report.view_changes >= 1, "the backups replaced the crashed primary"
    _all_decided(observed)


@check("silent-minority")
def _silent_minority(observed: Observed) -> None:
    silent = observed.faulty_with("silent")
    assert len(silent) == 10 and 1 in silent
    for motion in observed.report.motions:
        assert motion.absent >= len(silent), motion
        cast = [seat for seat in silent if observed.ballot_cast(seat, motion.id)]
        assert not cast, f"silent seats {cast} voted on {motion.id}"
    assert observed.report.view_changes >= 1, "the silent primary was replaced"


@check("slow-seats")
def _slow_seats(observed: Observed) -> None:
    report = observed.report
    assert not report.evidence, "slowness is not misbehaviour"
    # While the primary holds each message 300 ms, decisions take well over a healthy 0.3 s;
    # once it is on time again (10 s), they are back to normal.
    while_slow = [m for m in report.motions if m.submitted_ms < 9_000]
    after = [m for m in report.motions if m.submitted_ms >= 10_000]
    assert while_slow and after
    assert all(m.latency_ms is not None and m.latency_ms >= 600 for m in while_slow)
    assert all(m.latency_ms is not None and m.latency_ms < 600 for m in after)


@check("selective-omission")
def _selective_omission(observed: Observed) -> None:
    _all_decided(observed)
    # The seats shut out fall behind and ask their peers for what they missed.
    assert observed.report.messages.count_by_kind.get("status", 0) > 0


# -- lying messages --------------------------------------------------------------------------


@check("equivocating-primary")
def _equivocating_primary(observed: Observed) -> None:
    assert observed.evidence_against(1, "equivocation") > 0
    assert observed.report.view_changes >= 1
    _all_decided(observed)


@check("forged-signatures")
def _forged_signatures(observed: Observed) -> None:
    forgers = set(observed.faulty_with("forge"))
    assert observed.rejected_at_the_edge().get("bad-signature", 0) > 0
    framed = {row.seat for row in observed.report.evidence} - forgers
    assert not framed, f"honest seats accused: {framed}"
    assert observed.report.view_changes >= 1, "the forging primary was replaced"


@check("corrupted-fields")
def _corrupted_fields(observed: Observed) -> None:
    refused = observed.rejected_by_correct_replicas()
    corrupted_proposals = sum(n for reason, n in refused.items() if reason.startswith("pre-"))
    assert corrupted_proposals > 0, refused
    assert observed.report.view_changes >= 1, "the corrupting primary was replaced"


@check("replayed-messages")
def _replayed_messages(observed: Observed) -> None:
    report = observed.report
    assert observed.rejected_by_correct_replicas()["pre-prepare-outside-watermarks"] > 0
    assert report.view_changes == 0
    assert not report.evidence, "a replayed message is stale, not a lie"


@check("out-of-watermarks")
def _out_of_watermarks(observed: Observed) -> None:
    refused = observed.rejected_by_correct_replicas()
    assert refused["pre-prepare-outside-watermarks"] > 0
    assert refused["prepare-outside-watermarks"] > 0
    assert observed.report.view_changes == 0


@check("bogus-view-changes")
def _bogus_view_changes(observed: Observed) -> None:
    liars = observed.faulty_with("bogus-view-change")
    assert observed.report.view_changes == 0
    for seat in liars:
        assert observed.evidence_against(seat, "invalid-view-change") > 0, seat


@check("censoring-primary")
def _censoring_primary(observed: Observed) -> None:
    assert observed.report.view_changes >= 1
    censored = observed.motions_of("anti-corruption", "environment")
    assert censored and all(m.outcome != "undecided" for m in censored)
    # They waited for the backups to give up on the primary.
    assert all(m.latency_ms is not None and m.latency_ms >= 1_000 for m in censored)


def _state(copy: object) -> tuple[object, ...]:
    """What a twin copy has done: its view, whether it runs it, how far it executed, and the
    views it signed VIEW-CHANGEs for."""
    assert isinstance(copy, Replica)
    return (copy.view, copy.active, copy.last_executed, tuple(sorted(copy.own_view_changes)))


@check("twins")
def _twins(observed: Observed) -> None:
    twin_seats = observed.faulty_with("twins")
    pairs = [node for node in observed.nodes().values() if isinstance(node, TwinPair)]
    assert len(pairs) == len(twin_seats) == 2
    # Each copy heard half of the council and acted on it: the copies end up apart, having
    # signed different messages under one key; agreement held anyway (report.passed).
    assert [pair for pair in pairs if len({_state(copy) for copy in pair.copies}) == 2]
    assert observed.report.verdicts.agreement == "ok"


# -- collusion -------------------------------------------------------------------------------


@check("industry-capture")
def _industry_capture(observed: Observed) -> None:
    counterfactual = observed.report.counterfactual
    assert counterfactual is not None and counterfactual.flipped
    assert 1 in counterfactual.bloc
    assert observed.report.view_changes >= 1, "the censoring primary was replaced"


@check("vote-withholding")
def _vote_withholding(observed: Observed) -> None:
    counterfactual = observed.report.counterfactual
    assert counterfactual is not None and counterfactual.flipped
    withholding = observed.faulty_with("withhold-votes")
    for motion in observed.motions_of("anti-corruption", "constitutional"):
        assert motion.absent >= len(withholding)
        assert not [s for s in withholding if observed.ballot_cast(s, motion.id)]


@check("largest-tolerable-attack")
def _largest_tolerable_attack(observed: Observed) -> None:
    report = observed.report
    colluders = observed.faulty_with("equivocate")
    assert len(colluders) == report.council.f and 1 in colluders
    assert observed.evidence_against(1, "equivocation") > 0
    assert report.view_changes >= 1
    assert report.counterfactual is not None and report.counterfactual.flipped
    _all_decided(observed)


@check("combined-faults")
def _combined_faults(observed: Observed) -> None:
    report = observed.report
    assert observed.evidence_against(1, "equivocation") > 0
    assert report.view_changes >= 1
    assert report.timeline.agents[19].down == [(3_000, 9_000)]
    assert observed.rejected_at_the_edge().get("bad-signature", 0) > 0, "seat 12 forged"
    _all_decided(observed)


@check("beyond-threshold-split-brain")
def _beyond_threshold(observed: Observed) -> None:
    report = observed.report
    assert len(observed.faulty_with("split-brain")) == report.council.f + 1
    assert report.verdicts.agreement == "violated"
    assert report.violation is not None and report.violation.trace
