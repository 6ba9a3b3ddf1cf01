"""The live link without a broker: which principal it signs as, and what it makes of presence,
status events and broadcasts (council/gateway/live.py, council/gateway/live_watch.py)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from consensus.messages import Commit, Heartbeat, Prepare, PrePrepare, Request, batch_digest, seal
from council.commands.init import write_council
from council.council_file import CouncilFile
from council.gateway import LinkError
from council.gateway.link import Observation
from council.gateway.live import LiveLink, broker_as, link_principal
from council.gateway.live_watch import CouncilWatch, bundle_kinds
from council.live.connection import BrokerUrl
from council.live.council_dir import CouncilDir
from council.live.credentials import Credentials
from council.live.supervisor import credentials_path
from council.live.topics import PRESENCE_OFFLINE, PRESENCE_ONLINE, CouncilTopics
from council.live.wire import encode_bundle
from tests.integration.live_support import council_file

GATEWAY_URL = BrokerUrl.parse("mqtt://gateway:secret@127.0.0.1:9")  # never dialled here
DIGEST = "ab" * 32


def make_council(path: Path, secretariat: list[str] | None = None) -> CouncilDir:
    council = council_file(4, window_ms=3_000)
    if secretariat is not None:
        council = CouncilFile.model_validate(
            {**council.model_dump(by_alias=True), "secretariat": secretariat}
        )
    write_council(council, path)
    return CouncilDir.load(path)


@pytest.fixture
def directory(tmp_path: Path) -> CouncilDir:
    return make_council(tmp_path / "council")


# -- the principal ---------------------------------------------------------------------------


def test_the_link_signs_as_the_gateway_when_the_council_has_one(directory: CouncilDir) -> None:
    link = LiveLink(directory, GATEWAY_URL)
    assert (link.principal, link.mode, link.quorums.weak) == ("gateway", "live", 2)


def test_a_council_without_a_gateway_falls_back_to_its_first_keyed_secretariat(
    tmp_path: Path,
) -> None:
    directory = make_council(tmp_path / "council", ["clerk", "secretariat"])
    (directory.key_path("clerk")).unlink()
    assert link_principal(directory) == "secretariat"
    # The ACL ties replies to the broker user: the link connects as the principal it signs as.
    with pytest.raises(LinkError, match="must connect as secretariat"):
        broker_as(directory, GATEWAY_URL, "secretariat")
    credentials_path(directory).parent.mkdir()
    Credentials.generate(4, clients=["clerk"]).save(credentials_path(directory))
    url = broker_as(directory, GATEWAY_URL, "secretariat")
    assert url.username == "secretariat" and url.password != "secret"
    link = LiveLink(directory, GATEWAY_URL)
    with pytest.raises(LinkError, match="no gateway key"):
        asyncio.run(link.instruct_ballot(1, "M-1", "yes"))


def test_a_council_whose_secretariat_has_no_key_cannot_be_linked(tmp_path: Path) -> None:
    directory = make_council(tmp_path / "council", ["clerk"])
    directory.key_path("clerk").unlink()
    with pytest.raises(LinkError, match="has a key"):
        link_principal(directory)


def test_an_instruction_for_a_seat_the_council_lacks_is_refused(directory: CouncilDir) -> None:
    link = LiveLink(directory, GATEWAY_URL)
    with pytest.raises(ValueError, match="seat 5 does not exist"):
        asyncio.run(link.instruct_ballot(5, "M-1", "yes"))


# -- broadcasts ------------------------------------------------------------------------------


def test_a_bundles_kinds_are_its_envelopes_not_what_they_carry(directory: CouncilDir) -> None:
    r0, clerk = directory.signer("r0"), directory.signer("secretariat")
    requests = tuple(
        seal(clerk, Request(client="secretariat", operation='"kind":"commit"', timestamp=i + 1))
        for i in range(3)
    )
    pre_prepare = seal(r0, PrePrepare(digest=batch_digest(requests), seq=1, view=0), requests)
    votes = [
        seal(r0, Prepare(digest=DIGEST, replica=0, seq=1, view=0)),
        seal(r0, Commit(digest=DIGEST, replica=0, seq=1, view=0)),
    ]
    council_id = directory.council_id
    assert bundle_kinds(encode_bundle(council_id, votes)) == ["prepare", "commit"]
    assert bundle_kinds(encode_bundle(council_id, [pre_prepare, *votes])) == [
        "pre-prepare",
        "prepare",
        "commit",
    ]
    strange = votes[0].model_copy(update={"kind": "made-up"})
    assert bundle_kinds(encode_bundle(council_id, [strange])) == ["other"]
    assert bundle_kinds(b"not json") == []


class Watched:
    def __init__(self, directory: CouncilDir) -> None:
        self.observations: list[Observation] = []
        self.topics = CouncilTopics(directory.council_id)
        self.directory = directory
        self.watch = CouncilWatch(directory.council, self.observations.append, lambda: 1234)

    def of(self, kind: str) -> list[dict[str, object]]:
        found = [dict(o.data) for o in self.observations if o.kind == kind]
        self.observations[:] = [o for o in self.observations if o.kind != kind]
        return found

    def status(self, seat: int, view: int, dropped: dict[str, int] | None = None) -> None:
        event = {"status": {"view": view, "last_executed": 7, "dropped": dropped or {}}}
        topic = self.topics.event(f"r{seat - 1}")
        self.watch.status_event(topic, json.dumps(event).encode())


@pytest.fixture
def watched(directory: CouncilDir) -> Watched:
    return Watched(directory)


def test_presence_makes_seat_observations_on_change_only(watched: Watched) -> None:
    watch, topics = watched.watch, watched.topics
    assert {s.state for s in watch.seats()} == {"unknown"}
    watch.presence(topics.presence("r2"), PRESENCE_ONLINE)
    watch.presence(topics.presence("r2"), PRESENCE_ONLINE)
    watch.presence(topics.presence("secretariat"), PRESENCE_ONLINE)  # not a seat
    watch.presence(topics.presence("r2"), PRESENCE_OFFLINE)
    assert watched.of("seat") == [{"seat": 3, "state": "online"}, {"seat": 3, "state": "offline"}]
    assert watch.seats()[2].state == "offline"
    watch.connection_lost()
    assert watch.seats()[2].state == "unknown"


def test_the_view_is_one_that_f_plus_1_seats_report(watched: Watched) -> None:
    watched.status(1, view=99)  # a faulty seat alone moves nothing
    assert watched.watch.view is None
    watched.status(2, view=0)
    assert watched.watch.view == 0 and watched.of("view") == []  # view 0 is no news
    watched.status(3, view=1)
    assert watched.watch.view == 1  # seats 1 and 3 report at least 1: one of them is correct
    assert watched.of("view") == [{"view": 1, "primary_seat": 2}]
    assert watched.watch.seats()[2].view == 1 and watched.watch.seats()[2].last_executed == 7
    watched.status(3, view=0)  # a correct seat never goes back: a report that does is wrong
    watched.status(4, view=0)
    assert watched.watch.view == 1 and watched.of("view") == []
    watched.status(2, view=2)
    watched.status(4, view=2)
    assert watched.of("view") == [{"view": 2, "primary_seat": 3}]


def test_drops_are_reported_as_they_grow_by_known_reason(watched: Watched) -> None:
    watched.status(2, 0, {"bad-signature": 2, "invented": 5})
    watched.status(2, 0, {"bad-signature": 2, "invented": 5})
    watched.status(2, 0, {"bad-signature": 3, "wrong-seat": 1})
    watched.status(2, 0, {"bad-signature": 1})  # the agent restarted: its counters went back
    assert watched.of("rejected") == [
        {"seat": 2, "reasons": {"bad-signature": 2, "other": 5}},
        {"seat": 2, "reasons": {"bad-signature": 1, "wrong-seat": 1}},
        {"seat": 2, "reasons": {"bad-signature": 1}},
    ]
    watched.watch.status_event(watched.topics.event("r1"), b'{"status": {"view": "x"}}')
    assert watched.of("rejected") == []


def test_traffic_is_counted_per_seat_and_reported_in_one_observation(watched: Watched) -> None:
    r1 = watched.directory.signer("r1")
    beat = seal(r1, Heartbeat(last_seq=0, replica=1, view=0))
    vote = seal(r1, Prepare(digest=DIGEST, replica=1, seq=1, view=0))
    topic = watched.topics.broadcast("r1")
    council_id = watched.directory.council_id
    for envelopes in ([beat], [vote, beat], [vote]):
        watched.watch.broadcast(topic, encode_bundle(council_id, envelopes))
    watched.watch.report_traffic()
    watched.watch.report_traffic()  # nothing new: nothing to report
    assert watched.of("traffic") == [
        {"from_seat": 2, "messages": {"heartbeat": 2, "prepare": 2}},
    ]
    seat = watched.watch.seats()[1]
    assert (seat.last_message_ms, seat.last_message_kind) == (1234, "prepare")


def test_evidence_is_news_once_f_plus_1_seats_hold_it(watched: Watched) -> None:
    def report(seat: int, evidence: dict[str, int]) -> None:
        event = {"status": {"view": 0, "last_executed": 7, "dropped": {}, "evidence": evidence}}
        watched.watch.status_event(watched.topics.event(f"r{seat - 1}"), json.dumps(event).encode())

    weak = watched.watch.quorums.weak
    report(2, {"1/equivocation": 1, "9999/equivocation": 4, "x/y": 1})  # one seat proves nothing
    assert watched.of("evidence") == []
    for seat in range(3, 2 + weak):
        report(seat, {"1/equivocation": 2, "3/Made Up!": 1})
    assert watched.of("evidence") == [
        {"culprit_seat": 1, "evidence": "equivocation", "reported_by": list(range(2, 2 + weak))}
    ]
    report(2, {"1/equivocation": 3})  # repeated reports are not news again
    assert watched.of("evidence") == []
