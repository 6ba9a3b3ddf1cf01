"""``council scenario run`` and ``council sweep``: run scenario files in the simulator."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from council.commands.scenario import scenario_app
from council.report import print_report, print_sweep, render_html, render_sweep_html
from council.report.model import RunReport
from council.scenario import LoadedScenario, load_scenario
from council.yamlfile import SpecError

#: ``0..16`` (inclusive), ``5`` or ``0,5,10``.
_RANGE = re.compile(r"^(\d+)\.\.(\d+)$")


def _console() -> Console:
    """A console wide enough for the report's tables, even when piped to a file."""
    console = Console()
    return console if console.is_terminal else Console(width=140)


def _write(console: Console, what: str, path: Path | None, text: Callable[[], str]) -> None:
    """Write ``text()`` to ``path`` when one was asked for, and say where."""
    if path is not None:
        path.write_text(text())
        console.print(f"{what}: {path}")


def register(app: typer.Typer) -> None:
    """Add ``council sweep`` to ``app`` (``scenario run`` joins ``council scenario``)."""
    app.command(name="sweep")(sweep)


def _load(file: Path) -> LoadedScenario:
    try:
        return load_scenario(file)
    except SpecError as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(2) from error


@scenario_app.command()
def run(
    file: Annotated[Path, typer.Argument(help="The scenario file.")],
    seed: Annotated[int | None, typer.Option(help="Replace the file's seed.")] = None,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Write the JSON report to this file.")
    ] = None,
    html_out: Annotated[
        Path | None, typer.Option("--html", help="Write the HTML report to this file.")
    ] = None,
    counterfactual: Annotated[
        bool, typer.Option(help="Also run the bloc voting honestly and show what it changed.")
    ] = True,
    records: Annotated[
        Path | None,
        typer.Option(help="Write each decision record and the roster here (council verify)."),
    ] = None,
    live: Annotated[
        bool,
        typer.Option(help="Run on real agent processes over a real broker, in real time."),
    ] = False,
    work_dir: Annotated[
        Path | None,
        typer.Option(help="With --live: where the council, logs and databases go."),
    ] = None,
) -> None:
    """Run a scenario in the simulator, print its report, and exit 1 if an expectation fails."""
    from council.scenario.run import run_scenario

    loaded = _load(file)
    if live:
        report = _run_live(loaded, seed, work_dir)
    else:
        report = run_scenario(loaded, seed=seed, counterfactual=counterfactual, records_dir=records)
    console = _console()
    print_report(report, console)
    _write(console, "JSON report", json_out, lambda: report.model_dump_json(indent=2) + "\n")
    _write(console, "HTML report", html_out, lambda: render_html(report))
    if records is not None:
        console.print(f"decision records: {records}/<motion>.json, roster: {records}/roster.json")
    if not report.passed:
        failed = [e for e in report.expectations if not e.passed]
        for expectation in failed:
            typer.echo(f"expectation failed: {expectation.name}: {expectation.detail}", err=True)
        typer.echo(f"replay: {report.scenario.replay}", err=True)
        raise typer.Exit(1)


def _run_live(loaded: LoadedScenario, seed: int | None, work_dir: Path | None) -> RunReport:
    import asyncio
    import tempfile

    from council.live.scenario_run import LiveScenarioError, run_live

    directory = work_dir or Path(tempfile.mkdtemp(prefix="council-live-"))
    typer.echo(f"running live in {directory} (agent logs under council/agents/)")
    try:
        return asyncio.run(run_live(loaded, seed=seed, work_dir=directory))
    except LiveScenarioError as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(2) from error


def parse_colluders(text: str) -> range:
    """``0..16`` → 0 to 16 inclusive; ``7`` → just 7."""
    match = _RANGE.match(text.strip())
    if match:
        low, high = int(match[1]), int(match[2])
        if low > high:
            raise typer.BadParameter(f"empty range {text!r}: {low} > {high}")
        return range(low, high + 1)
    if text.strip().isdigit():
        value = int(text)
        return range(value, value + 1)
    raise typer.BadParameter(f"expected a bloc size like 11 or a range like 0..16, got {text!r}")


def sweep(
    file: Annotated[Path, typer.Argument(help="The scenario file whose capture to sweep.")],
    colluders: Annotated[str, typer.Option(help="Bloc sizes, e.g. 0..16 (inclusive).")] = "0..16",
    seeds: Annotated[int, typer.Option(min=1, help="Seeds per bloc size.")] = 50,
    attack: Annotated[
        str,
        typer.Option(
            help="split-brain: the bloc also splits the honest seats; "
            "scenario: only the scenario's capture behaviours."
        ),
    ] = "split-brain",
    jobs: Annotated[int | None, typer.Option(min=1, help="Processes (default: CPUs).")] = None,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Write the curve as JSON to this file.")
    ] = None,
    html_out: Annotated[
        Path | None, typer.Option("--html", help="Write the curve as an HTML page.")
    ] = None,
) -> None:
    """The capture-resistance curve: the scenario with growing colluding blocs, many seeds."""
    from council.scenario.capture import ATTACKS, sweep_capture

    sizes = parse_colluders(colluders)
    if attack not in ATTACKS:
        raise typer.BadParameter(f"expected one of {', '.join(ATTACKS)}", param_hint="--attack")
    loaded = _load(file)
    if sizes.stop - 1 > loaded.council.n:
        raise typer.BadParameter(
            f"the council has {loaded.council.n} seats", param_hint="--colluders"
        )
    curve = sweep_capture(file, sizes, seeds, attack=attack, jobs=jobs)
    console = _console()
    print_sweep(curve, console)
    _write(console, "JSON curve", json_out, lambda: curve.model_dump_json(indent=2) + "\n")
    _write(console, "HTML curve", html_out, lambda: render_sweep_html(curve))
