"""Ed25519 throughput of each crypto backend, to choose the fastest on this machine.

Signatures and verifications are measured without the Verifier cache: these are the costs of a
cache miss. Each figure is the median of `repeats` timed runs of `ops` operations.
"""

import json
import statistics
import time
from collections.abc import Callable
from functools import partial

from crypto import BACKENDS, Backend, PrivateKey

_MESSAGE_SIZE = 200  # about the size of a signed PREPARE or COMMIT


def measure_crypto(repeats: int = 5, ops: int = 2000) -> dict[str, object]:
    """Sign and verify rates per backend, and the backend with the fastest verification."""
    if repeats < 1 or ops < 1:
        raise ValueError("repeats and ops must be positive")
    seed = PrivateKey.derive(0, "bench").seed
    messages = [i.to_bytes(8, "big") * (_MESSAGE_SIZE // 8) for i in range(ops)]
    sign_per_s: dict[str, float] = {}
    verify_per_s: dict[str, float] = {}
    for name, backend in BACKENDS.items():
        signing_key = backend.signing_key(seed)
        signed = [(message, backend.sign(signing_key, message)) for message in messages]
        public_key = backend.public_key(seed)
        sign_all = partial(_sign_all, backend, signing_key, messages)
        verify_all = partial(_verify_all, backend, public_key, signed)
        sign_per_s[name] = _median_rate(sign_all, ops, repeats)
        verify_per_s[name] = _median_rate(verify_all, ops, repeats)
    fastest = max(verify_per_s, key=lambda name: verify_per_s[name])
    return {"verify_per_s": verify_per_s, "sign_per_s": sign_per_s, "backend": fastest}


def _sign_all(backend: Backend, signing_key: object, messages: list[bytes]) -> None:
    for message in messages:
        backend.sign(signing_key, message)


def _verify_all(backend: Backend, public_key: bytes, signed: list[tuple[bytes, bytes]]) -> None:
    for message, signature in signed:
        if not backend.verify(public_key, message, signature):
            raise AssertionError(f"{backend.name}: a valid signature failed to verify")


def _median_rate(run: Callable[[], None], ops: int, repeats: int) -> float:
    run()  # warm up before timing
    durations_s = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        durations_s.append(time.perf_counter() - started)
    return round(ops / statistics.median(durations_s), 1)


if __name__ == "__main__":
    print(json.dumps(measure_crypto(), indent=2))
