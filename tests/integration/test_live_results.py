"""A batch reply that answers several clients travels once, on the replica's results topic.

Two secretariat principals of a four-seat council ask at the same moment, so the primary
orders both requests in one batch; each seat then publishes its one signed REPLY (both
results) once on ``results/<replica>``, and both clients accept the answer from there.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from council.commands.init import write_council
from council.council_file import CouncilFile
from council.governance.operations import query_operation
from council.live.council_dir import CouncilDir
from council.live.credentials import Credentials
from council.live.secretariat import Secretariat
from council.live.supervisor import Supervisor, local_broker
from council.live.topics import CouncilTopics
from council.live.wire import decode_bundle
from tests.integration.live_support import council_file, run

CLERKS = ("secretariat", "clerk-2")


def two_clerk_council(seats: int) -> CouncilFile:
    document = council_file(seats, window_ms=3_000).model_dump(by_alias=True)
    return CouncilFile.model_validate({**document, "secretariat": list(CLERKS)})


def test_a_reply_to_two_clients_is_published_once_on_the_results_topic(tmp_path: Path) -> None:
    async def scenario() -> set[int]:
        write_council(two_clerk_council(4), tmp_path / "council")
        directory = CouncilDir.load(tmp_path / "council")
        broker, credentials_file = await local_broker(directory, "mosquitto")
        supervisor = Supervisor(directory, broker.url(), credentials_file, restart=False)
        credentials = Credentials.load(credentials_file)
        topics = CouncilTopics(directory.council_id)
        shared_replies: set[int] = set()  # entries per REPLY seen on results/
        try:
            supervisor.start_all()
            watcher_url = broker.url().with_credentials("gateway", credentials.password("gateway"))
            async with watcher_url.client() as watcher:
                await watcher.subscribe(topics.results(), qos=0)

                async def watch() -> None:
                    async for message in watcher.messages:
                        assert isinstance(message.payload, bytes)
                        for envelope in decode_bundle(message.payload, directory.council_id):
                            shared_replies.add(envelope.body.count('"unknown motion'))

                watching = asyncio.create_task(watch())
                clerks = [
                    Secretariat(
                        directory,
                        broker.url().with_credentials(name, credentials.password(name)),
                        principal=name,
                    )
                    for name in CLERKS
                ]
                async with clerks[0], clerks[1]:
                    for _ in range(5):  # until both requests share a batch
                        answers = await asyncio.gather(
                            *(clerk.request(query_operation("M-9"), 60) for clerk in clerks)
                        )
                        assert all("unknown motion M-9" in answer for answer in answers)
                        await asyncio.sleep(0.3)
                        if 2 in shared_replies:
                            break
                watching.cancel()
        finally:
            await supervisor.stop()
            await broker.stop()
        return shared_replies

    assert 2 in run(scenario(), timeout_s=180)
