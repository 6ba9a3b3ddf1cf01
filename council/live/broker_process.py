"""A local MQTT broker run as a child process: private config, free port, ready check, clean stop.

:class:`BrokerProcess` is what :class:`~council.live.broker_mosquitto.MosquittoBroker` and
:class:`~council.live.broker_amqtt.AmqttBroker` share. A subclass writes its configuration into
a private (0700) directory and names the command to run; this class picks the port, starts the
command with its output going to ``broker.log`` in that directory, waits until the broker
accepts an authenticated MQTT connection, and stops it with SIGTERM, then SIGKILL.

The child runs in its own session, so a Ctrl-C at the terminal reaches the supervisor, which
stops its agents before the broker (their last wills then mean a real crash, not a shutdown).
So that a supervisor killed outright leaves no broker behind, Linux sends the child SIGTERM
when the thread that started it ends (``PR_SET_PDEATHSIG``): start brokers from the thread
that runs the event loop, not from a short-lived worker thread. Elsewhere only the amqtt
child notices that its parent is gone.
"""

from __future__ import annotations

import abc
import asyncio
import ctypes
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import IO, ClassVar, Final, Self

import aiomqtt

from council.live.connection import BrokerUrl
from council.live.credentials import GATEWAY, Credentials
from council.live.topics import CouncilTopics

LOOPBACK_HOST: Final = "127.0.0.1"
READY_TIMEOUT_S_DEFAULT: Final = 15.0
STOP_TIMEOUT_S: Final = 5.0
# Another process may take the free port between our probe and the broker's bind; retry then.
START_ATTEMPTS_MAX: Final = 3
_PROBE_INTERVAL_S: Final = 0.05
_LOG_TAIL_BYTES: Final = 2000
_PORT_TAKEN_MARKERS: Final = ("Address already in use", "address already in use", "Errno 98")


_PR_SET_PDEATHSIG: Final = 1
_LIBC: Final = ctypes.CDLL(None, use_errno=True) if sys.platform == "linux" else None


class BrokerError(Exception):
    """A local broker could not be found, configured, started or stopped."""


