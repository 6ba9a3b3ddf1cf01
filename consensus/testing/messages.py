"""Strategies for council shapes, protocol values and single signed messages (see
:mod:`consensus.testing`)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import TypeVar

from hypothesis import strategies as st

from consensus.config import ReplicaConfig
from consensus.messages import (
    NULL_DIGEST,
    Checkpoint,
    Commit,
    Envelope,
    Heartbeat,
    NewView,
    Prepare,
    PreparedProof,
    PrePrepare,
    Request,
    ViewChange,
    batch_digest,
    decode,
    seal,
)
from consensus.quorum import max_faulty
from consensus.verification import EnvelopeVerifier
from consensus.view_change import ViewChangeSummary, check_view_change, plan_new_view
from crypto import Signer

T = TypeVar("T")
Strategy = st.SearchStrategy
IntArgument = int | Strategy[int]
StrArgument = str | Strategy[str]

#: Requests a strategy puts in one batch; small batches keep examples readable.
BATCH_SIZE_DRAWN_MAX = 3


def _strategy(value: T | Strategy[T]) -> Strategy[T]:
    return value if isinstance(value, st.SearchStrategy) else st.just(value)


def replica_of(signer: Signer) -> int:
    """The replica id a signer signs for (``r3`` → 3); ``ValueError`` for a client's signer."""
    principal = signer.principal
    if not (principal.startswith("r") and principal[1:].isdigit()):
        raise ValueError(f"{principal!r} is not a replica principal")
    return int(principal[1:])


# -- sizes, faults and protocol values -------------------------------------------------------


def council_sizes(min_n: int = 4, max_n: int = 200) -> Strategy[int]:
    """Council sizes ``n`` that tolerate at least one fault (``n ≥ 4``)."""
    if min_n < 4 or max_n < min_n:
        raise ValueError(f"council sizes need 4 <= min_n <= max_n, got {min_n}..{max_n}")
    return st.integers(min_value=min_n, max_value=max_n)


def faulty_sets(n: int, *, max_size: int | None = None) -> Strategy[tuple[int, ...]]:
    """Sorted sets of replica ids of size at most ``f`` (or ``max_size``, if smaller)."""
    size_max = max_faulty(n) if max_size is None else min(max_size, max_faulty(n))
    members = st.lists(st.integers(0, n - 1), unique=True, max_size=size_max)
    return members.map(lambda ids: tuple(sorted(ids)))


def views(max_view: int = 64) -> Strategy[int]:
    return st.integers(min_value=0, max_value=max_view)


def sequence_numbers(max_seq: int = 1024) -> Strategy[int]:
    return st.integers(min_value=1, max_value=max_seq)


def _fresh_digest(label: str) -> str:
    return hashlib.sha256(b"byzantine-council/testing/" + label.encode()).hexdigest()


def digests(known: Sequence[str] = ()) -> Strategy[str]:
    """Digests: one of ``known`` (to conflict with real ones), the null digest, or fresh."""
    fresh = st.text("0123456789abcdef", max_size=6).map(_fresh_digest)
    choices = [st.just(NULL_DIGEST), fresh]
    if known:
        choices.insert(0, st.sampled_from(tuple(known)))
    return st.one_of(choices)


# -- single signed messages ------------------------------------------------------------------


def requests(
    signer: Signer,
    *,
    timestamp: IntArgument = st.integers(1, 8),  # noqa: B008 - strategies are immutable
    operation: StrArgument = st.text("abcxyz-0123", max_size=12),  # noqa: B008
) -> Strategy[Envelope]:
    """Requests signed by ``signer`` as their client."""
    return st.builds(
        lambda ts, op: seal(signer, Request(client=signer.principal, timestamp=ts, operation=op)),
        _strategy(timestamp),
        _strategy(operation),
    )


def batches(pool: Sequence[Envelope]) -> Strategy[tuple[Envelope, ...]]:
    """Batches of distinct requests drawn from ``pool`` (the empty batch when it is empty)."""
    if not pool:
        return st.just(())
    chosen = st.lists(
        st.sampled_from(tuple(pool)),
        max_size=BATCH_SIZE_DRAWN_MAX,
        unique_by=lambda envelope: envelope.signature,
    )
    return chosen.map(tuple)


