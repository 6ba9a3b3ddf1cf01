"""``council agent`` on asyncio's own event loop with the collector's default settings, as the
runtime was before :mod:`council.live.runtime`.

Only for ``python -m bench.live --compare-runtime``, which measures both in one run.
"""

from __future__ import annotations

import asyncio

from council.cli import app
from council.live import runtime


def keep_heap_as_is() -> None:
    """No freeze, no new thresholds."""


if __name__ == "__main__":
    runtime.run = asyncio.run
    runtime.settle_heap = keep_heap_as_is
    app()
