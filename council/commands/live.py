"""The live council: ``council agent``, ``council up`` and ``council motion submit|show``."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Annotated, Any

import typer

from consensus import replica_principal
from council.commands.live_demo import DEMO_MOTIONS, format_decision
from council.council_file import default_council
from council.live.connection import BrokerUrl, BrokerUrlError
from council.live.council_dir import CouncilDir, CouncilDirError
from council.live.credentials import GATEWAY, Credentials, CredentialsError
from council.live.supervisor import (
    Supervisor,
    credentials_path,
    load_broker_address,
    local_broker,
)

#: Services ``council up --serve`` runs beside the council, registered by the layers above it
#: (the HTTP API registers "api" in api/cli.py), so that imports still point one way.
Companion = Callable[[CouncilDir, BrokerUrl, str, int], Coroutine[Any, Any, None]]
COMPANIONS: dict[str, Companion] = {}

motion_app = typer.Typer(help="Submit motions to a running council and look them up.")

CouncilOption = Annotated[
    Path,
    typer.Option(
        "--council",
        envvar="COUNCIL_DIR",
        help="The council directory (council.yaml, roster.json, keys/).",
    ),
]
#: Where ``council up --init`` creates a council when none is named: hidden, beside the user.
DEFAULT_COUNCIL_DIR = Path(".council")
BrokerOption = Annotated[
    str | None,
    typer.Option(help="mqtt://host:port of the broker (default: the one `council up` started)."),
]
CredentialsOption = Annotated[
    Path | None,
    typer.Option(help="Broker credentials file (default: <council>/run/credentials.json)."),
]
MemberBallotsOption = Annotated[
    bool,
    typer.Option(
        help="Seats vote as their members instruct through the gateway, not by the council"
        " file's voting policy."
    ),
]


def listen_problem(host: str, port: int) -> str | None:
    """Why the API could not listen on ``host:port`` (checked before anything starts)."""
    if port == 0:
        return None
    with socket.socket() as probe:
        try:
            probe.bind((host, port))
        except OSError as error:
            return (
                f"cannot listen on {host}:{port} ({error.strerror}); choose --port (0: a free one)"
            )
    return None


def register(app: typer.Typer) -> None:
    app.command()(agent)
    app.command()(up)
    app.add_typer(motion_app, name="motion")


def _fail(message: str, code: int = 2) -> typer.Exit:
    typer.echo(message, err=True)
    return typer.Exit(code)


def _directory(path: Path) -> CouncilDir:
    try:
        return CouncilDir.load(path)
    except (CouncilDirError, ValueError) as error:
        raise _fail(str(error)) from error


def _broker_for(
    directory: CouncilDir, broker: str | None, credentials: Path | None, principal: str
) -> BrokerUrl:
    """The broker URL with ``principal``'s password (from the URL or the credentials file)."""
    try:
        url = BrokerUrl.parse(broker) if broker else load_broker_address(directory)
    except BrokerUrlError as error:
        raise _fail(str(error)) from error
    if url is None:
        raise _fail(f"no broker given and no running council found in {directory.path}/run")
    if url.password is not None:
        return url
    path = credentials or credentials_path(directory)
    try:
        password = Credentials.load(path).password(principal)
    except CredentialsError as error:
        raise _fail(str(error)) from error
    return url.with_credentials(principal, password)


