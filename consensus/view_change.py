"""View change: checking VIEW-CHANGE proofs and deriving NEW-VIEW's O set (OSDI'99 §4.4).

These are pure functions over verified envelopes. The new primary calls :func:`plan_new_view`
to build O; every backup calls it again on the V it receives and rejects a NEW-VIEW whose O
differs (:func:`check_new_view`). For each sequence number above the highest stable checkpoint
in V, O re-proposes the digest prepared in the highest view, and a null request fills each gap.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from consensus.config import ReplicaConfig
from consensus.messages import (
    NULL_DIGEST,
    Checkpoint,
    Envelope,
    NewView,
    Prepare,
    PreparedProof,
    PrePrepare,
    ViewChange,
    batch_digest,
    replica_principal,
)
from consensus.verification import EnvelopeVerifier

#: The state digest of the empty log, certified by nobody: sequence number 0 is stable by fiat.
GENESIS_SEQ = 0


def check_checkpoint_certificate(
    verifier: EnvelopeVerifier, config: ReplicaConfig, seq: int, certificate: tuple[Envelope, ...]
) -> str | None:
    """The state digest certified for ``seq`` by ``Q`` distinct replicas, or ``None``.

    Sequence number 0 needs no certificate; its digest is the empty string.
    """
    if seq == GENESIS_SEQ:
        return "" if not certificate else None
    digest: str | None = None
    signers: set[int] = set()
    for envelope in certificate:
        checkpoint = verifier.open_as(envelope, Checkpoint)
        if checkpoint is None or checkpoint.seq != seq or checkpoint.replica >= config.n:
            return None
        if envelope.sender != replica_principal(checkpoint.replica):
            return None
        if checkpoint.replica in signers:
            return None
        if digest is None:
            digest = checkpoint.state_digest
        elif digest != checkpoint.state_digest:
            return None
        signers.add(checkpoint.replica)
    return digest if len(signers) >= config.quorums.quorum else None


def check_prepared_proof(
    verifier: EnvelopeVerifier,
    config: ReplicaConfig,
    proof: PreparedProof,
    *,
    low_seq: int,
    high_seq: int,
    below_view: int,
) -> PrePrepare | None:
    """The pre-prepare of a valid prepared certificate with ``low_seq < seq <= high_seq``."""
    quorums = config.quorums
    pre_prepare = verifier.open_as(proof.pre_prepare, PrePrepare)
    if pre_prepare is None or pre_prepare.view >= below_view:
        return None
    if not low_seq < pre_prepare.seq <= high_seq:
        return None
    primary = quorums.primary(pre_prepare.view)
    if proof.pre_prepare.sender != replica_principal(primary):
        return None
    backups: set[int] = set()
    for envelope in proof.prepares:
        prepare = verifier.open_as(envelope, Prepare)
        if prepare is None or envelope.sender != replica_principal(prepare.replica):
            return None
        if (prepare.view, prepare.seq, prepare.digest) != (
            pre_prepare.view,
            pre_prepare.seq,
            pre_prepare.digest,
        ):
            return None
        # The primary's prepare never counts, and nobody counts twice.
        if prepare.replica == primary or prepare.replica in backups or prepare.replica >= config.n:
            return None
        backups.add(prepare.replica)
    return pre_prepare if len(backups) >= quorums.quorum - 1 else None


@dataclass(frozen=True, slots=True)
class ViewChangeSummary:
    """A checked VIEW-CHANGE: its stable checkpoint, the prepared pre-prepare per seq, and —
    when the envelope carried them — the batches behind those pre-prepares."""

    replica: int
    new_view: int
    stable_seq: int
    checkpoint_proof: tuple[Envelope, ...]
    prepared: tuple[tuple[PrePrepare, Envelope], ...]
    batches: dict[int, tuple[Envelope, ...]]


def attached_batches(
    envelope: Envelope, prepared: list[tuple[PrePrepare, Envelope]]
) -> dict[int, tuple[Envelope, ...]] | None:
    """The batch of each prepared entry, from the envelope's attachment; ``None`` if one is
    missing or does not match its digest."""
    by_signature = {attached.signature: attached for attached in envelope.attachment}
    batches: dict[int, tuple[Envelope, ...]] = {}
    for pre_prepare, pre_prepare_envelope in prepared:
        full = by_signature.get(pre_prepare_envelope.signature)
        if full is None or batch_digest(full.attachment) != pre_prepare.digest:
            return None
        batches[pre_prepare.seq] = full.attachment
    return batches


def check_view_change(
    verifier: EnvelopeVerifier,
    config: ReplicaConfig,
    envelope: Envelope,
    message: ViewChange,
    *,
    require_batches: bool = False,
) -> ViewChangeSummary | None:
    """Check every proof inside a VIEW-CHANGE; ``None`` if any is invalid.

    The new primary needs the batches (``require_batches``); backups checking V inside a
    NEW-VIEW only need the signed part."""
    if message.replica >= config.n or envelope.sender != replica_principal(message.replica):
        return None
    stable_digest = check_checkpoint_certificate(
        verifier, config, message.stable_seq, message.checkpoint_proof
    )
    if stable_digest is None:
        return None
    prepared: list[tuple[PrePrepare, Envelope]] = []
    seen_seqs: set[int] = set()
    for proof in message.prepared:
        pre_prepare = check_prepared_proof(
            verifier,
            config,
            proof,
            low_seq=message.stable_seq,
            high_seq=message.stable_seq + config.watermark_window,
            below_view=message.new_view,
        )
        if pre_prepare is None or pre_prepare.seq in seen_seqs:
            return None
        seen_seqs.add(pre_prepare.seq)
        prepared.append((pre_prepare, proof.pre_prepare))
    batches = attached_batches(envelope, prepared)
    if batches is None:
        if require_batches:
            return None
        batches = {}
    return ViewChangeSummary(
        replica=message.replica,
        new_view=message.new_view,
        stable_seq=message.stable_seq,
        checkpoint_proof=message.checkpoint_proof,
        prepared=tuple(prepared),
        batches=batches,
    )


@dataclass(frozen=True, slots=True)
class Assignment:
    """What O assigns to one sequence number: a prepared batch, or the null request.

    ``requests`` is known to the new primary (it checked the batches); a backup recomputing
    the plan from V only knows the digest and takes the batch from O's attachment.
    """

    seq: int
    digest: str
    requests: tuple[Envelope, ...]


@dataclass(frozen=True, slots=True)
class NewViewPlan:
    view: int
    stable_seq: int
    checkpoint_proof: tuple[Envelope, ...]
    assignments: tuple[Assignment, ...]


def plan_new_view(view: int, summaries: list[ViewChangeSummary]) -> NewViewPlan:
    """Derive O from V: the highest-view prepared digest per seq, null requests for gaps."""
    assert summaries, "a NEW-VIEW plan needs view-changes"
    best = max(summaries, key=lambda summary: (summary.stable_seq, -summary.replica))
    stable_seq = best.stable_seq
    chosen: dict[int, tuple[PrePrepare, ViewChangeSummary]] = {}
    for summary in summaries:
        for pre_prepare, _envelope in summary.prepared:
            if pre_prepare.seq <= stable_seq:
                continue
            current = chosen.get(pre_prepare.seq)
            if current is None or pre_prepare.view > current[0].view:
                chosen[pre_prepare.seq] = (pre_prepare, summary)
    max_seq = max(chosen, default=stable_seq)
    assignments = []
    for seq in range(stable_seq + 1, max_seq + 1):
        if seq not in chosen:
            assignments.append(Assignment(seq=seq, digest=NULL_DIGEST, requests=()))
            continue
        prepared, source = chosen[seq]
        requests = source.batches.get(seq, ())
        assignments.append(Assignment(seq=seq, digest=prepared.digest, requests=requests))
    return NewViewPlan(
        view=view,
        stable_seq=stable_seq,
        checkpoint_proof=best.checkpoint_proof,
        assignments=tuple(assignments),
    )


#: View-changes a replica has already checked, by signature: the envelope and its summary.
CheckedViewChanges = Mapping[str, tuple[Envelope, ViewChangeSummary]]


def check_new_view(
    verifier: EnvelopeVerifier,
    config: ReplicaConfig,
    envelope: Envelope,
    message: NewView,
    checked: CheckedViewChanges | None = None,
) -> tuple[NewViewPlan, tuple[Envelope, ...]] | str:
    """Recompute O from V and compare; the plan and O's envelopes, or why it is invalid.

    A view-change in V that is byte for byte one in ``checked`` — the replica received it
    directly and checked every proof in it then — keeps that check's summary. Under load each
    one carries hundreds of signed votes, and every backup used to decode them all again."""
    primary = config.quorums.primary(message.view)
    if envelope.sender != replica_principal(primary):
        return "new-view not from the view's primary"
    summaries: dict[int, ViewChangeSummary] = {}
    for view_change_envelope in message.view_changes:
        known = (checked or {}).get(view_change_envelope.signature)
        if known is not None and known[0].same_signed(view_change_envelope):
            summary = known[1]
        else:
            result = _check_in_v(verifier, config, view_change_envelope)
            if isinstance(result, str):
                return result
            summary = result
        if summary.new_view != message.view:
            return "a view-change in V is unsigned or for another view"
        if summary.replica in summaries:
            return f"replica {summary.replica} appears twice in V"
        summaries[summary.replica] = summary
    if len(summaries) < config.quorums.quorum:
        return f"V holds {len(summaries)} view-changes, fewer than a quorum"
    plan = plan_new_view(message.view, [summaries[r] for r in sorted(summaries)])
    if len(message.pre_prepares) != len(plan.assignments):
        return "O does not cover exactly the sequence numbers V calls for"
    for assignment, pre_prepare_envelope in zip(
        plan.assignments, message.pre_prepares, strict=True
    ):
        pre_prepare = verifier.open_as(pre_prepare_envelope, PrePrepare)
        if pre_prepare is None or pre_prepare_envelope.sender != envelope.sender:
            return "a pre-prepare in O is not signed by the new primary"
        if (pre_prepare.view, pre_prepare.seq, pre_prepare.digest) != (
            message.view,
            assignment.seq,
            assignment.digest,
        ):
            return f"O assigns seq {assignment.seq} differently from V"
        if batch_digest(pre_prepare_envelope.attachment) != pre_prepare.digest:
            return f"O's pre-prepare for seq {assignment.seq} comes without its batch"
    return plan, message.pre_prepares


def _check_in_v(
    verifier: EnvelopeVerifier, config: ReplicaConfig, envelope: Envelope
) -> ViewChangeSummary | str:
    view_change = verifier.open_as(envelope, ViewChange)
    if view_change is None:
        return "a view-change in V is unsigned or for another view"
    summary = check_view_change(verifier, config, envelope, view_change)
    if summary is None:
        return f"view-change of replica {view_change.replica} in V is invalid"
    return summary
