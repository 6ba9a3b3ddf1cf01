"""The message log of one sequence number (PBFT OSDI'99 §4.2–4.3).

A :class:`Slot` collects the pre-prepare, prepares and commits for one sequence number in the
current view and remembers the highest-view prepared certificate across views (the ``P`` entry
a view change carries). Counting rules that PBFT toys get wrong live here:

- prepares are counted per distinct backup; the primary's prepare is never counted;
- a second, different message from the same sender for the same slot is equivocation;
- prepared = pre-prepare + ``Q − 1`` matching prepares; committed-local = prepared + ``Q``
  matching commits (the replica's own included).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from consensus.messages import Envelope, PreparedProof


@dataclass(slots=True)
class Votes:
    """Signed votes of one phase in one view, at most one per sender."""

    by_sender: dict[int, tuple[str, Envelope]] = field(default_factory=dict)
    by_digest: dict[str, dict[int, Envelope]] = field(default_factory=dict)

    def add(self, sender: int, digest: str, envelope: Envelope) -> Envelope | None:
        """Record a vote. Return the earlier conflicting vote if ``sender`` equivocated."""
        earlier = self.by_sender.get(sender)
        if earlier is not None:
            return earlier[1] if earlier[0] != digest else None
        self.by_sender[sender] = (digest, envelope)
        self.by_digest.setdefault(digest, {})[sender] = envelope
        return None

    def count(self, digest: str) -> int:
        return len(self.by_digest.get(digest, ()))

    def certificate(self, digest: str) -> tuple[Envelope, ...]:
        """The matching votes, ordered by sender so every replica builds the same proof."""
        votes = self.by_digest.get(digest, {})
        return tuple(votes[sender] for sender in sorted(votes))


@dataclass(slots=True)
class Slot:
    """Everything a replica knows about one sequence number."""

    seq: int
    view: int = -1
    pre_prepare: Envelope | None = None
    digest: str | None = None
    requests: tuple[Envelope, ...] = ()
    prepares: Votes = field(default_factory=Votes)
    commits: Votes = field(default_factory=Votes)
    prepared: bool = False
    committed: bool = False
    # Kept across views: the highest-view prepared certificate, for VIEW-CHANGE's P set.
    prepared_proof: PreparedProof | None = None
    prepared_pre_prepare: Envelope | None = None  # with its batch attached
    prepared_view: int = -1

    def reset_for_view(self, view: int) -> None:
        """Forget current-view votes when the replica moves to ``view``."""
        self.view = view
        self.pre_prepare = None
        self.digest = None
        self.requests = ()
        self.prepares = Votes()
        self.commits = Votes()
        self.prepared = False
        self.committed = False
