"""Generated motions: ids, categories and times follow the batch; merits follow the seed."""

from __future__ import annotations

from pathlib import Path

from council.scenario import load_scenario
from tests.unit.spec.support import scenario

MOTIONS = """
seed: 11
motions:
  - generate: {count: 6, prefix: G-, categories: [budget, environment], from_ms: 500, every_ms: 300}
  - {id: M-1, title: Audit the procurement office, category: anti-corruption, at_ms: 1000,
     merit: 0.9}
  - generate: {count: 2, prefix: T-, categories: [treaty], merit: 0.25}
"""


def test_batches_expand_into_motions_sorted_by_time(tmp_path: Path) -> None:
    loaded = load_scenario(scenario(tmp_path, MOTIONS))
    assert [(m.id, m.category, m.at_ms) for m in loaded.motions] == [
        ("T-1", "treaty", 0),
        ("G-1", "budget", 500),
        ("G-2", "environment", 800),
        ("M-1", "anti-corruption", 1000),  # ties keep the file's order
        ("T-2", "treaty", 1000),
        ("G-3", "budget", 1100),
        ("G-4", "environment", 1400),
        ("G-5", "budget", 1700),
        ("G-6", "environment", 2000),
    ]
    explicit = next(m for m in loaded.motions if m.id == "M-1")
    assert (explicit.title, explicit.merit, explicit.submitter) == (
        "Audit the procurement office",
        0.9,
        "secretariat",
    )
    assert {m.merit for m in loaded.motions if m.id.startswith("T-")} == {0.25}


def test_generated_merits_are_the_same_for_the_same_seed(tmp_path: Path) -> None:
    path = scenario(tmp_path, MOTIONS)
    assert load_scenario(path).motions == load_scenario(path).motions
    merits = [m.merit for m in load_scenario(path).motions if m.id.startswith("G-")]
    assert all(0.0 <= merit <= 1.0 for merit in merits)
    assert len(set(merits)) > 1


def test_another_seed_draws_other_merits(tmp_path: Path) -> None:
    path = scenario(tmp_path, MOTIONS)
    first = load_scenario(path)
    other = load_scenario(path, seed=12)
    assert other.scenario.seed == 12
    assert [m.id for m in other.motions] == [m.id for m in first.motions]
    assert [m.merit for m in other.motions] != [m.merit for m in first.motions]


def test_batch_without_categories_cycles_through_the_council_categories(tmp_path: Path) -> None:
    loaded = load_scenario(scenario(tmp_path, "motions: [{generate: {count: 7}}]\n"))
    assert [m.category for m in loaded.motions] == [
        "budget",
        "environment",
        "anti-corruption",
        "appointments",
        "constitutional",
        "treaty",
        "budget",
    ]
