"""What ``council up --demo`` submits, and how a decision is shown as it lands."""

from __future__ import annotations

from council.governance.records import DecisionRecord

#: (title, category) of the demo motions, for the default council's categories.
DEMO_MOTIONS: tuple[tuple[str, str], ...] = (
    ("Adopt the annual budget", "budget"),
    ("Audit the procurement office", "anti-corruption"),
    ("Phase out coal subsidies by 2030", "environment"),
    ("Appoint the independent ombudsman", "appointments"),
    ("Publish every lobbying contact", "anti-corruption"),
    ("Fund the harbour flood barrier", "budget"),
    ("Extend the term of the audit board", "constitutional"),
    ("Create a citizens' assembly on housing", "appointments"),
)


def format_decision(record: DecisionRecord) -> str:
    """One line per decision: outcome, tally, and the certificate that proves it."""
    return (
        f"decided {record.motion_id}: {record.outcome.upper()} "
        f"(yes {record.yes}, no {record.no}, abstain {record.abstain} of {record.seats}; "
        f"{record.rule}) at seq {record.closing.seq}, "
        f"certified by {len(record.closing.certificate)} signed commits"
    )
