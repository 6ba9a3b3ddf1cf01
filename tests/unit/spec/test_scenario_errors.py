"""Every kind of mistake in a scenario file is reported as file:line: field: what was expected."""

from __future__ import annotations

from pathlib import Path

import pytest

from council.scenario import load_scenario
from council.scenario.schema import BlocVote
from council.yamlfile import SpecError, SpecIssue
from tests.unit.spec.support import errors, scenario, write

KINDS = (
    "crash, silent, slow, omit, equivocate, forge, corrupt, replay, censor, out-of-watermarks,"
    " bogus-view-change, bloc-vote, withhold-votes, twins, split-brain"
)


def test_unknown_key_deep_in_the_file_names_its_line_and_the_allowed_keys(tmp_path: Path) -> None:
    path = scenario(
        tmp_path,
        """
        network:
          phases:
            - from_ms: 100
              until_ms: 200
              latency: {distribution: fixed,
                        latncy: 3}
        """,
    )
    assert errors(path) == [
        f"{path}:8: network.phases[0].latency.latncy: unknown key 'latncy';"
        " expected one of: distribution, base_ms, jitter_ms"
    ]


def test_unknown_key_in_network_lists_the_network_keys(tmp_path: Path) -> None:
    path = scenario(tmp_path, "network:\n  latncy: 3\n")
    assert errors(path) == [
        f"{path}:4: network.latncy: unknown key 'latncy';"
        " expected one of: latency, loss, duplicate, reorder, phases"
    ]


def test_wrong_type_says_what_was_expected_and_what_was_found(tmp_path: Path) -> None:
    path = scenario(tmp_path, "seed: seven\nduration_ms: [1]\n")
    assert errors(path) == [
        f"{path}:3: seed: expected an integer, got 'seven'",
        f"{path}:4: duration_ms: expected an integer, got a list",
    ]


def test_probability_out_of_range(tmp_path: Path) -> None:
    path = scenario(tmp_path, "network:\n  loss: 0.1\n  duplicate: 1.5\n")
    assert errors(path) == [
        f"{path}:5: network.duplicate: expected a number between 0 and 1, got 1.5"
    ]


def test_missing_required_field_points_at_its_mapping(tmp_path: Path) -> None:
    path = scenario(
        tmp_path,
        """
        motions:
          - {id: M-1, title: Audit, category: budget, at_ms: 100}
          - id: M-2
            at_ms: 200
        """,
    )
    assert errors(path) == [f"{path}:5: motions[1].category: required, but missing"]


def test_missing_top_level_field(tmp_path: Path) -> None:
    path = write(tmp_path, "scenario.yaml", "name: test\nseed: 3\n")
    assert errors(path) == [f"{path}:1: council: required, but missing"]


def test_unknown_behaviour_kind_lists_every_kind(tmp_path: Path) -> None:
    path = scenario(
        tmp_path,
        """
        faulty:
          - seats: [1]
            behaviours:
              - {kind: equivocate}
              - kind: bloc-voet
                vote: "no"
        """,
    )
    assert errors(path) == [
        f"{path}:7: faulty[0].behaviours[1].kind: unknown kind 'bloc-voet';"
        f" expected one of: {KINDS}"
    ]


def test_behaviour_without_kind(tmp_path: Path) -> None:
    path = scenario(tmp_path, "faulty:\n  - seats: [1]\n    behaviours:\n      - {vote: 'no'}\n")
    assert errors(path) == [
        f"{path}:6: faulty[0].behaviours[0].kind: required, but missing; expected one of: {KINDS}"
    ]


def test_parameter_of_another_behaviour_kind_is_an_unknown_key(tmp_path: Path) -> None:
    path = scenario(
        tmp_path,
        """
        faulty:
          - constituency: industry
            behaviours:
              - kind: silent
                delay_ms: 50
        """,
    )
    assert errors(path) == [
        f"{path}:7: faulty[0].behaviours[0].delay_ms: unknown key 'delay_ms';"
        " expected one of: kind, from_ms, until_ms"
    ]