def pre_prepares(
    signer: Signer,
    *,
    view: IntArgument = views(),  # noqa: B008
    seq: IntArgument = sequence_numbers(),  # noqa: B008
    batch: tuple[Envelope, ...] | Strategy[tuple[Envelope, ...]] = (),
    digest: StrArgument | None = None,
) -> Strategy[Envelope]:
    """Pre-prepares signed by ``signer`` with ``batch`` attached; the digest is the batch's
    unless ``digest`` says otherwise (a pre-prepare whose attachment does not match)."""
    signed_digest = None if digest is None else _strategy(digest)
    return _pre_prepare(signer, _strategy(view), _strategy(seq), _strategy(batch), signed_digest)


@st.composite
def _pre_prepare(
    draw: st.DrawFn,
    signer: Signer,
    view: Strategy[int],
    seq: Strategy[int],
    batch: Strategy[tuple[Envelope, ...]],
    digest: Strategy[str] | None,
) -> Envelope:
    attached = draw(batch)
    signed_digest = batch_digest(attached) if digest is None else draw(digest)
    message = PrePrepare(view=draw(view), seq=draw(seq), digest=signed_digest)
    return seal(signer, message, attachment=attached)


def _vote(
    signer: Signer,
    vote: type[Prepare] | type[Commit],
    view: IntArgument,
    seq: IntArgument,
    digest: StrArgument,
    replica: IntArgument | None,
) -> Strategy[Envelope]:
    return st.builds(
        lambda v, s, d, r: seal(signer, vote(view=v, seq=s, digest=d, replica=r)),
        _strategy(view),
        _strategy(seq),
        _strategy(digest),
        _strategy(replica_of(signer) if replica is None else replica),
    )


def prepares(
    signer: Signer,
    *,
    view: IntArgument = views(),  # noqa: B008
    seq: IntArgument = sequence_numbers(),  # noqa: B008
    digest: StrArgument = digests(),  # noqa: B008
    replica: IntArgument | None = None,
) -> Strategy[Envelope]:
    """Prepares signed by ``signer``; ``replica`` defaults to the signer's own id (another
    value makes a message whose claimed sender is not its signer)."""
    return _vote(signer, Prepare, view, seq, digest, replica)


def commits(
    signer: Signer,
    *,
    view: IntArgument = views(),  # noqa: B008
    seq: IntArgument = sequence_numbers(),  # noqa: B008
    digest: StrArgument = digests(),  # noqa: B008
    replica: IntArgument | None = None,
) -> Strategy[Envelope]:
    """Commits signed by ``signer``; ``replica`` as for :func:`prepares`."""
    return _vote(signer, Commit, view, seq, digest, replica)


def checkpoints(
    signer: Signer,
    *,
    seq: IntArgument = sequence_numbers(),  # noqa: B008
    state_digest: StrArgument = digests(),  # noqa: B008
) -> Strategy[Envelope]:
    """Checkpoints signed by ``signer`` for its own replica id."""
    return st.builds(
        lambda s, d: seal(signer, Checkpoint(seq=s, state_digest=d, replica=replica_of(signer))),
        _strategy(seq),
        _strategy(state_digest),
    )


def heartbeats(
    signer: Signer,
    *,
    view: IntArgument = views(),  # noqa: B008
    last_seq: IntArgument = st.integers(0, 1024),  # noqa: B008
) -> Strategy[Envelope]:
    return st.builds(
        lambda v, s: seal(signer, Heartbeat(view=v, last_seq=s, replica=replica_of(signer))),
        _strategy(view),
        _strategy(last_seq),
    )


def view_changes(
    signer: Signer,
    *,
    new_view: IntArgument = views().map(lambda v: v + 1),  # noqa: B008
    stable_seq: int = 0,
    checkpoint_proof: tuple[Envelope, ...] = (),
    prepared: Sequence[tuple[PreparedProof, Envelope]] = (),
) -> Strategy[Envelope]:
    """View-changes signed by ``signer``. ``prepared`` pairs each proof of P with the full
    pre-prepare (batch attached) that travels in the envelope's attachment. The defaults —
    nothing stable, nothing prepared — are what a correct replica that saw nothing sends."""
    proofs = tuple(proof for proof, _ in prepared)
    attachment = tuple(full for _, full in prepared)

    def build(view: int) -> Envelope:
        message = ViewChange(
            new_view=view,
            replica=replica_of(signer),
            stable_seq=stable_seq,
            checkpoint_proof=checkpoint_proof,
            prepared=proofs,
        )
        return seal(signer, message, attachment=attachment)

    return st.builds(build, _strategy(new_view))


