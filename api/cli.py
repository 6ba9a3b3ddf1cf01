"""The ``council`` command line with the front door: ``council serve`` and ``council token``.

The commands of :mod:`council.cli` plus the two that need the HTTP layer, composed here so
imports still point one way (``api → council``).
"""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path
from typing import Annotated

import typer

from api.server import bootstrap_tokens, free_port, serve
from council.cli import app
from council.commands.live import COMPANIONS, listen_problem
from council.gateway import CouncilLink, Gateway, GatewayStore, SimulatedLink
from council.gateway.tokens import Role, TokenStore
from council.live.connection import BrokerUrl
from council.live.council_dir import CouncilDir

__all__ = ["app"]

token_app = typer.Typer(help="Bearer tokens of the HTTP API (stored hashed).")
app.add_typer(token_app, name="token")

StateOption = Annotated[
    Path | None,
    typer.Option(
        "--state",
        help="The gateway's SQLite file (default: <council>/gateway.sqlite, or"
        " <council>/gateway-simulated.sqlite with --simulate).",
    ),
]
CouncilDirOption = Annotated[
    Path, typer.Option("--council", envvar="COUNCIL_DIR", help="The council directory.")
]
DEFAULT_COUNCIL_DIR = Path(".council")


def state_path(council: Path, state: Path | None, simulated: bool) -> Path:
    if state is not None:
        return state
    return council / ("gateway-simulated.sqlite" if simulated else "gateway.sqlite")


@app.command("serve")
def serve_command(
    council: CouncilDirOption = DEFAULT_COUNCIL_DIR,
    simulate: Annotated[
        Path | None,
        typer.Option(help="Serve a simulated council: this scenario's seats, faults, network."),
    ] = None,
    speed: Annotated[
        float, typer.Option(min=0.01, help="Simulated seconds per wall second.")
    ] = 1.0,
    seed: Annotated[int | None, typer.Option(help="Seed of the simulated council.")] = None,
    broker: Annotated[str | None, typer.Option(help="mqtt://host:port of a live council.")] = None,
    credentials: Annotated[Path | None, typer.Option(help="Broker credentials file.")] = None,
    member_ballots: Annotated[
        bool, typer.Option(help="Simulated seats wait for their members' ballots.")
    ] = False,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port (0: a free one).")] = 8000,
    state: StateOption = None,
) -> None:
    """Serve the HTTP API and dashboard for a live council (default) or a simulated one."""
    if (problem := listen_problem(host, port)) is not None:
        typer.echo(problem, err=True)
        raise typer.Exit(2)
    # The link first: a council that cannot be reached leaves no state file behind.
    if simulate is not None:
        link = _simulated_link(simulate, seed, speed, member_ballots)
    else:
        link = _live_link(council, broker, credentials)
    path = state_path(council, state, simulate is not None)
    path.parent.mkdir(parents=True, exist_ok=True)
    gateway = Gateway(link, GatewayStore(path))
    port = port or free_port(host)
    asyncio.run(_serve_until_stopped(gateway, host, port, path.with_suffix(".tokens")))


def _simulated_link(
    scenario: Path, seed: int | None, speed: float, member_ballots: bool
) -> CouncilLink:
    from council.scenario.loader import load_scenario
    from council.yamlfile import SpecError

    try:
        loaded = load_scenario(scenario)
    except SpecError as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(1) from None
    return SimulatedLink(loaded, seed=seed, speed=speed, member_ballots=member_ballots)


def _live_link(council: Path, broker: str | None, credentials: Path | None) -> CouncilLink:
    from council.commands.live import _broker_for, _directory
    from council.gateway import LinkError
    from council.gateway.live import LiveLink

    directory = _directory(council)
    try:
        return LiveLink(directory, _broker_for(directory, broker, credentials, "gateway"))
    except LinkError as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(2) from None


