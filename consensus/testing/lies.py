"""What a coalition of faulty replicas may send: :func:`byzantine_messages` (see
:mod:`consensus.testing`)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from hypothesis import strategies as st

from consensus.application import LedgerApplication, checkpoint_snapshot
from consensus.config import ReplicaConfig
from consensus.messages import (
    Checkpoint,
    Envelope,
    FetchState,
    Prepare,
    PreparedProof,
    PrePrepare,
    StateSnapshot,
    Status,
    decode,
    seal,
)
from consensus.testing.messages import (
    Strategy,
    batches,
    checkpoints,
    commits,
    digests,
    heartbeats,
    new_views,
    pre_prepares,
    prepares,
    replica_of,
    sequence_numbers,
    view_changes,
    views,
)
from crypto import Signer


def byzantine_messages(
    signers: Mapping[int, Signer],
    config: ReplicaConfig | int,
    *,
    view_values: Strategy[int] = views(),  # noqa: B008
    seq_values: Strategy[int] = sequence_numbers(),  # noqa: B008
    request_pool: Sequence[Envelope] = (),
    known_digests: Sequence[str] = (),
    observed: Sequence[Envelope] = (),
) -> Strategy[Envelope]:
    """Validly signed protocol messages from the faulty replicas whose ``signers`` are given
    (replica id → signer): pre-prepares with real or mismatched batches, votes for
    conflicting digests, wrong views and sequence numbers (draw them wide of the watermarks),
    messages claiming another sender, uncertified checkpoints and snapshots, bogus or
    selectively honest view-changes, NEW-VIEWs assembled by a faulty primary from the
    view-changes it ``observed``, and plain replays of ``observed`` messages.

    ``request_pool`` are the signed requests a faulty primary may order; ``known_digests``
    makes conflicting votes likely to collide with real ones.
    """
    if not signers:
        raise ValueError("byzantine messages need at least one faulty signer")
    adversary = _Adversary(
        signers=dict(signers),
        config=config if isinstance(config, ReplicaConfig) else ReplicaConfig(n=config),
        views=view_values,
        seqs=seq_values,
        batches=batches(request_pool),
        digests=digests(known_digests),
        observed=tuple(observed),
    )
    lies = [
        adversary.signed_by(_pre_prepare_lies),
        adversary.signed_by(_vote_lies),
        adversary.signed_by(_checkpoint_lies),
        adversary.signed_by(_chatter),
        adversary.signed_by(_snapshot_lies),
        adversary.signed_by(_view_change_lies),
        adversary.views.flatmap(lambda view: _new_view_lies(adversary, view)),
    ]
    if adversary.observed:
        lies.append(st.sampled_from(adversary.observed))
    return st.one_of(lies)


@dataclass(frozen=True, slots=True)
class _Adversary:
    """The faulty coalition's keys and what it can draw on."""

    signers: dict[int, Signer]
    config: ReplicaConfig
    views: Strategy[int]
    seqs: Strategy[int]
    batches: Strategy[tuple[Envelope, ...]]
    digests: Strategy[str]
    observed: tuple[Envelope, ...]

    def signed_by(
        self, lie: Callable[[_Adversary, Signer], Strategy[Envelope]]
    ) -> Strategy[Envelope]:
        """``lie`` told by one faulty replica of the coalition."""
        faulty = st.sampled_from(sorted(self.signers))
        return faulty.flatmap(lambda replica: lie(self, self.signers[replica]))

    def seen(self, kind: str) -> list[Envelope]:
        return [envelope for envelope in self.observed if envelope.kind == kind]

    def coalition_checkpoints(self, seq: int, state_digest: str) -> tuple[Envelope, ...]:
        """Every faulty replica's checkpoint for ``state_digest`` — never a quorum."""
        return tuple(
            seal(s, Checkpoint(seq=seq, state_digest=state_digest, replica=replica_of(s)))
            for s in self.signers.values()
        )


def _pre_prepare_lies(adversary: _Adversary, signer: Signer) -> Strategy[Envelope]:
    a = adversary
    matching = pre_prepares(signer, view=a.views, seq=a.seqs, batch=a.batches)
    mismatched = pre_prepares(signer, view=a.views, seq=a.seqs, batch=a.batches, digest=a.digests)
    return st.one_of(matching, mismatched)


def _vote_lies(adversary: _Adversary, signer: Signer) -> Strategy[Envelope]:
    """Prepares and commits for any slot and digest, some claiming another sender."""
    a = adversary
    claimed = st.one_of(st.none(), st.integers(0, a.config.n - 1))
    return claimed.flatmap(
        lambda replica: st.one_of(
            prepares(signer, view=a.views, seq=a.seqs, digest=a.digests, replica=replica),
            commits(signer, view=a.views, seq=a.seqs, digest=a.digests, replica=replica),
        )
    )


def _checkpoint_lies(adversary: _Adversary, signer: Signer) -> Strategy[Envelope]:
    interval = adversary.config.checkpoint_interval
    on_interval = adversary.seqs.map(lambda seq: max(interval, seq - seq % interval))
    seq = st.one_of(on_interval, adversary.seqs)
    return checkpoints(signer, seq=seq, state_digest=adversary.digests)


