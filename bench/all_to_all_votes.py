"""``council agent`` with every PREPARE and COMMIT broadcast to all seats, as the runtime did
before votes were relayed by the primary (``ReplicaConfig.relay_votes``).

Only for ``python -m bench.live --compare-relay``, which measures both in one run.
"""

from __future__ import annotations

import dataclasses

from consensus import ReplicaConfig
from council.cli import app
from council.live.council_dir import CouncilDir

relayed_config = CouncilDir.replica_config


def all_to_all_config(self: CouncilDir) -> ReplicaConfig:
    return dataclasses.replace(relayed_config(self), relay_votes=False)


if __name__ == "__main__":
    CouncilDir.replica_config = all_to_all_config  # type: ignore[method-assign]
    app()