def announce(
    gateway: Gateway, host: str, port: int, issued: dict[str, str], tokens_file: Path
) -> None:
    """Say where the dashboard is, and the first tokens when they were just made."""
    base = f"http://{host}:{port}"
    observer = issued.get("observer")
    typer.echo(f"{gateway.council.name}: API on {base}/docs")
    typer.echo(f"dashboard: {base}/" + (f"#token={observer}" if observer else ""))
    if issued:
        typer.echo(f"first tokens (also in {tokens_file}, mode 0600):")
        for role, token in issued.items():
            typer.echo(f"  {role:<12} {token}")
    else:
        typer.echo(f"tokens: the first ones are in {tokens_file}; more with `council token create`")


async def serve_announced(gateway: Gateway, host: str, port: int, tokens_file: Path) -> None:
    """Serve the API and, once it listens, say where (with first tokens if just made)."""
    issued = bootstrap_tokens(gateway.store, tokens_file)
    started = asyncio.Event()
    server = asyncio.create_task(serve(gateway, host, port, started=started))
    waiting = asyncio.create_task(started.wait())
    await asyncio.wait({server, waiting}, return_when=asyncio.FIRST_COMPLETED)
    waiting.cancel()
    if started.is_set():
        announce(gateway, host, port, issued, tokens_file)
    await server


async def _serve_until_stopped(gateway: Gateway, host: str, port: int, tokens_file: Path) -> None:
    task = asyncio.create_task(serve_announced(gateway, host, port, tokens_file))
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, task.cancel)
    try:
        await task
    except asyncio.CancelledError:
        typer.echo("API stopped")


async def serve_beside_council(directory: CouncilDir, url: BrokerUrl, host: str, port: int) -> None:
    """``council up --serve``: the API over the council ``council up`` just started."""
    from council.gateway.live import LiveLink

    path = directory.path / "gateway.sqlite"
    gateway = Gateway(LiveLink(directory, url), GatewayStore(path))
    await serve_announced(gateway, host, port or free_port(host), path.with_suffix(".tokens"))


COMPANIONS["api"] = serve_beside_council


@token_app.command("create")
def token_create(
    role: Annotated[Role, typer.Option(help="secretariat, member, designer or observer.")],
    name: Annotated[str, typer.Option(help="Whose token it is (shown in logs and motions).")],
    seat: Annotated[int | None, typer.Option(min=1, help="A member's seat.")] = None,
    council: CouncilDirOption = DEFAULT_COUNCIL_DIR,
    state: StateOption = None,
    simulated: Annotated[bool, typer.Option(help="For the simulated gateway's state.")] = False,
) -> None:
    """Create a token and print it (it is stored hashed and cannot be shown again)."""
    path = state_path(council, state, simulated)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        holder, token = TokenStore(GatewayStore(path)).create(role, name, seat)
    except ValueError as error:
        raise typer.BadParameter(str(error)) from None
    typer.echo(token)
    typer.echo(f"token {holder.id}: {holder.role.value} {holder.name!r}", err=True)


@token_app.command("list")
def token_list(
    council: CouncilDirOption = DEFAULT_COUNCIL_DIR,
    state: StateOption = None,
    simulated: Annotated[bool, typer.Option(help="For the simulated gateway's state.")] = False,
) -> None:
    """Tokens in use: id, role, seat, name (never the token)."""
    for holder in TokenStore(GatewayStore(state_path(council, state, simulated))).holders():
        seat = f" seat {holder.seat}" if holder.seat is not None else ""
        typer.echo(f"{holder.id}  {holder.role.value}{seat}  {holder.name}")


@token_app.command("revoke")
def token_revoke(
    token_id: Annotated[str, typer.Argument(help="The id `council token list` shows.")],
    council: CouncilDirOption = DEFAULT_COUNCIL_DIR,
    state: StateOption = None,
    simulated: Annotated[bool, typer.Option(help="For the simulated gateway's state.")] = False,
) -> None:
    """Revoke a token: it is refused from the next request on."""
    if not TokenStore(GatewayStore(state_path(council, state, simulated))).revoke(token_id):
        typer.echo(f"no token {token_id}", err=True)
        raise typer.Exit(1)
    typer.echo(f"revoked {token_id}")
