"""Tunable parameters of a replica; units are last in every name."""

from __future__ import annotations

from dataclasses import dataclass

from consensus.quorum import QuorumMath


@dataclass(frozen=True, slots=True)
class ReplicaConfig:
    """Protocol parameters shared by every replica of one council.

    ``checkpoint_interval`` is PBFT's K; the log window ``watermark_window`` is L (a multiple of
    K, so a replica keeps proposing while the next checkpoint becomes stable).

    ``relay_votes``: backups send their PREPARE and COMMIT to the primary alone, and the primary
    passes on each quorum it gathers (the ``Q − 1`` prepares that prepared a slot, the ``Q``
    commits that committed it) in one broadcast. Every vote keeps its own signature, so a
    backup checks the relayed quorum exactly as if the votes had come straight from their
    signers, and a faulty primary can withhold votes but not forge them; withholding stalls the
    slot, which the view-change timers already treat as a faulty primary. Over a broker this
    turns the two all-to-all phases (``2n²`` deliveries) into ``4n``, at the price of two hops.
    """

    n: int
    checkpoint_interval: int = 16
    watermark_window: int = 64
    batch_size_max: int = 256
    batch_wait_ms: int = 2
    in_flight_max: int = 4
    view_change_timeout_ms: int = 1_000
    view_change_timeout_max_ms: int = 64_000
    heartbeat_interval_ms: int = 250
    primary_silence_timeout_ms: int = 1_500
    status_interval_ms: int = 300
    # The least time between two copies of one VIEW-CHANGE or NEW-VIEW to one peer
    # (ReplicaState.may_resend): a peer that lags asks again every status interval.
    view_message_resend_ms: int = 300
    retransmit_seq_max: int = 8
    relay_votes: bool = False

    def __post_init__(self) -> None:
        QuorumMath.for_council(self.n)  # validates n
        if self.checkpoint_interval < 1:
            raise ValueError("checkpoint_interval must be >= 1")
        if self.watermark_window < 2 * self.checkpoint_interval:
            raise ValueError("watermark_window must be at least 2 * checkpoint_interval")
        if self.watermark_window % self.checkpoint_interval:
            raise ValueError("watermark_window must be a multiple of checkpoint_interval")
        if self.batch_size_max < 1 or self.in_flight_max < 1:
            raise ValueError("batch_size_max and in_flight_max must be >= 1")
        if self.view_message_resend_ms < 0:
            raise ValueError("view_message_resend_ms must be >= 0")
        if self.primary_silence_timeout_ms <= self.heartbeat_interval_ms:
            raise ValueError("primary_silence_timeout_ms must exceed heartbeat_interval_ms")

    @property
    def quorums(self) -> QuorumMath:
        return QuorumMath.for_council(self.n)
