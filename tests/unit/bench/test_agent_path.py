"""The in-process agent benchmark orders real batches through 33 agent cores."""

from __future__ import annotations

import pytest

from bench.agent_path import SEATS, measure_agent_path, measure_marginal


def test_a_council_of_agent_cores_orders_batches_with_relayed_votes() -> None:
    figures = measure_agent_path(batch=3, instances=2)
    # Every seat checks the signature of every request in the batch, and of the votes it gets.
    assert figures.verifications_per_instance >= 3 * SEATS
    # Relayed votes: deliveries grow with n, not with n² (all-to-all would be about 2n²).
    assert figures.deliveries_per_instance < 8 * SEATS
    assert figures.cpu_ms_per_instance > 0
    shown = figures.as_json(verify_us=40.0)
    assert 0 < shown["verify_share"] < 1
    assert shown["batch"] == 3


def test_one_more_request_costs_each_seat_one_verification() -> None:
    marginal = measure_marginal(small=2, large=6, instances=1)
    # Every seat checks every request's signature once, whatever the batch size.
    assert marginal.verifications == pytest.approx(SEATS, abs=1)
    # The CPU figures are a difference of two timings: on a loaded machine a tiny one can come
    # out negative, so only `make bench` judges them; here, that they are reported.
    shown = marginal.as_json(verify_us=40.0)
    assert shown["batches"] == [2, 6]
    assert {"cpu_ms_per_request", "verify_share"} <= shown.keys()


def test_the_marginal_cost_needs_two_batch_sizes_in_order() -> None:
    with pytest.raises(ValueError, match="0 < small < large"):
        measure_marginal(small=6, large=6)
