"""Motions over HTTP against a simulated council: submit, follow, fetch the verified record."""

from __future__ import annotations

from pathlib import Path

import crypto
from council.governance.records import DecisionRecord
from council.governance.verify import verify_decision
from tests.api.support import simulated_api


def test_a_submitted_motion_is_decided_and_its_record_verifies(tmp_path: Path) -> None:
    with simulated_api(tmp_path) as api:
        motion = api.submit("Fund the library")
        assert motion["status"] == "submitted"
        decided = api.wait_for(motion["id"], "decided")
        assert decided["outcome"] in ("adopted", "rejected", "lapsed")
        tally = decided["tally"]
        assert tally["yes"] + tally["no"] + tally["abstain"] + tally["absent"] == 33
        record_text = api.client.get(decided["record_url"], headers=api.headers("observer")).text
        roster_text = api.client.get("/v1/council/roster", headers=api.headers("observer")).text
    record = DecisionRecord.model_validate_json(record_text)
    roster_path = tmp_path / "roster.json"
    roster_path.write_text(roster_text)
    assert verify_decision(record, crypto.Roster.load(roster_path)) == []
    assert (record.yes, record.no, record.abstain) == (tally["yes"], tally["no"], tally["abstain"])
