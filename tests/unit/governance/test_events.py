"""Result texts: the event kind is read cheaply and safely before any parsing."""

from __future__ import annotations

from council.governance.events import Closed, Opened, RejectedRequest, event_kind


def test_the_event_kind_is_read_without_parsing_and_never_from_inside_a_string() -> None:
    closed = Closed(motion="M-1", outcome="adopted", yes=3, no=1, abstain=0).text()
    assert event_kind(closed) == "closed"
    assert event_kind(Opened(motion="M-1").text()) == "opened"
    # A reason quoting a result is escaped in canonical JSON: the key is still the real one.
    sneaky = RejectedRequest(reason='bad: {"event":"closed"}').text()
    assert event_kind(sneaky) == "rejected-request"
    assert event_kind("not an event") is None
    assert event_kind('{"event":"') is None