def agent(
    seat: Annotated[int, typer.Option(min=1, help="The seat this process holds (1..n).")],
    council: CouncilOption = DEFAULT_COUNCIL_DIR,
    broker: BrokerOption = None,
    credentials: CredentialsOption = None,
    behaviour: Annotated[
        list[str] | None,
        typer.Option(help="Make the agent faulty (repeatable): KIND[:NAME=VALUE,...]."),
    ] = None,
    fault_plan: Annotated[
        Path | None, typer.Option(help="A scenario's faults for this seat (scenario run --live).")
    ] = None,
    member_ballots: MemberBallotsOption = False,
) -> None:
    """Run one agent: the seat's replica over MQTT, with its own key and durable log."""
    from council.live.agent import AgentSettings, BehaviourSpec, run_agent

    directory = _directory(council)
    if seat > directory.council.n:
        raise _fail(f"seat {seat} does not exist: the council has {directory.council.n} seats")
    try:
        behaviours = tuple(BehaviourSpec.parse(text) for text in behaviour or ())
    except ValueError as error:
        raise _fail(str(error)) from error
    url = _broker_for(directory, broker, credentials, replica_principal(seat - 1))
    settings = AgentSettings(
        seat,
        council,
        url,
        behaviours=behaviours,
        seed=seat,
        fault_plan=fault_plan,
        member_ballots=member_ballots,
    )
    raise typer.Exit(run_agent(settings))


def _parse_faulty(entries: list[str]) -> dict[int, tuple[str, ...]]:
    faulty: dict[int, tuple[str, ...]] = {}
    for entry in entries:
        seat, _, kinds = entry.partition("=")
        if not seat.isdigit() or not kinds:
            raise typer.BadParameter(f"expected SEAT=KIND[;KIND], got {entry!r}")
        faulty[int(seat)] = tuple(kinds.split(";"))
    return faulty


def up(
    council: CouncilOption = DEFAULT_COUNCIL_DIR,
    broker: BrokerOption = None,
    credentials: CredentialsOption = None,
    init: Annotated[bool, typer.Option(help="Create a default council if none exists.")] = False,
    restart: Annotated[bool, typer.Option(help="Restart agents that die.")] = True,
    faulty: Annotated[
        list[str] | None,
        typer.Option(help="SEAT=KIND[:NAME=VALUE][;KIND...]: make a seat faulty (repeatable)."),
    ] = None,
    demo: Annotated[int, typer.Option(min=0, help="Submit this many demo motions.")] = 0,
    exit_after_demo: Annotated[bool, typer.Option(help="Stop once the demo is decided.")] = False,
    prefer: Annotated[str, typer.Option(help="auto, mosquitto or amqtt.")] = "auto",
    member_ballots: MemberBallotsOption = False,
    serve: Annotated[
        bool, typer.Option(help="Serve the HTTP API and dashboard beside the council.")
    ] = False,
    host: Annotated[str, typer.Option(help="Where the API listens (with --serve).")] = "127.0.0.1",
    port: Annotated[
        int, typer.Option(min=0, max=65535, help="The API's port (with --serve; 0: a free one).")
    ] = 8000,
) -> None:
    """Start a broker (unless --broker is given) and every agent; Ctrl-C stops them all."""
    if serve and "api" not in COMPANIONS:
        raise _fail("--serve needs the HTTP layer: run the installed `council` command")
    if serve and (problem := listen_problem(host, port)) is not None:
        raise _fail(problem)
    if init and not (council / "council.yaml").exists():
        _init_council(council)
    directory = _directory(council)
    behaviours = _parse_faulty(faulty or [])
    code = asyncio.run(
        _up(
            directory,
            broker,
            credentials,
            restart,
            behaviours,
            demo,
            exit_after_demo,
            prefer,
            member_ballots,
            (host, port) if serve else None,
        )
    )
    raise typer.Exit(code)


def _init_council(path: Path) -> None:
    from council.commands.init import write_council

    write_council(default_council("Demo Council"), path)
    typer.echo(f"created a 33-seat council in {path}: council.yaml, roster.json, keys/")


