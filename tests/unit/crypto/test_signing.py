import pytest

from crypto import (
    DOMAIN,
    Backend,
    PrivateKey,
    Roster,
    Signer,
    Verifier,
    signing_bytes,
)
from tests.unit.crypto.conftest import COUNCIL_ID

BODY = b'{"digest":"ab12","seq":5,"view":0}'


def flip(data: bytes, index: int) -> bytes:
    return data[:index] + bytes([data[index] ^ 0x01]) + data[index + 1 :]


def test_signing_bytes_layout() -> None:
    assert signing_bytes("c", "agent-00", "PREPARE", b"\x00body") == (
        DOMAIN + b"\x00c\x00agent-00\x00PREPARE\x00\x00body"
    )


@pytest.mark.parametrize(
    ("council_id", "principal", "kind"),
    [("c\x00", "p", "k"), ("c", "p\x00", "k"), ("c", "p", "k\x00")],
)
def test_signing_bytes_rejects_nul_in_text_fields(
    council_id: str, principal: str, kind: str
) -> None:
    with pytest.raises(ValueError, match="NUL"):
        signing_bytes(council_id, principal, kind, BODY)


def test_roundtrip(signers: dict[str, Signer], verifier: Verifier) -> None:
    signature = signers["agent-00"].sign("PREPARE", BODY)
    assert len(signature) == 64
    assert verifier.verify("agent-00", "PREPARE", BODY, signature)


def test_signer_signs_the_documented_bytes(
    keys: dict[str, PrivateKey], signers: dict[str, Signer], backend: Backend
) -> None:
    signer = signers["agent-01"]
    signature = signer.sign("COMMIT", BODY)
    data = signing_bytes(COUNCIL_ID, "agent-01", "COMMIT", BODY)
    assert backend.verify(keys["agent-01"].public_key(), data, signature)
    assert signer.public_key == keys["agent-01"].public_key()
    assert (signer.council_id, signer.principal) == (COUNCIL_ID, "agent-01")


