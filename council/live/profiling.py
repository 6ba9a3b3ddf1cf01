"""Profile chosen agents of a running council with cProfile, to see where an agent's time goes.

::

    COUNCIL_PROFILE_SEATS=1,7 COUNCIL_PROFILE_DIR=/tmp/profiles council up ...

Each named seat writes ``seat-NN.prof`` (``pstats`` format) into the directory when it stops
cleanly (SIGTERM or Ctrl-C). The variables reach the agents through the supervisor, whose child
processes inherit its environment. A profiled agent runs about half as fast: profile one seat,
not the council. Time is CPU time: on a busy machine wall time would charge a function for
the moments the process waited for a core.
"""

from __future__ import annotations

import cProfile
import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Final

SEATS_VARIABLE: Final = "COUNCIL_PROFILE_SEATS"
DIRECTORY_VARIABLE: Final = "COUNCIL_PROFILE_DIR"


def profiled_seats(environ: Mapping[str, str] | None = None) -> frozenset[int]:
    """The seats named by ``COUNCIL_PROFILE_SEATS`` (none when unset or not numbers)."""
    text = (os.environ if environ is None else environ).get(SEATS_VARIABLE, "")
    return frozenset(int(item) for item in text.split(",") if item.strip().isdigit())


def profiled(seat: int, run: Callable[[], None]) -> None:
    """``run()``, under cProfile when ``seat`` is one of the profiled seats."""
    if seat not in profiled_seats():
        run()
        return
    directory = Path(os.environ.get(DIRECTORY_VARIABLE, "."))
    directory.mkdir(parents=True, exist_ok=True)
    profiler = cProfile.Profile(time.process_time)
    profiler.enable()
    try:
        run()
    finally:
        profiler.disable()
        profiler.dump_stats(directory / f"seat-{seat:02d}.prof")
