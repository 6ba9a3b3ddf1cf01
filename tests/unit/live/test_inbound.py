"""The agent's edge: each kind of bad input is dropped and counted by its reason."""

from __future__ import annotations

import crypto
from consensus import Envelope, EnvelopeVerifier, Request, seal
from consensus.messages import Prepare
from council.live.inbound import Inbound, RateLimits
from council.live.topics import CouncilTopics
from council.live.wire import encode_bundle

COUNCIL = "test-council"
TOPICS = CouncilTopics(COUNCIL)
SEATS = ("r0", "r1", "r2", "r3")
MEMBERS = (*SEATS, "secretariat")


def signer(name: str, council: str = COUNCIL, seed: int = 1) -> crypto.Signer:
    key = crypto.PrivateKey.derive(seed, name)
    return crypto.Signer(council, name, key, crypto.get_backend())


def signatures() -> crypto.Verifier:
    backend = crypto.get_backend()
    roster = crypto.Roster(
        council_id=COUNCIL,
        members={name: crypto.PrivateKey.derive(1, name).public_key(backend) for name in MEMBERS},
    )
    return crypto.Verifier(roster, backend)


def inbound(checks: crypto.Verifier | None = None, **options: object) -> Inbound:
    return Inbound(
        council_id=COUNCIL,
        topics=TOPICS,
        verifier=EnvelopeVerifier(checks or signatures()),
        members=frozenset(MEMBERS),
        seats=frozenset(SEATS),
        **options,  # type: ignore[arg-type]
    )


def prepare(by: str = "r1", council: str = COUNCIL, seed: int = 1) -> Envelope:
    index = int(by[1:]) if by[1:].isdigit() else 1
    message = Prepare(digest="d" * 64, replica=index, seq=1, view=0)
    return seal(signer(by, council, seed), message)


def request(timestamp: int = 1) -> Envelope:
    return seal(
        signer("secretariat"), Request(client="secretariat", timestamp=timestamp, operation="x")
    )


def bundle(*envelopes: Envelope, council: str = COUNCIL) -> bytes:
    return encode_bundle(council, envelopes)


def test_a_valid_bundle_is_accepted_whole() -> None:
    edge = inbound()
    accepted = edge.accept(TOPICS.broadcast("r1"), bundle(prepare(), request()), now_s=0)
    assert [e.kind for e in accepted] == ["prepare", "request"]
    assert edge.dropped == {} and edge.accepted == 2


def test_garbage_truncated_and_oversized_payloads_are_dropped_by_reason() -> None:
    edge = inbound(payload_bytes_max=2_000)
    topic = TOPICS.broadcast("r1")
    good = bundle(prepare())
    assert edge.accept(topic, b"\x00\xffnot json at all", now_s=0) == []
    assert edge.accept(topic, good[: len(good) // 2], now_s=0) == []
    assert edge.accept(topic, b'{"council": "test-council"}', now_s=0) == []
    assert edge.accept(topic, bundle(*[prepare()] * 20), now_s=0) == []
    assert edge.dropped == {"garbage": 2, "truncated": 1, "oversized": 1}


def test_another_councils_messages_are_dropped_before_any_signature_check() -> None:
    edge = inbound()
    foreign = bundle(prepare(council="other-council"), council="other-council")
    assert edge.accept(TOPICS.broadcast("r1"), foreign, now_s=0) == []
    assert edge.dropped == {"other-council": 1}


def test_each_bad_envelope_is_dropped_and_the_rest_of_the_bundle_kept() -> None:
    edge = inbound()
    good = prepare("r2")
    unknown = Envelope(body="{}", kind="vote-early", sender="r1", signature="0" * 128)
    malformed = Envelope(
        body='{"kind":"prepare"}', kind="prepare", sender="r1", signature="0" * 128
    )
    outsider = prepare("r9")
    other_council = prepare("r1", council="other-council")  # in our bundle, their signature
    later = request()
    payload = bundle(good, unknown, malformed, outsider, later, other_council)
    assert edge.accept(TOPICS.broadcast("r2"), payload, now_s=0) == [good, later]
    assert edge.dropped == {
        "unknown-kind": 1,
        "malformed": 1,
        "not-a-member": 1,
        "bad-signature": 1,
    }


def test_the_rest_of_a_bundle_after_a_bad_signature_is_dropped_unverified() -> None:
    checks = signatures()
    edge = inbound(checks)
    forged = prepare("r1", seed=99)  # signed by a key that is not r1's
    rest = [request(timestamp) for timestamp in range(1, 6)]
    accepted = edge.accept(TOPICS.broadcast("r2"), bundle(prepare("r2"), forged, *rest), now_s=0)
    assert [e.kind for e in accepted] == ["prepare"]
    assert edge.dropped == {"bad-signature": 1, "after-bad-signature": 5}
    assert checks.stats.misses == 2  # the good prepare and the forgery; the rest unchecked


def test_a_seat_may_relay_what_others_signed() -> None:
    edge = inbound()
    relayed = edge.accept(TOPICS.direct("r0", "r3"), bundle(prepare("r1"), request()), now_s=0)
    assert len(relayed) == 2


def test_replays_are_counted_and_still_handed_on() -> None:
    edge = inbound()
    message = bundle(prepare())
    for _ in range(3):
        assert len(edge.accept(TOPICS.broadcast("r1"), message, now_s=0)) == 1
    assert edge.replayed == 2 and edge.dropped == {}


def test_a_flooding_publisher_is_rate_limited_alone() -> None:
    edge = inbound(limits=RateLimits(client_per_s=10, client_burst=5))
    flood = bundle(request())
    kept = [edge.accept(TOPICS.request("secretariat"), flood, now_s=0.0) for _ in range(50)]
    assert sum(1 for k in kept if k) == 5
    assert edge.dropped == {"rate-limited": 45}
    assert edge.accept(TOPICS.broadcast("r1"), bundle(prepare()), now_s=0.0), "seats unaffected"
    assert edge.accept(TOPICS.request("secretariat"), flood, now_s=1.0), "tokens refill"


def test_a_seat_is_rate_limited_by_the_messages_its_bundles_hold() -> None:
    edge = inbound(limits=RateLimits(seat_per_s=100, seat_burst=50))
    big = bundle(*(prepare("r1") for _ in range(30)))
    assert len(edge.accept(TOPICS.broadcast("r1"), big, now_s=0.0)) == 30
    # 20 tokens left: another bundle of 30 messages is refused whole, each one counted.
    assert edge.accept(TOPICS.broadcast("r1"), big, now_s=0.0) == []
    assert edge.dropped == {"rate-limited": 30}
    assert len(edge.accept(TOPICS.broadcast("r1"), big, now_s=0.5)) == 30, "tokens refill"


def test_presence_events_and_foreign_topics_carry_no_protocol_messages() -> None:
    edge = inbound()
    payload = bundle(prepare())
    assert edge.accept(TOPICS.presence("r1"), payload, now_s=0) == []
    assert edge.accept("council/other/broadcast/r1", payload, now_s=0) == []
    assert edge.dropped == {"wrong-topic": 2}
