"""A victim for the crash test: persists replica steps as fast as it can until it is killed.

``python -m tests.unit.live.crash_writer STORE`` persists, for seq = 1, 2, ..., one step of
a signed PREPARE and COMMIT and prints ``records SEQ`` once ``persist_many`` has returned;
every ``CHECKPOINT_EVERY`` steps it stores a checkpoint ``CHECKPOINT_LAG`` seqs back and
prints ``checkpoint SEQ``. A line printed is a promise the store must keep after a SIGKILL.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Final

import crypto
from consensus import Envelope, PersistCheckpoint, seal
from consensus.messages import Checkpoint, Commit, Prepare
from council.live.storage import AgentStore

COUNCIL_ID: Final = "crash-council"
REPLICA: Final = 1
STEPS_MAX: Final = 100_000
CHECKPOINT_EVERY: Final = 10
CHECKPOINT_LAG: Final = 4


def digest_of(seq: int) -> str:
    return f"{seq:064x}"


def writer_signer() -> crypto.Signer:
    return crypto.Signer(COUNCIL_ID, "r1", crypto.PrivateKey.derive(7, "r1"))


def step_records(signer: crypto.Signer, seq: int) -> list[Envelope]:
    """The votes this replica signs for ``seq``, as one step persists them."""
    digest = digest_of(seq)
    return [
        seal(signer, Prepare(view=0, seq=seq, digest=digest, replica=REPLICA)),
        seal(signer, Commit(view=0, seq=seq, digest=digest, replica=REPLICA)),
    ]


def checkpoint_at(signer: crypto.Signer, seq: int) -> PersistCheckpoint:
    message = Checkpoint(replica=REPLICA, seq=seq, state_digest=digest_of(seq))
    return PersistCheckpoint(seq, (seal(signer, message),), snapshot=f"state at {seq}")


def main(store_path: Path) -> None:
    signer = writer_signer()
    with AgentStore.open(store_path) as store:
        for seq in range(1, STEPS_MAX + 1):
            store.persist_many(step_records(signer, seq))
            print(f"records {seq}", flush=True)
            if seq % CHECKPOINT_EVERY == 0:
                store.persist_checkpoint(checkpoint_at(signer, seq - CHECKPOINT_LAG))
                print(f"checkpoint {seq - CHECKPOINT_LAG}", flush=True)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
