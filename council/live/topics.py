"""Where a live council's messages travel on MQTT, and who may publish and read each topic.

Theory of operation
-------------------
Every topic of a council lives under ``council/<council_id>/``; the last level of a topic
names the principal that published it (the *sender*), so the broker can tell, from the
authenticated username alone, whether a publish is allowed:

===============================  ==================  ==========================================
topic                            published by        read by
===============================  ==================  ==========================================
``broadcast/<sender>``           a seat              every principal
``direct/<recipient>/<sender>``  a seat or a client  the recipient only (a client's request to
                                                     the primary, PBFT's first try)
``requests/<client>``            a client            every principal (seats order them)
``replies/<client>/<replica>``   a seat              the client only
``results/<replica>``            a seat              every principal (batch replies, see below)
``presence/<principal>``         every principal     every principal; retained ``online`` on
                                                     connect, ``offline`` as the MQTT last will
``events/<principal>``           every principal     every principal (decisions, observability)
===============================  ==================  ==========================================

Principals are the broker usernames: ``r0`` … ``r{n-1}`` for the seats, ``secretariat`` and
``gateway`` for the clients (see :mod:`council.live.credentials`).

A replica signs one REPLY per executed batch, carrying every client's result. Sent to each
client on its own topic, a batch of ``b`` clients would cost ``b`` publishes per replica, each
carrying all ``b`` results: ``n · b`` deliveries of ``O(b)`` bytes per batch, as many as the
whole protocol exchange at ``b`` ≈ 60. So a reply that answers several clients is published
once, on ``results/<replica>``; a process hosting many clients subscribes there once. Seats
(whose ballots are requests too) and a reply to a single client still use ``replies/``. Every
principal may read ``results/``: the clients of a batch already see each other's results in
the one signed reply, and the council's operations are public (motions, ballots and tallies
end up in decision records).

ACL
---
The broker enforces one rule table, the same for every principal (``%u`` is the
authenticated username). For Mosquitto it is written as an ``acl_file``::

    pattern write council/<id>/broadcast/%u
    pattern write council/<id>/direct/+/%u
    pattern write council/<id>/requests/%u
    pattern write council/<id>/replies/+/%u
    pattern write council/<id>/results/%u
    pattern write council/<id>/presence/%u
    pattern write council/<id>/events/%u
    pattern read council/<id>/direct/%u/+
    pattern read council/<id>/replies/%u/+
    # and, for each principal (rules without %u are ``topic`` lines in a ``user`` block,
    # because Mosquitto applies top-level ``topic`` lines to anonymous clients only):
    topic read council/<id>/broadcast/+
    topic read council/<id>/requests/+
    topic read council/<id>/results/+
    topic read council/<id>/presence/+
    topic read council/<id>/events/+

Why this shape: signatures, not the broker, decide what a message means — every envelope is
signed and checked against the roster. The ACL adds what signatures cannot: a seat cannot
publish under another seat's name (so it cannot fill another seat's topics, overwrite its
retained presence or fake its last will), and point-to-point messages and replies to one
client reach only their recipient. Anything outside the table — other councils, ``$SYS``, a
bare ``#`` — is denied. A client name in a seat-only position (``broadcast/secretariat``) is
allowed by the table and rejected by the agents, which accept protocol messages from roster
seats only.

Only presence is published retained: the amqtt broker hands retained messages to newcomers
without a read check (see :mod:`council.live.broker_amqtt`).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

#: Retained payloads on ``presence/<principal>``: set on connect, and by the last will.
PRESENCE_ONLINE: Final = b"online"
PRESENCE_OFFLINE: Final = b"offline"

TOPIC_ROOT: Final = "council"
#: Clients (not seats) one REPLY must answer before it goes out once on ``results/``.
SHARED_REPLY_CLIENTS_MIN: Final = 2
USERNAME_PLACEHOLDER: Final = "%u"

# A topic level we build from a name: no MQTT wildcards, separators or `$` prefixes, so a
# principal's name can never widen an ACL rule it is substituted into.
_NAME_PATTERN: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}\Z")


class TopicKind(enum.StrEnum):
    """The kinds of topic under a council prefix, named by their second-to-council level."""

    BROADCAST = "broadcast"
    DIRECT = "direct"
    REQUESTS = "requests"
    REPLIES = "replies"
    RESULTS = "results"
    PRESENCE = "presence"
    EVENTS = "events"


class Access(enum.StrEnum):
    """What an ACL rule grants: reading (subscribe and receive) or writing (publish)."""

    READ = "read"
    WRITE = "write"


def is_seat_principal(principal: str) -> bool:
    """Whether ``principal`` names a seat (``r0``, ``r1``, …); clients may not be so named."""
    return principal[:1] == "r" and principal[1:].isdigit()


def check_name(name: str, what: str = "name") -> str:
    """Return ``name`` if it can be one topic level; raise ``ValueError`` saying why not."""
    if not _NAME_PATTERN.match(name):
        raise ValueError(
            f"{what} {name!r} cannot be an MQTT topic level: use 1-64 letters, digits, "
            "'.', '_' or '-', starting with a letter or digit"
        )
    return name


@dataclass(frozen=True)
class AclRule:
    """Access to every topic matching ``pattern`` once ``%u`` is replaced by the username."""

    access: Access
    pattern: str

    @property
    def per_principal(self) -> bool:
        """Whether the rule names the principal (a Mosquitto ``pattern``) or not (a ``topic``)."""
        return USERNAME_PLACEHOLDER in self.pattern

    def filter_for(self, principal: str) -> str:
        """The topic filter this rule grants to ``principal``."""
        return self.pattern.replace(USERNAME_PLACEHOLDER, check_name(principal, "principal"))


@dataclass(frozen=True)
class TopicAddress:
    """What a topic says about a message: its kind, its sender and (if any) its recipient."""

    kind: TopicKind
    sender: str
    recipient: str | None = None


@dataclass(frozen=True)
class CouncilTopics:
    """The topics of the council ``council_id``, and the ACL that guards them."""

    council_id: str

    def __post_init__(self) -> None:
        check_name(self.council_id, "council id")

    @property
    def prefix(self) -> str:
        return f"{TOPIC_ROOT}/{self.council_id}"

    def _topic(self, kind: TopicKind, *names: str) -> str:
        levels = [check_name(name, "principal") for name in names]
        return "/".join([self.prefix, kind.value, *levels])

    def broadcast(self, sender: str) -> str:
        return self._topic(TopicKind.BROADCAST, sender)

    def direct(self, recipient: str, sender: str) -> str:
        return self._topic(TopicKind.DIRECT, recipient, sender)

    def request(self, client: str) -> str:
        return self._topic(TopicKind.REQUESTS, client)

    def reply(self, client: str, replica: str) -> str:
        return self._topic(TopicKind.REPLIES, client, replica)

    def result(self, replica: str) -> str:
        return self._topic(TopicKind.RESULTS, replica)

    def reply_topics(self, replica: str, clients: Sequence[str]) -> list[str]:
        """Where ``replica`` publishes one signed REPLY for ``clients`` (module docstring):
        once on its results topic when it answers several clients, and on the own topic of
        each seat among them and of a lone client."""
        others = [client for client in clients if not is_seat_principal(client)]
        if len(others) < SHARED_REPLY_CLIENTS_MIN:
            return [self.reply(client, replica) for client in clients]
        seats = [self.reply(client, replica) for client in clients if is_seat_principal(client)]
        return [self.result(replica), *seats]

    def presence(self, principal: str) -> str:
        return self._topic(TopicKind.PRESENCE, principal)

    def event(self, principal: str) -> str:
        return self._topic(TopicKind.EVENTS, principal)

    # Subscription filters: what each principal listens to.

    def broadcasts(self) -> str:
        return f"{self.prefix}/{TopicKind.BROADCAST}/+"

    def directs_to(self, recipient: str) -> str:
        return f"{self.prefix}/{TopicKind.DIRECT}/{check_name(recipient, 'principal')}/+"

    def requests(self) -> str:
        return f"{self.prefix}/{TopicKind.REQUESTS}/+"

    def replies_to(self, client: str) -> str:
        return f"{self.prefix}/{TopicKind.REPLIES}/{check_name(client, 'principal')}/+"

    def results(self) -> str:
        return f"{self.prefix}/{TopicKind.RESULTS}/+"

    def presences(self) -> str:
        return f"{self.prefix}/{TopicKind.PRESENCE}/+"

    def events(self) -> str:
        return f"{self.prefix}/{TopicKind.EVENTS}/+"

    def address(self, topic: str) -> TopicAddress | None:
        """Read kind, sender and recipient from one of this council's topics, else ``None``."""
        levels = topic.split("/")
        if levels[:2] != [TOPIC_ROOT, self.council_id] or len(levels) < 4:
            return None
        try:
            kind = TopicKind(levels[2])
        except ValueError:
            return None
        names = levels[3:]
        if not all(_NAME_PATTERN.match(name) for name in names):
            return None
        two_names = kind in (TopicKind.DIRECT, TopicKind.REPLIES)
        if len(names) != (2 if two_names else 1):
            return None
        if two_names:
            return TopicAddress(kind, sender=names[1], recipient=names[0])
        return TopicAddress(kind, sender=names[0])

    def acl_rules(self) -> tuple[AclRule, ...]:
        """The rule table in the module docstring, for this council."""
        root, u = self.prefix, USERNAME_PLACEHOLDER
        writes = [
            f"{root}/{TopicKind.BROADCAST}/{u}",
            f"{root}/{TopicKind.DIRECT}/+/{u}",
            f"{root}/{TopicKind.REQUESTS}/{u}",
            f"{root}/{TopicKind.REPLIES}/+/{u}",
            f"{root}/{TopicKind.RESULTS}/{u}",
            f"{root}/{TopicKind.PRESENCE}/{u}",
            f"{root}/{TopicKind.EVENTS}/{u}",
        ]
        reads = [
            f"{root}/{TopicKind.BROADCAST}/+",
            f"{root}/{TopicKind.DIRECT}/{u}/+",
            f"{root}/{TopicKind.REQUESTS}/+",
            f"{root}/{TopicKind.REPLIES}/{u}/+",
            f"{root}/{TopicKind.RESULTS}/+",
            f"{root}/{TopicKind.PRESENCE}/+",
            f"{root}/{TopicKind.EVENTS}/+",
        ]
        return tuple(
            [AclRule(Access.WRITE, pattern) for pattern in writes]
            + [AclRule(Access.READ, pattern) for pattern in reads]
        )

    def may_publish(self, principal: str, topic: str) -> bool:
        """Whether the ACL lets ``principal`` publish on ``topic``."""
        return any(
            topic_matches(rule.filter_for(principal), topic)
            for rule in self.acl_rules()
            if rule.access is Access.WRITE
        )

    def may_read(self, principal: str, topic: str) -> bool:
        """Whether the ACL lets ``principal`` receive a message published on ``topic``."""
        return any(
            topic_matches(rule.filter_for(principal), topic)
            for rule in self.acl_rules()
            if rule.access is Access.READ
        )

    def may_subscribe(self, principal: str, topic_filter: str) -> bool:
        """Whether every topic ``topic_filter`` can match is one ``principal`` may read."""
        return any(
            filter_covers(rule.filter_for(principal), topic_filter)
            for rule in self.acl_rules()
            if rule.access is Access.READ
        )


