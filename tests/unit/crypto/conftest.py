import pytest

from crypto import BACKENDS, Backend, PrivateKey, Roster, Signer, Verifier

COUNCIL_ID = "test-council"
PRINCIPALS = ("agent-00", "agent-01", "agent-02", "agent-03")


@pytest.fixture(params=sorted(BACKENDS))
def backend(request: pytest.FixtureRequest) -> Backend:
    name: str = request.param
    return BACKENDS[name]


@pytest.fixture
def keys() -> dict[str, PrivateKey]:
    return {principal: PrivateKey.derive(7, principal) for principal in PRINCIPALS}


@pytest.fixture
def roster(keys: dict[str, PrivateKey]) -> Roster:
    return Roster(COUNCIL_ID, {principal: key.public_key() for principal, key in keys.items()})


@pytest.fixture
def signers(keys: dict[str, PrivateKey], backend: Backend) -> dict[str, Signer]:
    return {
        principal: Signer(COUNCIL_ID, principal, key, backend) for principal, key in keys.items()
    }


@pytest.fixture
def verifier(roster: Roster, backend: Backend) -> Verifier:
    return Verifier(roster, backend)
