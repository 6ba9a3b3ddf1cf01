"""Operations have one canonical text, and anything else is refused with a reason."""

from __future__ import annotations

import json

import pytest

from council.governance import (
    BallotOp,
    CloseOp,
    MotionOp,
    ballot_operation,
    close_operation,
    motion_operation,
    parse_operation,
)


def test_builders_give_canonical_json() -> None:
    assert motion_operation("M-1", "Audit", "All of it.", "budget", 1200) == (
        '{"at_ms":1200,"category":"budget","id":"M-1","op":"motion",'
        '"text":"All of it.","title":"Audit"}'
    )
    assert ballot_operation("M-1", "yes") == '{"motion":"M-1","op":"ballot","vote":"yes"}'
    assert close_operation("M-1", 25000) == '{"at_ms":25000,"motion":"M-1","op":"close"}'


def test_parse_inverts_the_builders() -> None:
    assert parse_operation(motion_operation("M-1", "t", "x", "budget", 5)) == MotionOp(
        id="M-1", title="t", text="x", category="budget", at_ms=5
    )
    assert parse_operation(ballot_operation("M-1", "abstain")) == BallotOp(
        motion="M-1", vote="abstain"
    )
    assert parse_operation(close_operation("M-1", 9)) == CloseOp(motion="M-1", at_ms=9)


def test_parse_accepts_any_key_order_and_spacing() -> None:
    assert parse_operation('{ "vote": "no", "op": "ballot", "motion": "M-2" }') == BallotOp(
        motion="M-2", vote="no"
    )


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("not json", "operation is not JSON"),
        ("[1, 2]", "operation is not a JSON object"),
        ('{"motion": "M-1"}', "unknown operation None"),
        ('{"op": "veto", "motion": "M-1"}', "unknown operation 'veto'"),
        ('{"op": "ballot", "motion": "M-1", "vote": "maybe"}', "ballot: vote:"),
        ('{"op": "ballot", "motion": "M-1"}', "ballot: vote: Field required"),
        ('{"op": "ballot", "motion": "M-1", "vote": "yes", "weight": 2}', "ballot: weight:"),
        ('{"op": "close", "motion": "M-1", "at_ms": "25000"}', "close: at_ms:"),
        ('{"op": "close", "motion": "M-1", "at_ms": true}', "close: at_ms:"),
        ('{"op": "close", "motion": "M-1", "at_ms": -1}', "close: at_ms:"),
        ('{"op": "close", "motion": "", "at_ms": 1}', "close: motion:"),
        (
            json.dumps({"op": "motion", "id": "M-1", "title": "t", "text": "x", "at_ms": 0}),
            "motion: category: Field required",
        ),
    ],
)
def test_malformed_operations_are_refused_with_a_reason(text: str, reason: str) -> None:
    with pytest.raises(ValueError) as refused:
        parse_operation(text)
    assert str(refused.value).startswith(reason)


def test_builders_refuse_what_parse_would_refuse() -> None:
    with pytest.raises(ValueError, match="vote"):
        ballot_operation("M-1", "maybe")
    with pytest.raises(ValueError, match="at_ms"):
        close_operation("M-1", -5)
