"""``council agent`` with every batch REPLY sent to each of its clients on the client's own topic,
as the runtime did before replies that answer several clients went out once on ``results/``.

Only for ``python -m bench.live --compare-replies``, which measures both in one run.
"""

from __future__ import annotations

from collections.abc import Sequence

from council.cli import app
from council.live.topics import CouncilTopics


def per_client_reply_topics(self: CouncilTopics, replica: str, clients: Sequence[str]) -> list[str]:
    return [self.reply(client, replica) for client in clients]


if __name__ == "__main__":
    CouncilTopics.reply_topics = per_client_reply_topics  # type: ignore[method-assign]
    app()
