"""The amqtt broker process: ``python -m council.live.broker_amqtt_server CONFIG.json``.

Runs the pure-Python amqtt broker with three plugins: amqtt's ``FileAuthPlugin`` (the Argon2
password file that :class:`~council.live.broker_amqtt.AmqttBroker` writes), and the two below,
which apply the ACL of :mod:`council.live.topics` — the same rules the Mosquitto broker gets:

- :class:`CouncilTopicAcl` checks every publish, subscribe and delivery against the rules.
  Unlike Mosquitto, which accepts a wider subscription and filters each delivery, it refuses a
  subscription whose filter is not inside a read rule (``council/<id>/#`` is refused outright).
- :class:`CouncilWillCheck` refuses a connection whose last will targets a topic the principal
  may not publish: amqtt publishes wills without consulting topic plugins, so this is the only
  place to stop a seat from announcing another seat's death.

The process exits on SIGTERM or SIGINT, and when its parent process goes away.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from amqtt.broker import Broker  # type: ignore[import-untyped]
from amqtt.contexts import Action  # type: ignore[import-untyped]
from amqtt.plugins.base import BaseAuthPlugin, BaseTopicPlugin  # type: ignore[import-untyped]

from council.live.topics import CouncilTopics

_PARENT_POLL_S: Final = 1.0
# Bounds what a flood of connections can make the broker hold; 33 seats need 36 slots.
MAX_CONNECTIONS: Final = 1024

log = logging.getLogger("council.live.amqtt")


class CouncilTopicAcl(BaseTopicPlugin):  # type: ignore[misc]
    """amqtt topic plugin: the council ACL of :mod:`council.live.topics`."""

    @dataclass
    class Config:
        council_id: str = ""

    def __init__(self, context: Any) -> None:
        super().__init__(context)
        self.topics = CouncilTopics(self.context.config.council_id)

    async def topic_filtering(
        self, *, session: Any = None, topic: str | None = None, action: Any = None
    ) -> bool:
        username = getattr(session, "username", None)
        if not username or not topic:
            return False
        if action == Action.PUBLISH:
            return self.topics.may_publish(username, topic)
        if action == Action.SUBSCRIBE:
            return self.topics.may_subscribe(username, topic)
        if action == Action.RECEIVE:
            return self.topics.may_read(username, topic)
        return False


class CouncilWillCheck(BaseAuthPlugin):  # type: ignore[misc]
    """amqtt auth plugin: refuses a last will on a topic the principal may not publish."""

    @dataclass
    class Config:
        council_id: str = ""

    def __init__(self, context: Any) -> None:
        super().__init__(context)
        self.topics = CouncilTopics(self.context.config.council_id)

    async def authenticate(self, *, session: Any) -> bool | None:
        # None means "no opinion": the password plugin alone decides who may connect.
        if not getattr(session, "will_flag", False):
            return None
        username = getattr(session, "username", None)
        will_topic = getattr(session, "will_topic", None)
        if username and will_topic and self.topics.may_publish(username, will_topic):
            return None
        log.warning("refused %r: last will on %r is not its own topic", username, will_topic)
        return False


def broker_config(settings: dict[str, Any]) -> dict[str, Any]:
    """The amqtt configuration for the settings file ``AmqttBroker`` writes."""
    council = {"council_id": settings["council_id"]}
    return {
        "listeners": {
            "default": {
                "type": "tcp",
                "bind": f"{settings['host']}:{settings['port']}",
                "max_connections": MAX_CONNECTIONS,
            }
        },
        "plugins": {
            "amqtt.plugins.authentication.FileAuthPlugin": {
                "password_file": settings["password_file"]
            },
            f"{__name__}.CouncilWillCheck": council,
            f"{__name__}.CouncilTopicAcl": council,
        },
    }


async def serve(settings: dict[str, Any]) -> None:
    """Run the broker until SIGTERM or SIGINT, or until the parent process is gone."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    broker = Broker(broker_config(settings))
    await broker.start()
    log.warning(
        "amqtt broker for council %s listening on %s:%s",
        settings["council_id"],
        settings["host"],
        settings["port"],
    )
    watcher = asyncio.create_task(_watch_parent(settings["parent_pid"], stop))
    try:
        await stop.wait()
    finally:
        watcher.cancel()
        await broker.shutdown()


async def _watch_parent(parent_pid: int, stop: asyncio.Event) -> None:
    # Once the parent dies we are re-parented, so getppid() changes: nobody will stop us.
    while os.getppid() == parent_pid:
        await asyncio.sleep(_PARENT_POLL_S)
    log.warning("parent process %d is gone; stopping", parent_pid)
    stop.set()


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m council.live.broker_amqtt_server SETTINGS.json", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    settings = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    asyncio.run(serve(settings))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