class _SignaturesTrusted:
    """Accepts every signature: a NEW-VIEW's author trusts what it assembles (receivers do not)."""

    def verify(self, principal: str, kind: str, body: bytes, signature: bytes) -> bool:
        return True


def _summaries(
    config: ReplicaConfig, view: int, envelopes: Sequence[Envelope]
) -> list[ViewChangeSummary]:
    """Summaries of the distinct well-formed view-changes for ``view``, by replica."""
    trusting = EnvelopeVerifier(_SignaturesTrusted())
    by_replica: dict[int, ViewChangeSummary] = {}
    for envelope in envelopes:
        message = trusting.open_as(envelope, ViewChange)
        if message is None or message.new_view != view or message.replica in by_replica:
            continue
        summary = check_view_change(trusting, config, envelope, message, require_batches=True)
        if summary is not None:
            by_replica[message.replica] = summary
    return [by_replica[replica] for replica in sorted(by_replica)]


def new_views(
    signer: Signer,
    config: ReplicaConfig,
    *,
    view: int,
    view_changes: Sequence[Envelope],
    tamper: bool | Strategy[bool] = False,
) -> Strategy[Envelope]:
    """NEW-VIEWs for ``view`` signed by ``signer`` (its primary, for the message to stand a
    chance) from a chosen quorum of ``view_changes``: O is derived as PBFT prescribes, or
    — with ``tamper`` — one assignment is replaced by a batch of the signer's choosing."""
    return _new_view(signer, config, view, tuple(view_changes), _strategy(tamper))


@st.composite
def _new_view(
    draw: st.DrawFn,
    signer: Signer,
    config: ReplicaConfig,
    view: int,
    view_changes: tuple[Envelope, ...],
    tamper: Strategy[bool],
) -> Envelope:
    summaries = _summaries(config, view, view_changes)
    quorum = config.quorums.quorum
    if len(summaries) > quorum:
        chosen = draw(st.permutations(summaries))[:quorum]
        summaries = sorted(chosen, key=lambda summary: summary.replica)
    assignments = plan_new_view(view, summaries).assignments if summaries else ()
    o_set = [(a.seq, a.digest, a.requests) for a in assignments]
    tampered = draw(tamper)
    if o_set and tampered:
        index = draw(st.integers(0, len(o_set) - 1))
        seq, digest, _ = o_set[index]
        other = NULL_DIGEST if digest != NULL_DIGEST else _fresh_digest(f"tamper/{seq}")
        o_set[index] = (seq, other, ())
    pre_prepares = tuple(
        seal(signer, PrePrepare(view=view, seq=seq, digest=digest), attachment=batch)
        for seq, digest, batch in o_set
    )
    chosen_replicas = {summary.replica for summary in summaries}
    v_set = tuple(
        envelope.detached()
        for envelope in _distinct_view_changes(view, view_changes)
        if _view_change_replica(envelope) in chosen_replicas
    )
    return seal(signer, NewView(view=view, view_changes=v_set, pre_prepares=pre_prepares))


def _view_change_replica(envelope: Envelope) -> int:
    message = decode(envelope)
    assert isinstance(message, ViewChange)
    return message.replica


def _distinct_view_changes(view: int, envelopes: Sequence[Envelope]) -> list[Envelope]:
    """The first view-change for ``view`` of each replica, in the order given."""
    seen: set[int] = set()
    kept: list[Envelope] = []
    for envelope in envelopes:
        if envelope.kind != "view-change":
            continue
        message = decode(envelope)
        assert isinstance(message, ViewChange)
        if message.new_view == view and message.replica not in seen:
            seen.add(message.replica)
            kept.append(envelope)
    return kept


# -- what faulty replicas may say ------------------------------------------------------------
