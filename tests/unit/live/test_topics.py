"""The topic layout names each message's sender, and the ACL ties that name to the publisher."""

from __future__ import annotations

import pytest

from council.live.topics import (
    CouncilTopics,
    TopicAddress,
    TopicKind,
    filter_covers,
    mosquitto_acl,
    topic_matches,
)

TOPICS = CouncilTopics("example-council")


def test_topics_follow_the_documented_layout() -> None:
    assert TOPICS.broadcast("r7") == "council/example-council/broadcast/r7"
    assert TOPICS.direct("r1", "r7") == "council/example-council/direct/r1/r7"
    assert TOPICS.request("secretariat") == "council/example-council/requests/secretariat"
    assert TOPICS.reply("secretariat", "r7") == "council/example-council/replies/secretariat/r7"
    assert TOPICS.presence("r7") == "council/example-council/presence/r7"
    assert TOPICS.event("gateway") == "council/example-council/events/gateway"


def test_every_topic_is_matched_by_the_filter_its_reader_subscribes_to() -> None:
    pairs = [
        (TOPICS.broadcasts(), TOPICS.broadcast("r7")),
        (TOPICS.directs_to("r1"), TOPICS.direct("r1", "r7")),
        (TOPICS.requests(), TOPICS.request("secretariat")),
        (TOPICS.replies_to("secretariat"), TOPICS.reply("secretariat", "r7")),
        (TOPICS.presences(), TOPICS.presence("r7")),
        (TOPICS.events(), TOPICS.event("r7")),
    ]
    for topic_filter, topic in pairs:
        assert topic_matches(topic_filter, topic)
    assert not topic_matches(TOPICS.directs_to("r2"), TOPICS.direct("r1", "r7"))


def test_a_topic_tells_its_kind_sender_and_recipient() -> None:
    assert TOPICS.address(TOPICS.direct("r1", "r7")) == TopicAddress(TopicKind.DIRECT, "r7", "r1")
    assert TOPICS.address(TOPICS.reply("secretariat", "r7")) == TopicAddress(
        TopicKind.REPLIES, "r7", "secretariat"
    )
    assert TOPICS.address(TOPICS.broadcast("r7")) == TopicAddress(TopicKind.BROADCAST, "r7")


@pytest.mark.parametrize(
    "topic",
    [
        "council/other-council/broadcast/r7",
        "council/example-council/broadcast",
        "council/example-council/broadcast/r7/extra",
        "council/example-council/direct/r1",
        "council/example-council/gossip/r7",
        "council/example-council/broadcast/$r7",
        "elsewhere",
    ],
)
def test_a_topic_outside_the_layout_has_no_address(topic: str) -> None:
    assert TOPICS.address(topic) is None


@pytest.mark.parametrize("name", ["", "a/b", "+", "#", "$SYS", "-r0", "r 0", "x" * 65])
def test_names_that_could_widen_a_topic_are_refused(name: str) -> None:
    with pytest.raises(ValueError, match="cannot be an MQTT topic level"):
        TOPICS.broadcast(name)
    with pytest.raises(ValueError, match="cannot be an MQTT topic level"):
        CouncilTopics(name)


def test_a_principal_may_publish_only_where_the_topic_names_it_as_sender() -> None:
    own = [
        TOPICS.broadcast("r3"),
        TOPICS.direct("r1", "r3"),
        TOPICS.request("r3"),
        TOPICS.reply("secretariat", "r3"),
        TOPICS.presence("r3"),
        TOPICS.event("r3"),
    ]
    others = [
        TOPICS.broadcast("r1"),
        TOPICS.direct("r3", "r1"),
        TOPICS.request("secretariat"),
        TOPICS.reply("r3", "r1"),
        TOPICS.presence("r1"),
        TOPICS.event("r1"),
        "council/other-council/broadcast/r3",
        "$SYS/broker/uptime",
    ]
    assert all(TOPICS.may_publish("r3", topic) for topic in own)
    assert not any(TOPICS.may_publish("r3", topic) for topic in others)