@pytest.mark.parametrize("index", [0, len(BODY) // 2, len(BODY) - 1])
def test_flipped_body_byte_is_rejected(
    signers: dict[str, Signer], verifier: Verifier, index: int
) -> None:
    signature = signers["agent-00"].sign("PREPARE", BODY)
    assert not verifier.verify("agent-00", "PREPARE", flip(BODY, index), signature)


@pytest.mark.parametrize("index", [0, 31, 32, 63])
def test_flipped_signature_byte_is_rejected(
    signers: dict[str, Signer], verifier: Verifier, index: int
) -> None:
    signature = signers["agent-00"].sign("PREPARE", BODY)
    assert not verifier.verify("agent-00", "PREPARE", BODY, flip(signature, index))


def test_another_principals_signature_is_rejected(
    signers: dict[str, Signer], verifier: Verifier
) -> None:
    signature = signers["agent-01"].sign("PREPARE", BODY)
    assert not verifier.verify("agent-00", "PREPARE", BODY, signature)


def test_signature_from_another_council_is_rejected(
    keys: dict[str, PrivateKey], verifier: Verifier, backend: Backend
) -> None:
    foreign = Signer("another-council", "agent-00", keys["agent-00"], backend)
    signature = foreign.sign("PREPARE", BODY)
    assert not verifier.verify("agent-00", "PREPARE", BODY, signature)


def test_signature_moved_to_another_kind_is_rejected(
    signers: dict[str, Signer], verifier: Verifier
) -> None:
    signature = signers["agent-00"].sign("PREPARE", BODY)
    assert not verifier.verify("agent-00", "COMMIT", BODY, signature)


def test_kind_and_body_boundary_cannot_be_shifted(
    signers: dict[str, Signer], verifier: Verifier
) -> None:
    signature = signers["agent-00"].sign("PRE", b"PARE\x00" + BODY)
    assert not verifier.verify("agent-00", "PREPARE", BODY, signature)


def test_non_member_sender_is_rejected(roster: Roster, backend: Backend) -> None:
    outsider = Signer(COUNCIL_ID, "outsider", PrivateKey.derive(7, "outsider"), backend)
    verifier = Verifier(roster, backend)
    signature = outsider.sign("PREPARE", BODY)
    assert not verifier.verify("outsider", "PREPARE", BODY, signature)
    assert verifier.stats.failures == 1
    assert verifier.stats.misses == 0


@pytest.mark.parametrize("length", [0, 1, 32, 63])
def test_truncated_signature_is_rejected(
    signers: dict[str, Signer], verifier: Verifier, length: int
) -> None:
    signature = signers["agent-00"].sign("PREPARE", BODY)
    assert not verifier.verify("agent-00", "PREPARE", BODY, signature[:length])


def test_overlong_signature_is_rejected(signers: dict[str, Signer], verifier: Verifier) -> None:
    signature = signers["agent-00"].sign("PREPARE", BODY)
    assert not verifier.verify("agent-00", "PREPARE", BODY, signature + b"\x00")


def test_malformed_arguments_are_rejected_without_raising(
    signers: dict[str, Signer], verifier: Verifier
) -> None:
    signature = signers["agent-00"].sign("PREPARE", BODY)
    assert not verifier.verify("agent-00", "PREPARE", bytearray(BODY), signature)  # type: ignore[arg-type]
    assert not verifier.verify("agent-00", b"PREPARE", BODY, signature)  # type: ignore[arg-type]
    assert not verifier.verify("agent-00", "PREPARE\x00", BODY, signature)
    assert not verifier.verify("agent-00", "PREPARE\udc80", BODY, signature)
    assert not verifier.verify(["agent-00"], "PREPARE", BODY, signature)  # type: ignore[arg-type]
    assert not verifier.verify("agent-00", "PREPARE", BODY, None)  # type: ignore[arg-type]
    assert verifier.stats.failures == 6


def test_cache_hit_is_counted(signers: dict[str, Signer], verifier: Verifier) -> None:
    signature = signers["agent-00"].sign("PREPARE", BODY)
    assert verifier.verify("agent-00", "PREPARE", BODY, signature)
    assert (verifier.stats.hits, verifier.stats.misses) == (0, 1)
    assert verifier.verify("agent-00", "PREPARE", bytes(BODY), signature)
    assert (verifier.stats.hits, verifier.stats.misses) == (1, 1)


def test_tampered_body_is_not_a_cache_hit(signers: dict[str, Signer], verifier: Verifier) -> None:
    signature = signers["agent-00"].sign("PREPARE", BODY)
    assert verifier.verify("agent-00", "PREPARE", BODY, signature)
    assert not verifier.verify("agent-00", "PREPARE", flip(BODY, 3), signature)
    assert not verifier.verify("agent-01", "PREPARE", BODY, signature)
    assert not verifier.verify("agent-00", "COMMIT", BODY, signature)
    assert verifier.stats.hits == 0
    assert verifier.stats.failures == 3


def test_failures_are_not_cached_as_successes(
    signers: dict[str, Signer], verifier: Verifier
) -> None:
    forged = flip(signers["agent-00"].sign("PREPARE", BODY), 5)
    for _ in range(3):
        assert not verifier.verify("agent-00", "PREPARE", BODY, forged)
    # a replayed forgery is remembered: checked once, rejected thrice
    assert verifier.stats.misses == 1
    assert verifier.stats.failures == 3
    assert verifier.stats.hits == 0


def test_cache_is_bounded_and_evicts_oldest(
    signers: dict[str, Signer], roster: Roster, backend: Backend
) -> None:
    verifier = Verifier(roster, backend, cache_size_max=2)
    signer = signers["agent-02"]
    bodies = [b"first", b"second", b"third"]
    signatures = [signer.sign("COMMIT", body) for body in bodies]
    for body, signature in zip(bodies, signatures, strict=True):
        assert verifier.verify("agent-02", "COMMIT", body, signature)
    assert verifier.verify("agent-02", "COMMIT", bodies[2], signatures[2])
    assert verifier.stats.hits == 1
    assert verifier.verify("agent-02", "COMMIT", bodies[0], signatures[0])  # evicted: checked again
    assert verifier.stats.hits == 1
    assert verifier.stats.misses == 4


def test_cache_can_be_disabled(
    signers: dict[str, Signer], roster: Roster, backend: Backend
) -> None:
    verifier = Verifier(roster, backend, cache_size_max=0)
    signature = signers["agent-00"].sign("PREPARE", BODY)
    assert verifier.verify("agent-00", "PREPARE", BODY, signature)
    assert verifier.verify("agent-00", "PREPARE", BODY, signature)
    assert (verifier.stats.hits, verifier.stats.misses) == (0, 2)


def test_signatures_verify_across_backends(keys: dict[str, PrivateKey], roster: Roster) -> None:
    from crypto import BACKENDS

    nacl, openssl = BACKENDS["pynacl"], BACKENDS["cryptography"]
    nacl_signature = Signer(COUNCIL_ID, "agent-03", keys["agent-03"], nacl).sign("VOTE", BODY)
    openssl_signature = Signer(COUNCIL_ID, "agent-03", keys["agent-03"], openssl).sign("VOTE", BODY)
    assert nacl_signature == openssl_signature
    assert Verifier(roster, openssl).verify("agent-03", "VOTE", BODY, nacl_signature)
    assert Verifier(roster, nacl).verify("agent-03", "VOTE", BODY, openssl_signature)


def test_reprs_hold_no_secrets(keys: dict[str, PrivateKey], signers: dict[str, Signer]) -> None:
    text = repr(signers["agent-00"])
    assert "agent-00" in text
    assert keys["agent-00"].seed.hex() not in text