def test_behaviour_parameter_with_a_bad_value_names_the_behaviour_path(tmp_path: Path) -> None:
    path = scenario(
        tmp_path,
        """
        faulty:
          - seats: [2]
            behaviours:
              - {kind: bloc-vote, vote: maybe}
              - {kind: crash, at_ms: 500, restart_at_ms: 400}
              - {kind: equivocate, from_ms: 300, until_ms: 300}
        """,
    )
    assert errors(path) == [
        f"{path}:6: faulty[0].behaviours[0].vote: expected one of: yes, no, abstain, got 'maybe'",
        f"{path}:7: faulty[0].behaviours[1].restart_at_ms: expected a time after at_ms (500),"
        " got 400",
        f"{path}:8: faulty[0].behaviours[2].until_ms: expected a time after from_ms (300), got 300",
    ]


def test_unquoted_yes_and_no_are_votes(tmp_path: Path) -> None:
    path = scenario(
        tmp_path,
        "faulty:\n  - seats: [2]\n    behaviours: [{kind: bloc-vote, vote: no}]\n",
    )
    behaviour = load_scenario(path).faulty_seats[2][0]
    assert isinstance(behaviour, BlocVote)
    assert behaviour.vote == "no"


def test_unknown_constituency(tmp_path: Path) -> None:
    path = scenario(
        tmp_path,
        """
        faulty:
          - constituency: industri
            behaviours: [{kind: silent}]
        """,
    )
    assert errors(path) == [
        f"{path}:4: faulty[0].constituency: unknown constituency 'industri';"
        " expected one of: government, industry, academia, civil-society"
    ]


def test_seat_out_of_range(tmp_path: Path) -> None:
    path = scenario(
        tmp_path,
        """
        faulty:
          - seats: [1,
                    34]
            behaviours: [{kind: silent}]
        """,
    )
    assert errors(path) == [
        f"{path}:5: faulty[0].seats[1]: expected a seat number from 1 to 33, got 34"
    ]


def test_seat_numbers_start_at_one(tmp_path: Path) -> None:
    path = scenario(tmp_path, "faulty:\n  - seats: [0]\n    behaviours: [{kind: silent}]\n")
    assert errors(path) == [f"{path}:4: faulty[0].seats[0]: expected a value at least 1, got 0"]


def test_selector_must_choose_one_way(tmp_path: Path) -> None:
    path = scenario(tmp_path, "faulty:\n  - {seats: [1], count: 2, behaviours: [{kind: silent}]}\n")
    assert errors(path) == [
        f"{path}:4: faulty[0]: expected exactly one of seats, constituency or count"
        " (constituency may be combined with count), got seats, count"
    ]


def test_a_seat_in_two_faulty_groups(tmp_path: Path) -> None:
    path = scenario(
        tmp_path,
        """
        faulty:
          - {seats: [1, 10], behaviours: [{kind: silent}]}
          - {constituency: industry, behaviours: [{kind: forge}]}
        """,
    )
    assert errors(path) == [
        f"{path}:5: faulty[1]: seat 10 is already in faulty[0]; a seat can be in one faulty"
        " group only"
    ]


def test_split_brain_group_must_include_seat_one(tmp_path: Path) -> None:
    path = scenario(
        tmp_path,
        "faulty:\n  - constituency: industry\n    behaviours:\n      - kind: split-brain\n",
    )
    assert errors(path) == [
        f"{path}:6: faulty[0].behaviours[0].kind: split-brain is led by seat 1 (the first"
        " primary); include seat 1"
    ]


