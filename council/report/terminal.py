"""The run report and sweep curve as rich terminal output, verdicts first."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from council.report.fmt import duration, quantity, share, size
from council.report.model import RunReport, SweepCurve, percentile

OUTCOME_STYLES = {"adopted": "green", "rejected": "red", "lapsed": "yellow", "undecided": "dim"}


def print_report(report: RunReport, console: Console) -> None:
    """Header, verdicts, expectations, motions, traffic, evidence and the replay command."""
    scenario, council = report.scenario, report.council
    console.rule(f"[bold]{_plain(scenario.name)}[/] — seed {scenario.seed}")
    if scenario.description:
        console.print(scenario.description, style="dim", highlight=False, markup=False)
    console.print(
        f"council [bold]{_plain(council.name)}[/] ({_plain(council.id)}): "
        f"n={council.n} f={council.f} Q={council.quorum}, "
        f"{sum(s.faulty for s in council.seats)} faulty seats",
        highlight=False,
    )
    console.print(_verdicts(report))
    _print_expectations(report, console)
    if report.violation is not None:
        console.print(f"[bold red]safety violated at seq {report.violation.seq}[/]: ", end="")
        console.print(report.violation.detail, highlight=False, markup=False)
        for line in report.violation.trace:
            console.print(f"  {line}", highlight=False, markup=False)
    console.print(_motions(report))
    console.print(_messages(report))
    if report.evidence:
        console.print(_evidence(report))
    console.print(Text.assemble(("replay: ", "bold"), (scenario.replay, "cyan")))


def print_sweep(curve: SweepCurve, console: Console) -> None:
    """The capture-resistance curve as a table, rows beyond ``f`` marked."""
    council = "" if curve.n is None else f", n={curve.n} f={curve.f}"
    table = Table(
        title=f"capture resistance — {_plain(curve.scenario)} ({_plain(curve.attack)}), "
        f"{curve.seeds} seeds{council}"
    )
    for name in ("colluders", "runs", "safe", "live", "flipped"):
        table.add_column(name, justify="right")
    table.add_column("")
    for row in sorted(curve.rows, key=lambda r: r.colluders):
        note = ""
        if curve.f is not None:
            note = (
                "= f" if row.colluders == curve.f else "beyond f" if row.colluders > curve.f else ""
            )
        table.add_row(
            str(row.colluders),
            str(row.runs),
            Text(share(row.safe), style="green" if row.safe == 1 else "bold red"),
            Text(share(row.live), style="green" if row.live == 1 else "yellow"),
            Text(share(row.flipped), style="bold" if row.flipped else ""),
            Text(note, style="red" if "beyond" in note else "dim"),
        )
    console.print(table)


def _plain(value: str) -> str:
    # Names come from user files: keep "[red]" in a council name from being read as markup.
    return value.replace("[", r"\[")


def _verdicts(report: RunReport) -> Table:
    verdicts = report.verdicts
    table = Table(title="verdicts", show_header=False)
    table.add_column("what")
    table.add_column("verdict")
    for name in ("agreement", "validity", "integrity", "liveness"):
        value = getattr(verdicts, name)
        table.add_row(name, Text(value, style="bold green" if value == "ok" else "bold red"))
    p50, p99 = percentile(report.latency_ms, 0.5), percentile(report.latency_ms, 0.99)
    table.add_row("requests ordered", str(report.ordered))
    table.add_row("view changes", f"{report.view_changes} (highest view {report.highest_view})")
    table.add_row("decision latency p50 / p99", f"{duration(p50)} / {duration(p99)}")
    table.add_row(
        "virtual / wall time", f"{duration(report.timeline.end_ms)} / {report.wall_s:.2f} s"
    )
    if report.counterfactual is not None:
        flipped = ", ".join(report.counterfactual.flipped) or "none"
        bloc = ", ".join(str(seat) for seat in report.counterfactual.bloc)
        table.add_row("counterfactual bloc (seats)", Text(bloc))
        table.add_row("outcomes flipped by the bloc", Text(flipped, style="bold magenta"))
    result = "passed" if report.passed else "failed"
    table.add_row("scenario", Text(result, style="bold green" if report.passed else "bold red"))
    return table


def _print_expectations(report: RunReport, console: Console) -> None:
    for expectation in report.expectations:
        mark = (
            Text("✓ ", style="bold green") if expectation.passed else Text("✗ ", style="bold red")
        )
        console.print(
            Text.assemble(mark, (expectation.name, ""), (f" — {expectation.detail}", "dim"))
        )


def _motions(report: RunReport) -> Table:
    table = Table(title=f"motions ({len(report.motions)})")
    table.add_column("id", no_wrap=True)
    table.add_column("title", max_width=36, no_wrap=True, overflow="ellipsis")
    for name in ("category", "rule", "outcome"):
        table.add_column(name)
    for name in ("yes", "no", "abstain", "absent", "latency"):
        table.add_column(name, justify="right")
    counterfactual = report.counterfactual is not None
    if counterfactual:
        table.add_column("honest bloc")
        table.add_column("")
    for motion in report.motions:
        # Text, not str: motion fields come from user files and must not be read as markup.
        cells: list[str | Text] = [
            Text(motion.id, style="bold"),
            Text(motion.title),
            Text(motion.category),
            Text(motion.rule),
            Text(motion.outcome, style=OUTCOME_STYLES.get(motion.outcome, "")),
            str(motion.yes),
            str(motion.no),
            str(motion.abstain),
            str(motion.absent),
            duration(motion.latency_ms),
        ]
        if counterfactual:
            other = motion.counterfactual_outcome or "—"
            cells.append(Text(other, style=OUTCOME_STYLES.get(other, "")))
            cells.append(Text("⚑ flipped", style="bold magenta") if motion.flipped else "")
        table.add_row(*cells, style="on grey15" if motion.flipped else None)
    return table


def _messages(report: RunReport) -> Table:
    counts, sizes = report.messages.count_by_kind, report.messages.bytes_by_kind
    table = Table(title="messages by kind")
    table.add_column("kind")
    table.add_column("messages", justify="right")
    table.add_column("bytes", justify="right")
    for kind in sorted(counts, key=lambda k: (-counts[k], k)):
        table.add_row(Text(kind), quantity(counts[kind]), size(sizes.get(kind, 0)))
    return table


def _evidence(report: RunReport) -> Table:
    table = Table(title="evidence of misbehaviour")
    table.add_column("seat", justify="right")
    table.add_column("constituency")
    table.add_column("kind")
    table.add_column("count", justify="right")
    table.add_column("configured behaviours")
    for row in sorted(report.evidence, key=lambda r: (r.seat, r.kind)):
        seat = report.seat(row.seat)
        behaviours = ", ".join(seat.behaviours) if seat else ""
        constituency = seat.constituency if seat else ""
        table.add_row(
            str(row.seat),
            Text(constituency),
            Text(row.kind),
            str(row.count),
            Text(behaviours or "—"),
        )
    return table
