"""The long seed sweeps (``@pytest.mark.slow``) run only when a marker expression is given.

``make test`` passes ``-m "not slow"`` and ``make test-long`` passes ``-m slow``; a bare
``pytest tests/sim`` leaves the 5,000-seed sweep out instead of running it by surprise.
"""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("markexpr", default=""):
        return  # pytest applies the expression itself
    slow = [item for item in items if item.get_closest_marker("slow") is not None]
    if slow:
        config.hook.pytest_deselected(items=slow)
        items[:] = [item for item in items if item.get_closest_marker("slow") is None]
