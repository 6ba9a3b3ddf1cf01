"""The live processes' event loop and garbage-collector settings."""

from __future__ import annotations

import asyncio
import gc
import sys
import weakref
from collections.abc import Iterator

import pytest

from council.live import runtime


async def running_loop_name() -> str:
    await asyncio.sleep(0)
    return runtime.loop_name(asyncio.get_running_loop())


def test_run_uses_uvloop_where_it_is_installed() -> None:
    pytest.importorskip("uvloop")
    assert runtime.run(running_loop_name()) == "uvloop"


def test_run_falls_back_to_asyncio_without_uvloop(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "uvloop", None)  # import uvloop now raises ImportError
    assert runtime.run(running_loop_name()) == "asyncio"


def test_run_returns_the_coroutine_result_and_raises_its_errors() -> None:
    async def answer() -> int:
        return 42

    async def fail() -> None:
        raise LookupError("no such motion")

    assert runtime.run(answer()) == 42
    with pytest.raises(LookupError, match="no such motion"):
        runtime.run(fail())


@pytest.fixture
def collector_restored() -> Iterator[None]:
    thresholds = gc.get_threshold()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)


@pytest.mark.usefixtures("collector_restored")
def test_settle_heap_freezes_start_up_and_spaces_out_collections() -> None:
    gc.unfreeze()
    start_up = [[index] for index in range(1_000)]  # objects a process built while starting
    runtime.settle_heap()
    assert gc.get_freeze_count() >= len(start_up)
    assert gc.get_threshold() == (
        runtime.YOUNG_PASS_EVERY,
        runtime.OLDER_PASS_EVERY,
        runtime.OLDER_PASS_EVERY,
    )
    assert gc.isenabled()


@pytest.mark.usefixtures("collector_restored")
def test_cycles_made_after_settling_are_collected_without_being_asked() -> None:
    runtime.settle_heap()

    class Node:
        partner: object = None

    first, second = Node(), Node()
    first.partner, second.partner = second, first
    collected = weakref.ref(first)
    del first, second
    assert collected() is not None  # a cycle: reference counting alone cannot free it
    kept = [[index] for index in range(3 * runtime.YOUNG_PASS_EVERY)]  # allocations go on
    assert collected() is None, f"no automatic pass after {len(kept)} allocations"