def _chatter(adversary: _Adversary, signer: Signer) -> Strategy[Envelope]:
    """Heartbeats, status reports and state requests with arbitrary claims."""
    replica = replica_of(signer)
    status = st.builds(
        lambda view, active, executed, stable, round_: seal(
            signer,
            Status(
                view=view,
                replica=replica,
                active=active,
                last_executed=executed,
                stable_seq=stable,
                round=round_,
            ),
        ),
        adversary.views,
        st.booleans(),
        st.integers(0, 64),
        st.integers(0, 64),
        st.integers(0, 8),
    )
    fetch = adversary.seqs.map(lambda seq: seal(signer, FetchState(replica=replica, seq=seq)))
    beat = heartbeats(signer, view=adversary.views, last_seq=adversary.seqs)
    return st.one_of(beat, status, fetch)


@st.composite
def _snapshot_lies(draw: st.DrawFn, adversary: _Adversary, signer: Signer) -> Envelope:
    """A state snapshot certified only by faulty checkpoints, or under a real certificate
    it does not match."""
    real = adversary.seen("checkpoint")
    use_real = draw(st.booleans())
    if real and use_real:
        seq = _checkpoint_seq(draw(st.sampled_from(real)))
        certificate = tuple(e for e in real if _checkpoint_seq(e) == seq)
    else:
        seq = draw(adversary.seqs)
        certificate = ()
    snapshot = checkpoint_snapshot(seq, LedgerApplication().snapshot(), {})
    if not certificate:
        state_digest = hashlib.sha256(snapshot.encode()).hexdigest()
        certificate = adversary.coalition_checkpoints(seq, state_digest)
    message = StateSnapshot(
        replica=replica_of(signer), seq=seq, snapshot=snapshot, certificate=certificate
    )
    return seal(signer, message)


@st.composite
def _view_change_lies(draw: st.DrawFn, adversary: _Adversary, signer: Signer) -> Envelope:
    """A view-change that omits everything, reports a forged or real prepared certificate,
    or claims a checkpoint only faulty replicas signed."""
    new_view = draw(adversary.views) + 1
    variant = draw(st.sampled_from(("omits", "prepared", "checkpoint")))
    if variant == "prepared":
        prepared = draw(_prepared_entries(adversary, new_view))
        return draw(view_changes(signer, new_view=new_view, prepared=[prepared]))
    if variant == "checkpoint":
        seq = draw(adversary.seqs)
        certificate = adversary.coalition_checkpoints(seq, draw(adversary.digests))
        claim = view_changes(
            signer, new_view=new_view, stable_seq=seq, checkpoint_proof=certificate
        )
        return draw(claim)
    return draw(view_changes(signer, new_view=new_view))


@st.composite
def _prepared_entries(
    draw: st.DrawFn, adversary: _Adversary, below_view: int
) -> tuple[PreparedProof, Envelope]:
    """A prepared certificate: a real pre-prepare seen in transit or one forged by a faulty
    replica, with the matching prepares seen plus the coalition's own."""
    seen = adversary.seen("pre-prepare")
    use_seen = draw(st.booleans())
    if seen and use_seen:
        full = draw(st.sampled_from(seen))
    else:
        primary = adversary.signers[draw(st.sampled_from(sorted(adversary.signers)))]
        view = draw(st.integers(0, below_view - 1))
        forged = pre_prepares(primary, view=view, seq=adversary.seqs, batch=adversary.batches)
        full = draw(forged)
    pre_prepare = decode(full)
    assert isinstance(pre_prepare, PrePrepare)
    slot = (pre_prepare.view, pre_prepare.seq, pre_prepare.digest)
    votes = [e for e in adversary.seen("prepare") if _slot_of(e) == slot]
    votes += [
        seal(s, Prepare(view=slot[0], seq=slot[1], digest=slot[2], replica=replica_of(s)))
        for s in adversary.signers.values()
    ]
    distinct = tuple({e.sender: e for e in votes}.values())
    return PreparedProof(pre_prepare=full.detached(), prepares=distinct), full


@st.composite
def _new_view_lies(draw: st.DrawFn, adversary: _Adversary, base_view: int) -> Envelope:
    """A NEW-VIEW by a faulty replica for the first view after ``base_view`` it leads, from
    the view-changes seen for that view and the coalition's own."""
    n = adversary.config.n
    leader = draw(st.sampled_from(sorted(adversary.signers)))
    view = base_view + 1 + (leader - base_view - 1) % n
    own = [
        draw(view_changes(s, new_view=view))
        for s in adversary.signers.values()
        if draw(st.booleans())
    ]
    candidates = [*adversary.seen("view-change"), *own]
    lie = new_views(
        adversary.signers[leader],
        adversary.config,
        view=view,
        view_changes=candidates,
        tamper=st.booleans(),
    )
    return draw(lie)


def _checkpoint_seq(envelope: Envelope) -> int:
    message = decode(envelope)
    assert isinstance(message, Checkpoint)
    return message.seq


def _slot_of(envelope: Envelope) -> tuple[int, int, str]:
    message = decode(envelope)
    assert isinstance(message, Prepare)
    return message.view, message.seq, message.digest
