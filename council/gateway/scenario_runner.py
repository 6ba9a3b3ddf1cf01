"""One scenario run, as a subprocess of the project's command line.

``python -m council scenario run FILE --json ... --html ... --seed S [--live]`` runs in a
temporary directory holding a copy of the scenario and of the council file it names, at the
same relative path, so the scenario loads exactly as it was checked. A separate process keeps a
CPU-heavy simulation off the API's event loop; its exit code says how the run went (0 passed,
1 an expectation failed, anything else an error).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import signal
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

from pydantic import ValidationError

from council.report.model import RunReport

RunMode = Literal["simulated", "live"]
#: How long a stopped run has to end after SIGINT (a live run stops its agents) before SIGKILL.
STOP_GRACE_S: Final = 15.0
#: How much of a failed run's standard error its error text keeps.
STDERR_TAIL_CHARS: Final = 4000


@dataclass(frozen=True, slots=True)
class RunRequest:
    """What to run: the scenario's YAML, the council file it names (relative to
    ``scenarios_dir``), the mode and the seed."""

    name: str
    yaml: str
    council_file: Path | None
    mode: RunMode
    seed: int


@dataclass(frozen=True, slots=True)
class RunOutcome:
    """How a run ended: ``passed`` and ``failed`` runs carry both reports, ``error`` ones why."""

    status: Literal["passed", "failed", "error"]
    exit_code: int | None
    summary: str | None = None
    error: str | None = None
    report_json: str | None = None
    report_html: str | None = None


async def run_in_subprocess(
    request: RunRequest, scenarios_dir: Path, *, timeout_s: float, python: str = sys.executable
) -> RunOutcome:
    """Run ``request`` to its end (or ``timeout_s``); cancelling it stops the process."""
    with tempfile.TemporaryDirectory(prefix="council-run-") as directory:
        work = Path(directory)
        scenario_file = _lay_out(request, scenarios_dir, work)
        command = [python, "-m", "council", "scenario", "run", scenario_file]
        command += ["--json", "report.json", "--html", "report.html", "--seed", str(request.seed)]
        if request.mode == "live":
            command += ["--live", "--work-dir", "live"]
        process = await asyncio.create_subprocess_exec(
            *command,
            cwd=work,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,  # signals from the API's terminal are the API's to handle
        )
        try:
            _, stderr = await asyncio.wait_for(process.communicate(), timeout_s)
        except TimeoutError:
            await _stop(process)
            return RunOutcome("error", process.returncode, error=f"timed out after {timeout_s} s")
        except asyncio.CancelledError:
            await _stop(process)
            raise
        return _outcome(process.returncode, stderr.decode(errors="replace"), work)


def _lay_out(request: RunRequest, scenarios_dir: Path, work: Path) -> str:
    """Write the scenario (named after it, so the report's replay line reads well) and a copy
    of its council file; the scenario's file name, relative to ``work``."""
    file = f"{re.sub(r'[^A-Za-z0-9._-]+', '-', request.name).strip('.-') or 'scenario'}.yaml"
    (work / file).write_text(request.yaml, encoding="utf-8")
    if request.council_file is not None:
        copy = work / request.council_file
        copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(scenarios_dir / request.council_file, copy)
    return file


async def _stop(process: asyncio.subprocess.Process) -> None:
    # SIGINT first: the command line then stops what it started (a live run's agents and
    # broker run in sessions of their own, out of reach of a signal to its group).
    with contextlib.suppress(ProcessLookupError):
        process.send_signal(signal.SIGINT)
    try:
        await asyncio.wait_for(process.wait(), STOP_GRACE_S)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        await process.wait()


def _outcome(exit_code: int | None, stderr: str, work: Path) -> RunOutcome:
    tail = stderr[-STDERR_TAIL_CHARS:].strip()
    if exit_code not in (0, 1):
        reason = _ended(exit_code)
        return RunOutcome("error", exit_code, error=f"{reason}: {tail}" if tail else reason)
    try:
        report_json = (work / "report.json").read_text(encoding="utf-8")
        report_html = (work / "report.html").read_text(encoding="utf-8")
        report = RunReport.model_validate_json(report_json)
    except (OSError, ValidationError) as error:
        return RunOutcome("error", exit_code, error=f"the run left no readable report: {error}")
    return RunOutcome(
        "passed" if exit_code == 0 else "failed",
        exit_code,
        summary=summarise(report),
        report_json=report_json,
        report_html=report_html,
    )


def _ended(exit_code: int | None) -> str:
    if exit_code is not None and exit_code < 0:
        return f"killed by signal {-exit_code}"
    return f"exit code {exit_code}"


def summarise(report: RunReport) -> str:
    """One line: which expectations failed (or that all were met), then the verdicts."""
    verdicts = report.verdicts
    seen = (
        f"agreement {verdicts.agreement}, validity {verdicts.validity},"
        f" integrity {verdicts.integrity}, liveness {verdicts.liveness}"
    )
    expectations = report.expectations
    failed = [e for e in expectations if not e.passed]
    if not failed:
        return f"all {len(expectations)} expectations met; {seen}"
    listed = "; ".join(f"{e.name}: {e.detail}" for e in failed)
    return f"{len(failed)} of {len(expectations)} expectations failed ({listed}); {seen}"
