"""``council scenario``: check scenario files (and, registered elsewhere, run them)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from council.scenario import LoadedScenario, load_scenario
from council.yamlfile import SpecError

scenario_app = typer.Typer(
    help="Scenario files: a council under test, faulty seats, motions and expectations.",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    """Add ``council scenario ...`` to ``app``."""
    app.add_typer(scenario_app, name="scenario")


@scenario_app.command()
def validate(
    files: Annotated[list[Path], typer.Argument(help="Scenario files to check.")],
) -> None:
    """Check scenario files and the council files they name; exit 1 if any is invalid."""
    invalid = 0
    for file in files:
        try:
            loaded = load_scenario(file)
        except SpecError as error:
            invalid += 1
            typer.echo(str(error), err=True)
            continue
        typer.echo(f"ok: {file} — {summary(loaded)}")
    if invalid:
        raise typer.Exit(1)


def summary(loaded: LoadedScenario) -> str:
    """`<name>: n seats, k faulty (behaviours...), m motions`."""
    kinds = dict.fromkeys(b.kind for bs in loaded.faulty_seats.values() for b in bs)
    faulty = f"{len(loaded.faulty_seats)} faulty"
    if kinds:
        faulty += f" ({', '.join(kinds)})"
    return (
        f"{loaded.scenario.name}: {loaded.council.n} seats, {faulty}, {len(loaded.motions)} motions"
    )
