"""Hypothesis profiles for the property tests; choose one with ``HYPOTHESIS_PROFILE``.

- ``default`` keeps ``make test`` quick: 100 examples, state machines of up to 60 steps;
- ``long`` is what ``make test-long`` sweeps with (the ``slow`` tests use it whatever the
  environment says): many more examples and longer programs.

No deadline in either: a step of the state machine may verify dozens of signatures, and a
slow machine must not turn that into a failure.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "default",
    max_examples=100,
    stateful_step_count=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "long",
    max_examples=1_000,
    stateful_step_count=120,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
