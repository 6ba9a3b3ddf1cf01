"""Messages decode strictly from the exact text that was signed."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from consensus import NULL_DIGEST, Envelope, MalformedMessage, decode, seal
from consensus.messages import Prepare, batch_digest, canonical_json, encode
from tests.regressions.harness import Council

DIGEST = "ab" * 32


@pytest.fixture(scope="module")
def council() -> Council:
    return Council(4)


def prepare_fields() -> dict[str, object]:
    return {"digest": DIGEST, "kind": "prepare", "replica": 1, "seq": 3, "view": 0}


def signed_body(council: Council, body: dict[str, object], kind: str = "prepare") -> Envelope:
    return council.sign_text(1, kind, canonical_json(body))


def test_a_well_formed_body_decodes_to_its_message(council: Council) -> None:
    message = decode(signed_body(council, prepare_fields()))
    assert message == Prepare(digest=DIGEST, replica=1, seq=3, view=0)


def test_an_unknown_field_is_rejected(council: Council) -> None:
    with pytest.raises(MalformedMessage):
        decode(signed_body(council, prepare_fields() | {"weight": 2}))
    with pytest.raises(ValidationError):
        Prepare(digest=DIGEST, replica=1, seq=3, view=0, weight=2)  # type: ignore[call-arg]
    envelope = seal(council.signer(1), Prepare(digest=DIGEST, replica=1, seq=3, view=0))
    with pytest.raises(ValidationError):
        Envelope.model_validate(envelope.model_dump() | {"relayed_by": "r2"})


def test_an_envelope_whose_kind_differs_from_its_body_is_rejected(council: Council) -> None:
    with pytest.raises(MalformedMessage):
        decode(signed_body(council, prepare_fields(), kind="commit"))
    with pytest.raises(MalformedMessage):
        decode(signed_body(council, prepare_fields(), kind="vote"))


@pytest.mark.parametrize("field", ["view", "seq", "replica"])
def test_a_boolean_is_not_accepted_as_an_integer(council: Council, field: str) -> None:
    with pytest.raises(MalformedMessage):
        decode(signed_body(council, prepare_fields() | {field: True}))


@pytest.mark.parametrize(
    ("field", "value"),
    [("seq", 0), ("view", -1), ("replica", "1"), ("seq", 3.0), ("digest", DIGEST.upper())],
)
def test_out_of_range_or_mistyped_values_are_rejected(
    council: Council, field: str, value: object
) -> None:
    with pytest.raises(MalformedMessage):
        decode(signed_body(council, prepare_fields() | {field: value}))


def test_the_signed_text_is_the_canonical_json_of_the_message() -> None:
    message = Prepare(digest=DIGEST, replica=1, seq=3, view=0)
    assert encode(message) == canonical_json(json.loads(encode(message)))
    assert encode(message) == canonical_json(prepare_fields())


def test_a_batch_digest_depends_on_the_order_of_its_requests(council: Council) -> None:
    first, second = council.request("alice", 1), council.request("bob", 1)
    assert batch_digest((first, second)) != batch_digest((second, first))
    assert batch_digest((first, second)) == batch_digest((first, second))
    assert batch_digest((first,)) not in (batch_digest((second,)), NULL_DIGEST)
    assert batch_digest(()) == NULL_DIGEST


def test_a_copy_with_other_bytes_inherits_no_verdict_and_no_decoded_message(
    council: Council,
) -> None:
    genuine = signed_body(council, prepare_fields())
    assert council.verifier.verify(genuine) and isinstance(decode(genuine), Prepare)
    forged = genuine.model_copy(update={"signature": "0" * 128})
    assert not council.verifier.verify(forged)
    other = genuine.model_copy(update={"body": genuine.body.replace('"seq":3', '"seq":4')})
    assert isinstance(message := decode(other), Prepare) and message.seq == 4
    # A detached copy has the same signed bytes: what was worked out about them still holds.
    assert genuine.detached().memo is genuine.memo
