"""Profiling chosen agents: the seats named in the environment write a cProfile file."""

from __future__ import annotations

import pstats
from pathlib import Path

import pytest

from council.live.profiling import DIRECTORY_VARIABLE, SEATS_VARIABLE, profiled, profiled_seats


def test_seats_are_read_from_a_comma_separated_list() -> None:
    assert profiled_seats({SEATS_VARIABLE: "1, 7,x,"}) == {1, 7}
    assert profiled_seats({}) == frozenset()


def test_a_named_seat_writes_its_profile_and_others_do_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SEATS_VARIABLE, "3")
    monkeypatch.setenv(DIRECTORY_VARIABLE, str(tmp_path))
    ran: list[int] = []
    profiled(3, lambda: ran.append(3))
    profiled(4, lambda: ran.append(4))
    assert ran == [3, 4]
    assert [path.name for path in tmp_path.iterdir()] == ["seat-03.prof"]
    assert pstats.Stats(str(tmp_path / "seat-03.prof")).get_stats_profile().func_profiles
