"""What ``/metrics`` reports, in Prometheus' text format, from one registry per gateway.

A registry per gateway (not prometheus_client's global one) so that tests and several apps in
one process never share counters.
"""

from __future__ import annotations

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)

# The `_created` timestamp series double every counter for no use on a dashboard.
disable_created_metrics()  # type: ignore[no-untyped-call]

#: Seconds from submission to a verified decision: motions have voting windows of seconds to
#: days, so the buckets reach far.
DECISION_BUCKETS_S = (0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 900, 3600, 86_400)
HTTP_BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


class GatewayMetrics:
    """The gateway's counters, gauges and histograms."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.motions_submitted = Counter(
            "council_motions_submitted", "Motions accepted by the gateway", registry=r
        )
        self.decisions = Counter(
            "council_decisions", "Verified decisions, by outcome", ["outcome"], registry=r
        )
        self.records_refused = Counter(
            "council_decision_records_refused",
            "Announced decision records that did not verify",
            registry=r,
        )
        self.decision_latency = Histogram(
            "council_decision_latency_seconds",
            "From submission to a verified decision",
            buckets=DECISION_BUCKETS_S,
            registry=r,
        )
        self.open_latency = Histogram(
            "council_open_latency_seconds",
            "From submission to f+1 seats agreeing the motion is open",
            buckets=HTTP_BUCKETS_S,
            registry=r,
        )
        self.view_changes = Counter(
            "council_view_changes", "Views the council moved to", registry=r
        )
        self.view = Gauge("council_view", "The council's current view", registry=r)
        self.messages = Counter(
            "council_messages", "Protocol messages seen, by kind", ["kind"], registry=r
        )
        self.rejected = Counter(
            "council_rejected_messages",
            "Messages seats dropped at their edge, by reason",
            ["reason"],
            registry=r,
        )
        self.evidence = Counter(
            "council_evidence", "Proofs of misbehaviour, by kind", ["kind"], registry=r
        )
        self.seats_online = Gauge(
            "council_seats_online", "Seats the gateway sees online", registry=r
        )
        self.ballots = Counter(
            "council_member_ballots", "Ballots members cast through the gateway", registry=r
        )
        self.http_requests = Counter(
            "council_http_requests",
            "HTTP requests, by route and status",
            ["route", "status"],
            registry=r,
        )
        self.http_latency = Histogram(
            "council_http_request_seconds",
            "HTTP request time, by route",
            ["route"],
            buckets=HTTP_BUCKETS_S,
            registry=r,
        )
        self.rate_limited = Counter(
            "council_http_rate_limited", "Requests refused with 429", registry=r
        )

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