def test_point_to_point_messages_and_replies_are_readable_by_their_recipient_only() -> None:
    assert TOPICS.may_read("r1", TOPICS.direct("r1", "r7"))
    assert not TOPICS.may_read("r2", TOPICS.direct("r1", "r7"))
    assert TOPICS.may_read("secretariat", TOPICS.reply("secretariat", "r7"))
    assert not TOPICS.may_read("gateway", TOPICS.reply("secretariat", "r7"))
    assert TOPICS.may_read("gateway", TOPICS.broadcast("r7"))


def test_a_subscription_is_allowed_only_inside_a_read_rule() -> None:
    assert TOPICS.may_subscribe("r1", TOPICS.directs_to("r1"))
    assert TOPICS.may_subscribe("r1", TOPICS.direct("r1", "r7"))
    assert not TOPICS.may_subscribe("r2", TOPICS.directs_to("r1"))
    assert not TOPICS.may_subscribe("r1", f"{TOPICS.prefix}/#")
    assert not TOPICS.may_subscribe("r1", f"{TOPICS.prefix}/direct/+/+")


@pytest.mark.parametrize(
    ("granted", "requested", "covered"),
    [
        ("a/+", "a/b", True),
        ("a/+", "a/+", True),
        ("a/#", "a/b/c", True),
        ("a/#", "a/#", True),
        ("a/b", "a/+", False),
        ("a/+", "a/#", False),
        ("a/+", "a/b/c", False),
        ("a/+/c", "a/b", False),
    ],
)
def test_filter_coverage(granted: str, requested: str, covered: bool) -> None:
    assert filter_covers(granted, requested) is covered


def test_the_mosquitto_acl_has_shared_patterns_and_per_user_reads() -> None:
    acl = mosquitto_acl(TOPICS, ("r0", "secretariat"))
    lines = [line for line in acl.splitlines() if line and not line.startswith("#")]
    patterns = [line for line in lines if line.startswith("pattern ")]
    assert "pattern write council/example-council/broadcast/%u" in patterns
    assert "pattern read council/example-council/direct/%u/+" in patterns
    assert all("%u" in line for line in patterns)
    user_block = lines[lines.index("user secretariat") + 1 :]
    assert "topic read council/example-council/broadcast/+" in user_block
    assert not any(line.startswith("topic write") for line in lines)


def test_a_reply_to_several_clients_is_published_once_on_the_replicas_results_topic() -> None:
    assert TOPICS.result("r7") == "council/example-council/results/r7"
    assert TOPICS.reply_topics("r7", ("load-1", "load-2", "load-3")) == [TOPICS.result("r7")]
    # Seats casting ballots keep their own topic; they do not listen to results.
    assert TOPICS.reply_topics("r7", ("load-1", "r3", "load-2")) == [
        TOPICS.result("r7"),
        TOPICS.reply("r3", "r7"),
    ]


def test_a_reply_to_one_client_stays_on_that_clients_own_topic() -> None:
    assert TOPICS.reply_topics("r7", ("secretariat",)) == [TOPICS.reply("secretariat", "r7")]
    assert TOPICS.reply_topics("r7", ("secretariat", "r3")) == [
        TOPICS.reply("secretariat", "r7"),
        TOPICS.reply("r3", "r7"),
    ]


def test_results_are_published_by_their_replica_and_readable_by_every_principal() -> None:
    assert TOPICS.address(TOPICS.result("r7")) == TopicAddress(TopicKind.RESULTS, "r7")
    assert topic_matches(TOPICS.results(), TOPICS.result("r7"))
    assert TOPICS.may_publish("r7", TOPICS.result("r7"))
    assert not TOPICS.may_publish("r3", TOPICS.result("r7"))
    assert all(TOPICS.may_read(p, TOPICS.result("r7")) for p in ("gateway", "load-1", "r3"))
    assert TOPICS.may_subscribe("gateway", TOPICS.results())