async def _up(
    directory: CouncilDir,
    broker: str | None,
    credentials: Path | None,
    restart: bool,
    behaviours: dict[int, tuple[str, ...]],
    demo: int,
    exit_after_demo: bool,
    prefer: str,
    member_ballots: bool,
    serve_at: tuple[str, int] | None = None,
) -> int:
    local = None
    if broker is None:
        local, credentials_file = await local_broker(directory, prefer)
        url = local.url()
        typer.echo(f"{local.kind} broker on {url} (credentials: {credentials_file})")
    else:
        url = BrokerUrl.parse(broker)
        credentials_file = credentials or credentials_path(directory)
    supervisor = Supervisor(
        directory,
        url,
        credentials_file,
        restart=restart,
        behaviours=behaviours,
        member_ballots=member_ballots,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    supervisor.start_all()
    typer.echo(
        f"started {len(supervisor.agents)} agents of {directory.council.name}; "
        f"logs in {directory.path}/agents/seat-NN/agent.log; Ctrl-C stops the council"
    )
    companion = None
    if serve_at is not None:
        gateway_url = url.with_credentials(
            GATEWAY, Credentials.load(credentials_file).password(GATEWAY)
        )
        companion = asyncio.create_task(COMPANIONS["api"](directory, gateway_url, *serve_at))
    demo_task = None
    if demo:
        demo_task = asyncio.create_task(_demo(directory, url, credentials_file, demo))
    try:
        while not stop.is_set():
            for line in supervisor.check():
                typer.echo(line)
            if local is not None and restart and not local.running:
                # The agents keep running and reconnect once the broker is back on its port.
                typer.echo(f"the {local.kind} broker exited; restarting it on port {local.port}")
                await local.restart()
                typer.echo(f"the {local.kind} broker is back on port {local.port}")
            if demo_task is not None and demo_task.done() and exit_after_demo:
                break
            if companion is not None and companion.done():
                # The council goes on without its API; say why the API is gone.
                failure = companion.exception()
                typer.echo(f"the API stopped: {failure or 'it exited'}", err=True)
                companion = None
            await asyncio.sleep(0.25)
    finally:
        if companion is not None:
            companion.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await companion
        await supervisor.stop()
        if local is not None:
            await local.stop()
        typer.echo("council stopped")
    if demo_task is not None and demo_task.done() and demo_task.exception() is not None:
        typer.echo(f"demo failed: {demo_task.exception()}", err=True)
        return 1
    return 0


async def _demo(directory: CouncilDir, url: BrokerUrl, credentials_file: Path, count: int) -> None:
    from council.live.secretariat import Secretariat

    password = Credentials.load(credentials_file).password("secretariat")
    async with Secretariat(directory, url.with_credentials("secretariat", password)) as clerk:
        clerk.on_decision = lambda record: typer.echo(format_decision(record))
        run = time.strftime("%Y%m%d-%H%M%S")
        pending = []
        for i in range(count):
            title, category = DEMO_MOTIONS[i % len(DEMO_MOTIONS)]
            motion_id = f"D{run}-{i + 1}"
            await clerk.submit_motion(motion_id, title, category, timeout_s=60)
            typer.echo(f"submitted {motion_id}: {title} ({category})")
            pending.append((motion_id, category))
        for motion_id, category in pending:
            window = directory.council.categories[category].window_ms
            await clerk.decision(motion_id, window, timeout_s=window / 1000 + 60)


@motion_app.command("submit")
def submit(
    title: Annotated[str, typer.Option(help="The motion's title.")],
    category: Annotated[str, typer.Option(help="Its category (the council file's).")],
    text: Annotated[str, typer.Option(help="Its text.")] = "",
    motion_id: Annotated[str | None, typer.Option("--id", help="Default: M-<time>.")] = None,
    council: CouncilOption = DEFAULT_COUNCIL_DIR,
    broker: BrokerOption = None,
    credentials: CredentialsOption = None,
    wait: Annotated[bool, typer.Option(help="Wait for the decision.")] = True,
    record: Annotated[
        Path | None, typer.Option(help="Write the verified decision record here.")
    ] = None,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the council.")] = 120.0,
) -> None:
    """Submit a motion as the secretariat; report it decided on a verified decision record."""
    directory = _directory(council)
    if category not in directory.council.categories:
        known = ", ".join(directory.council.categories)
        raise _fail(f"unknown category {category!r}; the council has: {known}")
    url = _broker_for(directory, broker, credentials, "secretariat")
    motion_id = motion_id or f"M-{time.strftime('%Y%m%d-%H%M%S')}"
    window_ms = directory.council.categories[category].window_ms
    code = asyncio.run(
        _submit(directory, url, motion_id, title, category, text, wait, record, timeout, window_ms)
    )
    raise typer.Exit(code)


async def _submit(
    directory: CouncilDir,
    url: BrokerUrl,
    motion_id: str,
    title: str,
    category: str,
    text: str,
    wait: bool,
    record_path: Path | None,
    timeout_s: float,
    window_ms: int,
) -> int:
    from council.live.secretariat import MotionRefused, Secretariat

    async with Secretariat(directory, url) as clerk:
        try:
            await clerk.submit_motion(motion_id, title, category, text, timeout_s=timeout_s)
        except (MotionRefused, TimeoutError) as error:
            typer.echo(f"motion {motion_id} not opened: {error}", err=True)
            return 1
        typer.echo(f"opened {motion_id}: {clerk.session.quorums.weak} seats agree")
        if not wait:
            return 0
        try:
            decision = await clerk.decision(motion_id, window_ms, timeout_s=timeout_s)
        except TimeoutError as error:
            typer.echo(str(error), err=True)
            return 1
    typer.echo(format_decision(decision))
    if record_path is not None:
        record_path.write_text(decision.model_dump_json(indent=2) + "\n")
        typer.echo(f"decision record: {record_path}")
    return 0


@motion_app.command("show")
def show(
    motion_id: Annotated[str, typer.Argument(help="The motion's id.")],
    council: CouncilOption = DEFAULT_COUNCIL_DIR,
    broker: BrokerOption = None,
    credentials: CredentialsOption = None,
    record: Annotated[
        Path | None, typer.Option(help="Write the verified decision record here.")
    ] = None,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the council.")] = 30.0,
) -> None:
    """A motion's status and tally as f+1 seats agree, and its decision record once decided."""
    directory = _directory(council)
    url = _broker_for(directory, broker, credentials, "secretariat")
    raise typer.Exit(asyncio.run(_show(directory, url, motion_id, record, timeout)))


async def _show(
    directory: CouncilDir, url: BrokerUrl, motion_id: str, record_path: Path | None, timeout: float
) -> int:
    from council.governance.events import RejectedRequest, StatusReport, parse_event
    from council.governance.operations import query_operation
    from council.live.secretariat import Secretariat

    async with Secretariat(directory, url) as clerk:
        try:
            result = parse_event(await clerk.request(query_operation(motion_id), timeout))
        except TimeoutError as error:
            typer.echo(str(error), err=True)
            return 1
        if isinstance(result, RejectedRequest):
            typer.echo(result.reason, err=True)
            return 1
        assert isinstance(result, StatusReport)
        typer.echo(
            f"{result.motion}: {result.title} [{result.category}, {result.rule}] {result.status}"
            + (f", {result.outcome}" if result.outcome else "")
            + f" — yes {result.yes}, no {result.no}, abstain {result.abstain}, "
            f"absent {result.absent} (opened at seq {result.opened_seq}"
            + (f", closed at seq {result.closed_seq})" if result.closed_seq else ")")
        )
        if result.status != "closed":
            return 0
        deadline = time.monotonic() + 5
        while motion_id not in clerk.decisions and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
    decision = clerk.decisions.get(motion_id)
    if decision is None:
        typer.echo("no seat announced a verifiable decision record", err=True)
        return 1
    typer.echo(format_decision(decision))
    if record_path is not None:
        record_path.write_text(decision.model_dump_json(indent=2) + "\n")
        typer.echo(f"decision record: {record_path}")
    return 0
