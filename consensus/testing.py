"""Hypothesis strategies for property-testing the PBFT core and anything built on it.

Importing this module requires `hypothesis <https://hypothesis.readthedocs.io>`_, a development
dependency (``pip install -e '.[dev]'``); nothing else in ``consensus`` imports it. Every
strategy is deterministic: hypothesis makes all the choices, so a failing example shrinks and
replays. Message strategies return *signed* envelopes, sealed with the :class:`crypto.Signer`
you hand them — a faulty replica lies with its real key, exactly as it could in a council.

- sizes and faults: :func:`council_sizes`, :func:`faulty_sets`;
- protocol values: :func:`views`, :func:`sequence_numbers`, :func:`digests`;
- one kind of signed message: :func:`requests`, :func:`pre_prepares`, :func:`prepares`,
  :func:`commits`, :func:`checkpoints`, :func:`heartbeats`, :func:`view_changes`,
  :func:`new_views`;
- anything a coalition of faulty replicas may send: :func:`byzantine_messages` (conflicting
  digests, wrong views, sequence numbers outside the watermarks, forged certificates, bogus
  view changes, NEW-VIEWs assembled from view-changes it saw, replays).

Arguments named ``view``, ``seq``, ``digest``, ... take a value or a strategy for one.

Example — whatever a faulty coalition says, it is signed by one of its members (or it is
a replay), so the edge lets it through and the replicas must cope::

    import crypto
    from hypothesis import given, strategies as st
    from consensus import EnvelopeVerifier, replica_principal
    from consensus.testing import byzantine_messages, council_sizes, faulty_sets

    def council(n):
        keys = {replica_principal(i): crypto.PrivateKey.derive(7, replica_principal(i))
                for i in range(n)}
        roster = crypto.Roster("demo", {name: key.public_key() for name, key in keys.items()})
        signers = {i: crypto.Signer("demo", replica_principal(i), keys[replica_principal(i)])
                   for i in range(n)}
        return signers, EnvelopeVerifier(crypto.Verifier(roster))

    @given(st.data(), council_sizes(max_n=10))
    def test_lies_pass_the_edge(data, n):
        signers, verifier = council(n)
        faulty = data.draw(faulty_sets(n).filter(bool))
        lie = data.draw(byzantine_messages({i: signers[i] for i in faulty}, n))
        assert verifier.open(lie) is not None
        assert lie.sender in {signers[i].principal for i in faulty}

``tests/property/test_replica_state_machine.py`` drives a whole council with these.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

from hypothesis import strategies as st

from consensus.application import LedgerApplication, checkpoint_snapshot
from consensus.config import ReplicaConfig
from consensus.messages import (
    NULL_DIGEST,
    Checkpoint,
    Commit,
    Envelope,
    FetchState,
    Heartbeat,
    NewView,
    Prepare,
    PreparedProof,
    PrePrepare,
    Request,
    StateSnapshot,
    Status,
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
    vote: Callable[[int, int, str, int], Prepare | Commit],
    view: IntArgument,
    seq: IntArgument,
    digest: StrArgument,
    replica: IntArgument | None,
) -> Strategy[Envelope]:
    return st.builds(
        lambda v, s, d, r: seal(signer, vote(v, s, d, r)),
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
    return _vote(
        signer,
        lambda v, s, d, r: Prepare(view=v, seq=s, digest=d, replica=r),
        view,
        seq,
        digest,
        replica,
    )


def commits(
    signer: Signer,
    *,
    view: IntArgument = views(),  # noqa: B008
    seq: IntArgument = sequence_numbers(),  # noqa: B008
    digest: StrArgument = digests(),  # noqa: B008
    replica: IntArgument | None = None,
) -> Strategy[Envelope]:
    """Commits signed by ``signer``; ``replica`` as for :func:`prepares`."""
    return _vote(
        signer,
        lambda v, s, d, r: Commit(view=v, seq=s, digest=d, replica=r),
        view,
        seq,
        digest,
        replica,
    )


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