def free_port(host: str = LOOPBACK_HOST) -> int:
    """A TCP port that nothing listens on at ``host`` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
        return port


class BrokerProcess(abc.ABC):
    """One local broker for council ``council_id``, admitting exactly ``credentials``."""

    #: Short name used in logs and errors ("mosquitto", "amqtt").
    kind: ClassVar[str]

    def __init__(
        self,
        council_id: str,
        credentials: Credentials,
        *,
        host: str = LOOPBACK_HOST,
        work_dir: Path | None = None,
        ready_timeout_s: float = READY_TIMEOUT_S_DEFAULT,
    ) -> None:
        self.topics = CouncilTopics(council_id)
        self.credentials = credentials
        self.host = host
        self.ready_timeout_s = ready_timeout_s
        self._work_dir = work_dir
        self._directory: Path | None = None
        self._owns_directory = False
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self._port: int | None = None

    # -- what a running broker offers -------------------------------------------------------

    @property
    def port(self) -> int:
        if self._port is None:
            raise BrokerError(f"the {self.kind} broker has not been started")
        return self._port

    @property
    def directory(self) -> Path:
        """The private directory holding the generated config, password file and log."""
        if self._directory is None:
            raise BrokerError(f"the {self.kind} broker has not been started")
        return self._directory

    @property
    def log_path(self) -> Path:
        return self.directory / "broker.log"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def url(self) -> BrokerUrl:
        """The broker's address, without credentials."""
        return BrokerUrl(self.host, self.port)

    def url_for(self, principal: str) -> BrokerUrl:
        """The broker's address with ``principal``'s username and password."""
        return self.url().with_credentials(principal, self.credentials.password(principal))

    # -- lifecycle --------------------------------------------------------------------------

    async def start(self) -> None:
        """Start the broker and return once it accepts an authenticated connection."""
        if self.running:
            return
        self._directory = self._make_directory()
        try:
            await self._start_in(self._directory)
        except BaseException:
            # Failed, cancelled or interrupted while starting: leave no broker behind.
            self._kill_now()
            self._remove_directory()
            raise

    async def stop(self) -> None:
        """Stop the broker (SIGTERM, then SIGKILL after a grace period) and clean up."""
        await self._terminate()
        self._remove_directory()

    async def restart(self) -> None:
        """Stop the broker and start it again on the same port with the same users, as a
        service manager would after a crash; connected agents reconnect by themselves."""
        port = self.port
        await self._terminate()
        self._spawn(self._prepare(self.directory, port))
        await self._wait_until_ready()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    # -- what a subclass supplies -----------------------------------------------------------

    @abc.abstractmethod
    def _prepare(self, directory: Path, port: int) -> list[str]:
        """Write the broker's files into ``directory``; return the command that runs it."""

    # -- internals --------------------------------------------------------------------------

    async def _start_in(self, directory: Path) -> None:
        for attempt in range(1, START_ATTEMPTS_MAX + 1):
            self._port = free_port(self.host)
            self._spawn(self._prepare(directory, self._port))
            try:
                await self._wait_until_ready()
                return
            except BrokerError:
                port_taken = any(marker in self._log_tail() for marker in _PORT_TAKEN_MARKERS)
                if not port_taken or attempt == START_ATTEMPTS_MAX:
                    raise
                await self._terminate()

    def _make_directory(self) -> Path:
        if self._work_dir is None:
            self._owns_directory = True
            return Path(tempfile.mkdtemp(prefix=f"council-{self.kind}-"))
        directory = self._work_dir / f"broker-{self.kind}"
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        directory.chmod(0o700)
        return directory

    def _remove_directory(self) -> None:
        if self._owns_directory and self._directory is not None:
            shutil.rmtree(self._directory, ignore_errors=True)
            self._directory = None

    def _spawn(self, command: list[str]) -> None:
        # One log per attempt, so a failed attempt's lines are not read as this one's.
        descriptor = os.open(self.log_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        self._log = os.fdopen(descriptor, "wb")
        try:
            self._process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=self._log,
                stderr=subprocess.STDOUT,
                cwd=self.directory,
                start_new_session=True,
                preexec_fn=_die_with_parent if _LIBC is not None else None,
            )
        except OSError as error:
            self._log.close()
            raise BrokerError(f"cannot run the {self.kind} broker {command[0]}: {error}") from error

    async def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + self.ready_timeout_s
        probe_url = self.url_for(GATEWAY)
        while True:
            if not self.running:
                raise BrokerError(
                    f"the {self.kind} broker exited during start-up:\n{self._log_tail()}"
                )
            try:
                # A random client id, so the probe never takes over a real gateway session.
                identifier = f"{GATEWAY}-probe-{secrets.token_hex(4)}"
                async with probe_url.client(identifier=identifier, timeout=1.0):
                    return
            except aiomqtt.MqttError:
                pass
            if time.monotonic() > deadline:
                raise BrokerError(
                    f"the {self.kind} broker did not accept an authenticated connection on "
                    f"{self.host}:{self._port} within {self.ready_timeout_s} s:\n{self._log_tail()}"
                )
            await asyncio.sleep(_PROBE_INTERVAL_S)

    async def _terminate(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            if not await _exited_within(process, STOP_TIMEOUT_S):
                process.kill()
                await _exited_within(process, STOP_TIMEOUT_S)
        if self._log is not None:
            self._log.close()
            self._log = None

    def _kill_now(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.kill()
            process.wait()
        if self._log is not None:
            self._log.close()
            self._log = None

    def _log_tail(self) -> str:
        try:
            data = self.log_path.read_bytes()
        except OSError:
            return "(no broker log)"
        return data[-_LOG_TAIL_BYTES:].decode("utf-8", "replace")


def _die_with_parent() -> None:
    # Runs in the child between fork and exec: one libc call and nothing that could block.
    assert _LIBC is not None
    _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


async def _exited_within(process: subprocess.Popen[bytes], timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while process.poll() is None:
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.02)
    return True