def test_unknown_categories_and_motions(tmp_path: Path) -> None:
    path = scenario(
        tmp_path,
        """
        faulty:
          - seats: [1]
            behaviours:
              - {kind: censor, categories: [budget, anti-corruptoin]}
              - {kind: bloc-vote, vote: "yes", motions: [M-1, M-2]}
        motions:
          - {id: M-1, title: Audit, category: budgte, at_ms: 100}
        expect:
          outcomes: {M-3: adopted}
        """,
    )
    categories = "budget, environment, anti-corruption, appointments, constitutional, treaty"
    assert errors(path) == [
        f"{path}:6: faulty[0].behaviours[0].categories[1]: unknown category 'anti-corruptoin';"
        f" expected one of: {categories}",
        f"{path}:7: faulty[0].behaviours[1].motions[1]: unknown motion 'M-2'; expected one of: M-1",
        f"{path}:9: motions[0].category: unknown category 'budgte'; expected one of: {categories}",
        f"{path}:11: expect.outcomes.M-3: unknown motion 'M-3'; expected one of: M-1",
    ]


def test_duplicate_motion_ids_including_generated_ones(tmp_path: Path) -> None:
    path = scenario(
        tmp_path,
        """
        motions:
          - {id: G-2, title: First, category: budget, at_ms: 100}
          - {id: M-1, title: Second, category: budget, at_ms: 200}
          - {id: M-1, title: Third, category: budget, at_ms: 300}
          - generate: {count: 3, prefix: G-}
        """,
    )
    assert errors(path) == [
        f"{path}:6: motions[2].id: duplicate motion id 'M-1' (also motions[1])",
        f"{path}:7: motions[3].generate.prefix: generates id 'G-2', already used by motions[0]",
    ]


def test_several_errors_come_sorted_by_line_with_their_tuples(tmp_path: Path) -> None:
    path = scenario(tmp_path, "seed: -1\nnetwork: {loss: 2}\nexpect: {safety: fine}\n")
    with pytest.raises(SpecError) as caught:
        load_scenario(path)
    assert [issue.line for issue in caught.value.errors] == [3, 4, 5]
    assert caught.value.errors[1] == SpecIssue(
        str(path), 4, "network.loss", "expected a number between 0 and 1, got 2"
    )
    assert caught.value.errors[2].message == "expected one of: holds, violated, got 'fine'"


def test_duplicate_keys_are_errors(tmp_path: Path) -> None:
    path = scenario(tmp_path, "seed: 1\nseed: 2\n")
    assert errors(path) == [f"{path}:4: seed: duplicate key 'seed' (first given on line 3)"]


def test_yaml_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    path = scenario(tmp_path, "motions:\n  - {id: M-1, title: [unclosed\nseed: 3\n")
    (line,) = errors(path)
    assert line.startswith(f"{path}:5: (syntax): invalid YAML: ")


def test_bad_indentation_is_a_syntax_error(tmp_path: Path) -> None:
    path = scenario(tmp_path, "network:\n  loss: 0.1\n duplicate: 0.2\n")
    (line,) = errors(path)
    assert line.startswith(f"{path}:5: (syntax): invalid YAML: ")


def test_an_unprintable_character_is_a_syntax_error(tmp_path: Path) -> None:
    path = scenario(tmp_path, "seed: 3\ndescription: bell\x07\n")
    assert errors(path) == [
        f"{path}:4: (syntax): invalid YAML: unacceptable character #x0007"
        " (special characters are not allowed)"
    ]


def test_unreadable_file(tmp_path: Path) -> None:
    missing = tmp_path / "missing.yaml"
    assert errors(missing) == [f"{missing}:0: (file): cannot read: No such file or directory"]
    assert errors(tmp_path)[0].startswith(f"{tmp_path}:0: (file): cannot read: ")


def test_empty_file_and_non_mapping_file(tmp_path: Path) -> None:
    empty = write(tmp_path, "empty.yaml", "# nothing here\n")
    assert errors(empty) == [
        f"{empty}:1: (top level): the file is empty; expected a mapping with name, council"
    ]
    listing = write(tmp_path, "list.yaml", "- name: test\n")
    assert errors(listing) == [f"{listing}:1: (top level): expected a mapping, got a list"]


def test_council_that_is_neither_path_nor_mapping(tmp_path: Path) -> None:
    path = write(tmp_path, "scenario.yaml", "name: test\ncouncil: 33\n")
    assert errors(path) == [
        f"{path}:2: council: expected a council file path (relative to this file) or an"
        " inline council mapping, got 33"
    ]
