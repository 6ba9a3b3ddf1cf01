"""A council directory as ``council init`` writes it, and what one seat may read from it.

::

    council.yaml        seats, categories, voting rules (public)
    roster.json         every member's public key (public)
    keys/<principal>.key  one private key per seat and for the secretariat (0600)
    agents/seat-NN/     each agent's durable log (written by the agent)

An agent process loads the council file, the roster and its *own* key only.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import crypto
from consensus import QuorumMath, ReplicaConfig, replica_principal
from council.council_file import CouncilFile, load_council


class CouncilDirError(Exception):
    """The council directory lacks a file, or a file does not match the others."""


@dataclass(frozen=True)
class CouncilDir:
    path: Path
    council: CouncilFile
    roster: crypto.Roster

    @classmethod
    def load(cls, path: Path) -> CouncilDir:
        council_path, roster_path = path / "council.yaml", path / "roster.json"
        for needed in (council_path, roster_path):
            if not needed.is_file():
                raise CouncilDirError(
                    f"{needed} is missing; create a council with `council init --out {path}`"
                )
        council = load_council(council_path)
        roster = crypto.Roster.load(roster_path)
        if roster.council_id != council.council_id:
            raise CouncilDirError(
                f"{roster_path} is for council {roster.council_id!r}, "
                f"{council_path} for {council.council_id!r}"
            )
        missing = [
            replica_principal(i) for i in range(council.n) if replica_principal(i) not in roster
        ]
        if missing:
            raise CouncilDirError(f"{roster_path} lacks seats {', '.join(missing[:5])}")
        return cls(path, council, roster)

    @property
    def council_id(self) -> str:
        return self.council.council_id

    @property
    def quorums(self) -> QuorumMath:
        return QuorumMath.for_council(self.council.n)

    def replica_config(self) -> ReplicaConfig:
        """Protocol settings of the live council. Timers suit processes that share cores: an
        agent may be descheduled for a second, which must not look like a silent primary, and
        under load reading every VIEW-CHANGE and the NEW-VIEW takes seconds, which must not
        look like a failed view change (at 4 s a saturated council cascaded through views).
        A dead primary is still noticed within the 5-s silence timeout."""
        return ReplicaConfig(
            n=self.council.n,
            heartbeat_interval_ms=1_000,
            primary_silence_timeout_ms=5_000,
            view_change_timeout_ms=8_000,
            status_interval_ms=1_000,
            # A VIEW-CHANGE proves every prepared slot since the last stable checkpoint, and
            # under load reading 32 of them is most of a failover: checkpoints every 8 batches
            # halve that. Measured: 5.5–7.7 s of silence after a kill against 9–14 s at 16, for
            # the same throughput within noise (docs/performance.md, *Failover under load*).
            checkpoint_interval=8,
            # Under load a NEW-VIEW is megabytes and an agent takes seconds to read one: a copy
            # already on its way gets that long before another follows.
            view_message_resend_ms=10_000,
            # Votes travel through the primary (ReplicaConfig.relay_votes): over a broker each
            # delivery wakes a process, and all-to-all votes cost 2n² of them per batch against
            # 4n relayed (docs/performance.md).
            relay_votes=True,
        )

    def key_path(self, principal: str) -> Path:
        return self.path / "keys" / f"{principal}.key"

    def signer(self, principal: str) -> crypto.Signer:
        """The signer of ``principal``, from its key file (refused if others can read it)."""
        path = self.key_path(principal)
        if not path.is_file():
            raise CouncilDirError(f"no key for {principal}: {path} is missing")
        key = crypto.load_private_key(path)
        backend = crypto.get_backend()
        if key.public_key(backend) != self.roster.public_key(principal):
            raise CouncilDirError(f"{path} does not match {principal}'s key in the roster")
        return crypto.Signer(self.council_id, principal, key, backend)

    def agent_dir(self, seat: int) -> Path:
        return self.path / "agents" / f"seat-{seat:02d}"
