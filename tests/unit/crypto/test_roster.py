import json
from pathlib import Path

import pytest

from crypto import KeyFormatError, Roster

KEY_A = bytes([1]) * 32
KEY_B = bytes([2]) * 32


def test_membership_and_lookup() -> None:
    roster = Roster("c", {"agent-01": KEY_B, "agent-00": KEY_A})
    assert "agent-00" in roster
    assert "stranger" not in roster
    assert 17 not in roster
    assert roster.public_key("agent-01") == KEY_B
    assert roster.public_key("stranger") is None
    assert list(roster) == ["agent-00", "agent-01"]
    assert len(roster) == 2


def test_members_are_immutable_and_copied() -> None:
    source = {"agent-00": KEY_A}
    roster = Roster("c", source)
    source["intruder"] = KEY_B
    assert "intruder" not in roster
    with pytest.raises(TypeError):
        roster.members["intruder"] = KEY_B  # type: ignore[index]


def test_equal_rosters_hash_equal() -> None:
    first = Roster("c", {"agent-00": KEY_A, "agent-01": KEY_B})
    second = Roster("c", {"agent-01": KEY_B, "agent-00": KEY_A})
    assert first == second
    assert hash(first) == hash(second)
    assert first != Roster("other", {"agent-00": KEY_A, "agent-01": KEY_B})


@pytest.mark.parametrize(
    "members",
    [{"agent-00": b"short"}, {"": KEY_A}, {"a\x00b": KEY_A}, {"agent-00": "01" * 32}],
)
def test_invalid_members_are_rejected(members: dict[str, bytes]) -> None:
    with pytest.raises(ValueError):
        Roster("c", members)


def test_with_members_adds_without_changing_the_original() -> None:
    roster = Roster("c", {"agent-00": KEY_A})
    grown = roster.with_members({"client-1": KEY_B})
    assert "client-1" in grown
    assert "client-1" not in roster
    assert grown.council_id == "c"


def test_with_members_refuses_to_replace_a_key() -> None:
    roster = Roster("c", {"agent-00": KEY_A})
    assert roster.with_members({"agent-00": KEY_A}) == roster
    with pytest.raises(ValueError, match="agent-00"):
        roster.with_members({"agent-00": KEY_B})


def test_save_load_roundtrip(tmp_path: Path) -> None:
    roster = Roster("council-of-33", {"agent-01": KEY_B, "agent-00": KEY_A})
    path = tmp_path / "roster.json"
    roster.save(path)
    assert Roster.load(path) == roster
    document = json.loads(path.read_text())
    assert document == {
        "council_id": "council-of-33",
        "members": {"agent-00": KEY_A.hex(), "agent-01": KEY_B.hex()},
    }
    assert path.read_text() == roster.to_json()
    assert path.read_text().endswith("}\n")


@pytest.mark.parametrize(
    ("document", "field"),
    [
        ({"members": {}}, "council_id: missing"),
        ({"council_id": "c"}, "members: missing"),
        ({"council_id": 5, "members": {}}, "council_id: expected a string"),
        ({"council_id": "c", "members": []}, "members: expected an object"),
        ({"council_id": "c", "members": {"agent-07": "xyz"}}, r"members\['agent-07'\]"),
        ({"council_id": "c", "members": {"agent-07": "zz" * 32}}, r"members\['agent-07'\]"),
        ({"council_id": "c", "members": {"agent-07": 12}}, r"members\['agent-07'\]"),
        ({"council_id": "c", "members": {"": "01" * 32}}, r"members\[''\]"),
        ({"council_id": "", "members": {}}, "council_id"),
        ({"council_id": "c", "members": {}, "quorum": 22}, "quorum: unexpected field"),
        ([1, 2], "expected a JSON object"),
    ],
)
def test_malformed_roster_error_names_file_and_field(
    tmp_path: Path, document: object, field: str
) -> None:
    path = tmp_path / "roster.json"
    path.write_text(json.dumps(document))
    with pytest.raises(KeyFormatError, match=rf"roster\.json: {field}"):
        Roster.load(path)


def test_roster_that_is_not_json_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "roster.json"
    path.write_text("{not json")
    with pytest.raises(KeyFormatError, match=r"roster\.json: not a JSON document"):
        Roster.load(path)
