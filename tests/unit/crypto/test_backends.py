import pytest

from crypto import (
    BACKENDS,
    DEFAULT_BACKEND,
    PUBLIC_KEY_SIZE,
    SIGNATURE_SIZE,
    Backend,
    PrivateKey,
    get_backend,
)

SEED = bytes(range(32))
MESSAGE = b"motion 17: adopt the budget"


def test_default_backend_is_pynacl() -> None:
    assert DEFAULT_BACKEND == "pynacl"
    assert get_backend() is BACKENDS["pynacl"]
    assert get_backend("cryptography") is BACKENDS["cryptography"]


def test_unknown_backend_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match="cryptography, pynacl"):
        get_backend("rot13")


def test_backend_names_match_registry_keys() -> None:
    for name, backend in BACKENDS.items():
        assert backend.name == name


def test_sign_verify_roundtrip(backend: Backend) -> None:
    signature = backend.sign(backend.signing_key(SEED), MESSAGE)
    public_key = backend.public_key(SEED)
    assert len(signature) == SIGNATURE_SIZE
    assert len(public_key) == PUBLIC_KEY_SIZE
    assert backend.verify(public_key, MESSAGE, signature)


def test_tampered_message_or_signature_is_rejected(backend: Backend) -> None:
    signature = backend.sign(backend.signing_key(SEED), MESSAGE)
    public_key = backend.public_key(SEED)
    flipped = bytes([signature[0] ^ 1]) + signature[1:]
    assert not backend.verify(public_key, MESSAGE + b"!", signature)
    assert not backend.verify(public_key, MESSAGE, flipped)


@pytest.mark.parametrize(
    ("public_key", "signature"),
    [
        (b"", b""),
        (b"\x00" * 31, b"\x00" * 64),
        (b"\x00" * 32, b"\x00" * 63),
        (b"\xff" * 32, b"\xff" * 64),
        (b"\x00" * 32, b"\x00" * 64),
    ],
)
def test_verify_never_raises_on_malformed_input(
    backend: Backend, public_key: bytes, signature: bytes
) -> None:
    assert not backend.verify(public_key, MESSAGE, signature)


def test_verify_rejects_wrong_types_without_raising(backend: Backend) -> None:
    public_key = backend.public_key(SEED)
    signature = backend.sign(backend.signing_key(SEED), MESSAGE)
    assert not backend.verify(public_key, "text", signature)  # type: ignore[arg-type]
    assert not backend.verify(None, MESSAGE, signature)  # type: ignore[arg-type]


def test_sign_refuses_another_backends_key() -> None:
    nacl, openssl = BACKENDS["pynacl"], BACKENDS["cryptography"]
    with pytest.raises(TypeError):
        nacl.sign(openssl.signing_key(SEED), MESSAGE)
    with pytest.raises(TypeError):
        openssl.sign(nacl.signing_key(SEED), MESSAGE)


def test_backends_agree_byte_for_byte() -> None:
    nacl, openssl = BACKENDS["pynacl"], BACKENDS["cryptography"]
    for label in ("agent-00", "agent-01", "client-9"):
        seed = PrivateKey.derive(b"agreement", label).seed
        nacl_signature = nacl.sign(nacl.signing_key(seed), MESSAGE)
        openssl_signature = openssl.sign(openssl.signing_key(seed), MESSAGE)
        assert nacl.public_key(seed) == openssl.public_key(seed)
        # Ed25519 is deterministic, so the two libraries sign identically.
        assert nacl_signature == openssl_signature
        assert openssl.verify(nacl.public_key(seed), MESSAGE, nacl_signature)
        assert nacl.verify(openssl.public_key(seed), MESSAGE, openssl_signature)
