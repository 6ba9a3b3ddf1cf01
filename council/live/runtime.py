"""How a live process runs: its event loop, and its garbage collector.

An agent under load wakes for every MQTT message and allocates thousands of short-lived objects
per PBFT instance (decoded messages, envelopes, results), so two settings matter:

- **uvloop** replaces asyncio's pure-Python event loop with libuv when it is installed (it is
  on Linux and macOS; Windows falls back to asyncio). Every wake-up, socket read and timer
  costs less; nothing else changes, since aiomqtt only asks the loop for socket readiness.
- **The garbage collector** runs a young-generation pass every 700 allocations by default,
  and every few of those rescan what survived. Nearly everything an agent allocates dies by
  reference counting, so those passes find little; :func:`settle_heap` moves what start-up
  built (modules, keys, the roster, schemas) out of the collector's sight and makes passes
  rarer. Cycles are still collected, just less often.

``python -m bench.live --compare-runtime`` measures the difference on a saturated council.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Coroutine
from typing import Any, Final, TypeVar

T = TypeVar("T")

#: Allocations (net of frees) between young-generation passes, instead of 700.
YOUNG_PASS_EVERY: Final = 10_000
#: Young passes per middle pass, and middle passes per full pass (the defaults are 10 and 10).
OLDER_PASS_EVERY: Final = 20


def run(main: Coroutine[Any, Any, T]) -> T:
    """Run ``main`` to completion on uvloop when it is installed, else on asyncio's loop."""
    try:
        import uvloop
    except ImportError:  # no wheel for this platform: the standard loop works the same
        return asyncio.run(main)
    return uvloop.run(main)


def loop_name(loop: asyncio.AbstractEventLoop) -> str:
    """``uvloop`` or ``asyncio``: which loop a process runs on, for its log."""
    return type(loop).__module__.split(".")[0]


def settle_heap() -> None:
    """Tune the collector for a long-running process whose start-up is over."""
    gc.collect()
    gc.freeze()  # what start-up built lives as long as the process: never scan it again
    gc.set_threshold(YOUNG_PASS_EVERY, OLDER_PASS_EVERY, OLDER_PASS_EVERY)