def topic_matches(topic_filter: str, topic: str) -> bool:
    """MQTT matching (3.1.1 §4.7): ``+`` is one level, a final ``#`` is any remaining levels."""
    filter_levels = topic_filter.split("/")
    topic_levels = topic.split("/")
    for index, level in enumerate(filter_levels):
        if level == "#":
            return True
        if index >= len(topic_levels):
            return False
        if level not in ("+", topic_levels[index]):
            return False
    return len(filter_levels) == len(topic_levels)


def filter_covers(granted: str, requested: str) -> bool:
    """Whether every topic that filter ``requested`` matches is matched by filter ``granted``."""
    granted_levels = granted.split("/")
    requested_levels = requested.split("/")
    for index, level in enumerate(granted_levels):
        if level == "#":
            return True
        if index >= len(requested_levels):
            return False
        wanted = requested_levels[index]
        if wanted == "#" or (level != "+" and level != wanted):
            return False
    return len(granted_levels) == len(requested_levels)


def mosquitto_acl(topics: CouncilTopics, principals: tuple[str, ...]) -> str:
    """The rule table as a Mosquitto ``acl_file``: shared ``pattern`` lines, then per-user reads."""
    rules = topics.acl_rules()
    lines = [f"# ACL of council {topics.council_id}; see council/live/topics.py", ""]
    lines += [f"pattern {rule.access} {rule.pattern}" for rule in rules if rule.per_principal]
    for principal in principals:
        lines += ["", f"user {check_name(principal, 'principal')}"]
        lines += [f"topic {rule.access} {rule.pattern}" for rule in rules if not rule.per_principal]
    return "\n".join(lines) + "\n"
