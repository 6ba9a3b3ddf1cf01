"""The ``council`` command line."""

from __future__ import annotations

import json
import time
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from council.sim import NetworkConditions, Simulation, SimulationSettings, summarize
from council.sim.cluster import ATTACKS

app = typer.Typer(
    help="Byzantine Council: a BFT council that orders and decides governance motions.",
    no_args_is_help=True,
    add_completion=False,
)


@app.callback()
def main() -> None:
    """Byzantine Council command line."""


@app.command()
def simulate(
    agents: Annotated[int, typer.Option(min=4, help="Council size n.")] = 33,
    byzantine: Annotated[
        int, typer.Option(min=0, help="Adversarial replicas, first primary included.")
    ] = 0,
    attack: Annotated[str, typer.Option(help=f"How they attack: {', '.join(ATTACKS)}.")] = "mixed",
    requests: Annotated[int, typer.Option(min=1, help="Client requests to order.")] = 500,
    clients: Annotated[
        int, typer.Option(min=1, help="Client sessions, one request outstanding each.")
    ] = 128,
    seed: Annotated[int, typer.Option(help="Seed of every random choice of the run.")] = 1,
    latency_ms: Annotated[float, typer.Option(min=0, help="Mean one-way latency.")] = 5.0,
    jitter_ms: Annotated[
        float, typer.Option(min=0, help="Mean extra latency (exponential).")
    ] = 3.0,
    loss: Annotated[
        float, typer.Option(min=0, max=0.99, help="Loss probability while faults last.")
    ] = 0.0,
    duplicate: Annotated[
        float, typer.Option(min=0, max=0.99, help="Duplication probability.")
    ] = 0.0,
    partition_every_ms: Annotated[
        int, typer.Option(min=0, help="Start a random partition this often.")
    ] = 0,
    partition_ms: Annotated[int, typer.Option(min=0, help="How long each partition lasts.")] = 0,
    faults_ms: Annotated[
        int, typer.Option(min=0, help="Length of the fault phase; the network heals after.")
    ] = 0,
    crashes: Annotated[
        int, typer.Option(min=0, help="Correct replicas that crash and restart.")
    ] = 0,
    time_limit_ms: Annotated[
        int, typer.Option(min=1, help="Virtual time by which every request must finish.")
    ] = 600_000,
    relay_votes: Annotated[
        bool,
        typer.Option(
            "--relay-votes", help="Backups vote to the primary, which relays each quorum."
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    trace_digest: Annotated[
        bool, typer.Option("--trace-digest", help="Print only the hash of the event trace.")
    ] = False,
) -> None:
    """Run a council in the deterministic simulator and check safety and liveness."""
    if attack not in ATTACKS:
        raise typer.BadParameter(f"expected one of {', '.join(ATTACKS)}", param_hint="--attack")
    if byzantine > agents:
        raise typer.BadParameter(f"cannot exceed --agents ({agents})", param_hint="--byzantine")
    settings = SimulationSettings(
        agents=agents,
        byzantine=byzantine,
        attack=attack,
        requests=requests,
        clients=clients,
        seed=seed,
        network=NetworkConditions(
            latency_ms=latency_ms,
            jitter_ms=jitter_ms,
            loss=loss,
            duplication=duplicate,
            partition_every_ms=partition_every_ms,
            partition_length_ms=partition_ms,
            faults_until_ms=faults_ms,
        ),
        crashes=crashes,
        relay_votes=relay_votes,
        time_limit_ms=time_limit_ms,
    )
    started = time.perf_counter()
    simulation = Simulation(settings)
    outcome = simulation.run()
    summary = summarize(outcome, time.perf_counter() - started)
    if trace_digest:
        typer.echo(summary["trace_digest"])
    elif as_json:
        typer.echo(json.dumps(summary, indent=2))
    else:
        _print_summary(summary)
    if not outcome.safe:
        console = Console(stderr=True)
        console.print(f"[bold red]safety violated[/] — replay with --seed {seed}")
        for line in outcome.trace_for_violation():
            console.print(f"  {line}", highlight=False)
        raise typer.Exit(1)
    if not outcome.live:
        Console(stderr=True).print(
            f"[bold yellow]liveness not reached[/] — replay with --seed {seed}"
        )
        raise typer.Exit(2)


def _print_summary(summary: dict[str, Any]) -> None:
    console = Console()
    verdicts = Table(title=f"council of {summary['agents']} — seed {summary['seed']}")
    verdicts.add_column("what")
    verdicts.add_column("value", justify="right")
    rows = [
        ("f / quorum", f"{summary['f']} / {summary['quorum']}"),
        ("byzantine", f"{summary['byzantine']} ({summary['attack']})"),
        ("requests ordered", f"{summary['ordered']} of {summary['requests']}"),
        ("view changes", str(summary["view_changes"])),
        (
            "latency p50 / p99 (virtual ms)",
            f"{summary['latency_ms']['p50']} / {summary['latency_ms']['p99']}",
        ),
        ("wall time (s)", str(summary["wall_seconds"])),
        ("ordered per wall second", str(summary["ordered_per_wall_second"])),
        *((f"invariant: {name}", verdict) for name, verdict in summary["invariants"].items()),
        ("liveness", summary["liveness"]),
        (
            "evidence",
            ", ".join(f"{k}: {v}" for k, v in summary["evidence_by_kind"].items()) or "none",
        ),
        ("trace digest", summary["trace_digest"][:16]),
    ]
    for what, value in rows:
        verdicts.add_row(what, value)
    console.print(verdicts)
    traffic = Table(title="messages by kind")
    traffic.add_column("kind")
    traffic.add_column("messages", justify="right")
    traffic.add_column("bytes", justify="right")
    for kind, count in summary["messages_by_kind"].items():
        traffic.add_row(kind, str(count), str(summary["bytes_by_kind"][kind]))
    console.print(traffic)


def _register_commands() -> None:
    from council.commands import init, live, runs, scenario, verify

    for module in (init, verify, scenario, runs, live):
        module.register(app)


_register_commands()
