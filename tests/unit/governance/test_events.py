"""Result texts: the event kind is read cheaply and safely before any parsing."""

from __future__ import annotations

from council.governance.events import (
    BallotCast,
    Closed,
    Opened,
    RejectedRequest,
    event_kind,
    parse_event,
)


def test_the_event_kind_is_read_without_parsing_and_never_from_inside_a_string() -> None:
    closed = Closed(motion="M-1", outcome="adopted", yes=3, no=1, abstain=0).text()
    assert event_kind(closed) == "closed"
    assert event_kind(Opened(motion="M-1").text()) == "opened"
    # A reason quoting a result is escaped in canonical JSON: the key is still the real one.
    sneaky = RejectedRequest(reason='bad: {"event":"closed"}').text()
    assert event_kind(sneaky) == "rejected-request"
    assert event_kind("not an event") is None
    assert event_kind('{"event":"') is None


def test_a_ballot_says_what_it_changed_from_only_when_it_replaced_one() -> None:
    first = BallotCast(motion="M-1", vote="yes")
    change = BallotCast(motion="M-1", vote="no", changed_from="yes")
    assert first.text() == '{"event":"ballot","motion":"M-1","vote":"yes"}'
    assert change.text() == '{"changed_from":"yes","event":"ballot","motion":"M-1","vote":"no"}'
    assert parse_event(first.text()) == first
    assert parse_event(change.text()) == change
    assert parse_event(change.text().replace('"yes"', '"maybe"')) is None
