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

from consensus.testing.lies import byzantine_messages
from consensus.testing.messages import (
    batches,
    checkpoints,
    commits,
    council_sizes,
    digests,
    faulty_sets,
    heartbeats,
    new_views,
    pre_prepares,
    prepares,
    replica_of,
    requests,
    sequence_numbers,
    view_changes,
    views,
)

__all__ = [
    "batches",
    "byzantine_messages",
    "checkpoints",
    "commits",
    "council_sizes",
    "digests",
    "faulty_sets",
    "heartbeats",
    "new_views",
    "pre_prepares",
    "prepares",
    "replica_of",
    "requests",
    "sequence_numbers",
    "view_changes",
    "views",
]
