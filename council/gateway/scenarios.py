"""The scenario desk: designers' uploaded scenarios and their runs, beside the gateway's motions.

Uploads are checked (:mod:`.scenario_check`) before they are stored. A requested run is stored
``queued``; one worker takes queued runs oldest first, one at a time, runs each as a subprocess
of the command line (:mod:`.scenario_runner`) and stores how it ended — ``passed``, ``failed``
(an expectation failed; the reports are kept) or ``error`` — with both reports.

Nothing stays ``running`` for ever: a run cut short by the desk stopping is marked ``error``
at once, and one left ``running`` by a process that died is marked ``error`` when the desk next
starts. Runs still ``queued`` then are run.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import sqlite3
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

from council.gateway.gateway import GatewayError
from council.gateway.scenario_check import SHIPPED_SCENARIOS, CheckedScenario, check_scenario
from council.gateway.scenario_runner import RunMode, RunOutcome, RunRequest, run_in_subprocess
from council.gateway.store import GatewayStore

log = logging.getLogger("council.gateway.scenarios")

RunStatus = Literal["queued", "running", "passed", "failed", "error"]
ReportKind = Literal["json", "html"]
#: Runs that may wait for the worker; beyond them a request is refused (429).
WAITING_RUNS_MAX: Final = 20
#: The longest one run may take before it is stopped (a live run is in real time).
RUN_TIMEOUT_S: Final = 3600.0
INTERRUPTED: Final = "interrupted by a restart"
STOPPED: Final = "interrupted: the API stopped during the run"

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS scenarios (
    number INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    summary TEXT NOT NULL,
    yaml TEXT NOT NULL,
    council_file TEXT,
    seed INTEGER NOT NULL,
    uploaded_by TEXT NOT NULL,
    created_s REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS scenario_runs (
    number INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    scenario TEXT NOT NULL REFERENCES scenarios (id),
    mode TEXT NOT NULL,
    seed INTEGER NOT NULL,
    status TEXT NOT NULL,
    requested_by TEXT NOT NULL,
    queued_s REAL NOT NULL,
    started_s REAL,
    finished_s REAL,
    exit_code INTEGER,
    summary TEXT,
    error TEXT,
    report_json TEXT,
    report_html TEXT
);
CREATE INDEX IF NOT EXISTS scenario_runs_by_status ON scenario_runs (status, number);
"""
# Listings leave the reports out: they can be large, and are fetched one at a time.
_RUN_COLUMNS: Final = (
    "id, scenario, mode, seed, status, requested_by, queued_s, started_s, finished_s,"
    " exit_code, summary, error, report_json IS NOT NULL AS has_report"
)
_SCENARIO_COLUMNS: Final = "id, name, summary, council_file, seed, uploaded_by, created_s"


@dataclass(frozen=True, slots=True)
class ScenarioRow:
    """An uploaded scenario; ``yaml`` is only read for one scenario, never for a listing."""

    id: str
    name: str
    summary: str
    council_file: str | None
    seed: int
    uploaded_by: str
    created_s: float
    yaml: str | None = None


@dataclass(frozen=True, slots=True)
class RunRow:
    """A run as the desk stored it (its reports are read with :meth:`ScenarioDesk.report`)."""

    id: str
    scenario: str
    mode: RunMode
    seed: int
    status: RunStatus
    requested_by: str
    queued_s: float
    started_s: float | None
    finished_s: float | None
    exit_code: int | None
    summary: str | None
    error: str | None
    has_report: bool


class ScenarioDesk:
    """Stores uploaded scenarios and runs them one at a time; ``start()`` starts the worker."""

    def __init__(
        self,
        store: GatewayStore,
        *,
        scenarios_dir: Path = SHIPPED_SCENARIOS,
        waiting_max: int = WAITING_RUNS_MAX,
        run_timeout_s: float = RUN_TIMEOUT_S,
        python: str = sys.executable,
    ) -> None:
        self.scenarios_dir = scenarios_dir
        self.waiting_max = waiting_max
        self.run_timeout_s = run_timeout_s
        self._store = store
        self._python = python
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._worker: asyncio.Task[None] | None = None
        with store.transaction() as db:
            _create_tables(db)

    # -- scenarios ---------------------------------------------------------------------------

    def check(self, text: str) -> CheckedScenario:
        """Check a scenario without storing it; SpecError lists its problems."""
        return check_scenario(text, self.scenarios_dir)

    def upload(self, text: str, uploaded_by: str) -> ScenarioRow:
        """Check and store a scenario; SpecError (nothing stored) when it is invalid."""
        checked = self.check(text)
        scenario = checked.loaded.scenario
        council_file = None if checked.council_file is None else checked.council_file.as_posix()
        with self._store.transaction() as db:
            scenario_id = f"S-{_next_number(db, 'scenarios')}-{secrets.token_hex(3)}"
            db.execute(
                "INSERT INTO scenarios (id, name, summary, yaml, council_file, seed, uploaded_by,"
                " created_s) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    scenario_id,
                    scenario.name,
                    checked.summary,
                    text,
                    council_file,
                    scenario.seed,
                    uploaded_by,
                    time.time(),
                ),
            )
        found = self.scenario(scenario_id)
        assert found is not None
        return found

    def scenario(self, scenario_id: str) -> ScenarioRow | None:
        """One scenario, with its YAML text."""
        rows = self._store.query(
            f"SELECT {_SCENARIO_COLUMNS}, yaml FROM scenarios WHERE id = ?", (scenario_id,)
        )
        return ScenarioRow(**dict(rows[0])) if rows else None

    def scenarios(self, *, limit: int = 50, offset: int = 0) -> tuple[list[ScenarioRow], int]:
        """A page of scenarios, newest first, and how many there are."""
        total = self._store.query("SELECT COUNT(*) AS total FROM scenarios")
        rows = self._store.query(
            f"SELECT {_SCENARIO_COLUMNS} FROM scenarios ORDER BY number DESC LIMIT ? OFFSET ?",
            (limit, offset),
        )
        return [ScenarioRow(**dict(row)) for row in rows], int(total[0]["total"])

    # -- runs --------------------------------------------------------------------------------

    def request_run(
        self, scenario_id: str, mode: RunMode, seed: int | None, requested_by: str
    ) -> RunRow:
        """Queue a run of the scenario (with its own seed unless ``seed`` replaces it).
        GatewayError 404 for an unknown scenario, 429 when ``waiting_max`` runs wait."""
        with self._store.transaction() as db:
            found = db.execute("SELECT seed FROM scenarios WHERE id = ?", (scenario_id,)).fetchone()
            if found is None:
                raise GatewayError(404, f"no scenario {scenario_id}")
            waiting = db.execute(
                "SELECT COUNT(*) FROM scenario_runs WHERE status = 'queued'"
            ).fetchone()[0]
            if waiting >= self.waiting_max:
                raise GatewayError(
                    429, f"{waiting} runs are waiting already; ask again when one has started"
                )
            run_id = f"R-{_next_number(db, 'scenario_runs')}-{secrets.token_hex(3)}"
            db.execute(
                "INSERT INTO scenario_runs (id, scenario, mode, seed, status, requested_by,"
                " queued_s) VALUES (?, ?, ?, ?, 'queued', ?, ?)",
                (
                    run_id,
                    scenario_id,
                    mode,
                    found["seed"] if seed is None else seed,
                    requested_by,
                    time.time(),
                ),
            )
        self._nudge()
        found_run = self.run(run_id)
        assert found_run is not None
        return found_run

    def run(self, run_id: str) -> RunRow | None:
        rows = self._store.query(
            f"SELECT {_RUN_COLUMNS} FROM scenario_runs WHERE id = ?", (run_id,)
        )
        return _run(rows[0]) if rows else None

    def runs(
        self,
        *,
        scenario: str | None = None,
        status: RunStatus | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[list[RunRow], int]:
        """A page of runs, newest first, of one scenario or all, in one status or any."""
        clauses = [c for c, v in (("scenario = ?", scenario), ("status = ?", status)) if v]
        parameters = tuple(v for v in (scenario, status) if v)
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        total = self._store.query(f"SELECT COUNT(*) AS total FROM scenario_runs{where}", parameters)
        rows = self._store.query(
            f"SELECT {_RUN_COLUMNS} FROM scenario_runs{where} ORDER BY number DESC"
            " LIMIT ? OFFSET ?",
            (*parameters, limit, offset),
        )
        return [_run(row) for row in rows], int(total[0]["total"])

    def report(self, run_id: str, kind: ReportKind) -> str | None:
        """A finished run's JSON or HTML report, as the command line wrote it."""
        column = {"json": "report_json", "html": "report_html"}[kind]
        rows = self._store.query(f"SELECT {column} FROM scenario_runs WHERE id = ?", (run_id,))
        return rows[0][column] if rows else None

    # -- the worker --------------------------------------------------------------------------

    async def start(self) -> None:
        """Mark runs a dead process left ``running`` as errors, then start the worker, which
        takes the runs still queued first."""
        with self._store.transaction() as db:
            db.execute(
                "UPDATE scenario_runs SET status = 'error', error = ?, finished_s = ?"
                " WHERE status = 'running'",
                (INTERRUPTED, time.time()),
            )
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._worker = asyncio.create_task(self._work(self._wake), name="scenario runs")

    async def stop(self) -> None:
        """Stop the worker; a run it was running is stopped and marked ``error``."""
        worker, self._worker = self._worker, None
        if worker is not None:
            worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await worker

    def _nudge(self) -> None:
        # Runs are requested from the event loop or from a worker thread of the API alike.
        if self._loop is not None and self._wake is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._wake.set)

    async def _work(self, wake: asyncio.Event) -> None:
        while True:
            wake.clear()  # before looking, so a run queued after the look wakes the worker
            claimed = self._claim()
            if claimed is None:
                await wake.wait()
                continue
            run_id, request = claimed
            try:
                outcome = await run_in_subprocess(
                    request, self.scenarios_dir, timeout_s=self.run_timeout_s, python=self._python
                )
            except asyncio.CancelledError:
                self._finish(run_id, RunOutcome("error", None, error=STOPPED))
                raise
            except Exception as error:  # the worker outlives any one run
                log.exception("run %s failed to run", run_id)
                outcome = RunOutcome("error", None, error=f"could not run: {error}")
            self._finish(run_id, outcome)

    def _claim(self) -> tuple[str, RunRequest] | None:
        """The oldest queued run, now marked ``running``."""
        with self._store.transaction() as db:
            row = db.execute(
                "SELECT r.id, r.mode, r.seed, s.name, s.yaml, s.council_file FROM scenario_runs r"
                " JOIN scenarios s ON s.id = r.scenario WHERE r.status = 'queued'"
                " ORDER BY r.number LIMIT 1"
            ).fetchone()
            if row is None:
                return None
            db.execute(
                "UPDATE scenario_runs SET status = 'running', started_s = ? WHERE id = ?",
                (time.time(), row["id"]),
            )
        council_file = None if row["council_file"] is None else Path(row["council_file"])
        request = RunRequest(row["name"], row["yaml"], council_file, row["mode"], row["seed"])
        return row["id"], request

    def _finish(self, run_id: str, outcome: RunOutcome) -> None:
        with self._store.transaction() as db:
            db.execute(
                "UPDATE scenario_runs SET status = ?, finished_s = ?, exit_code = ?, summary = ?,"
                " error = ?, report_json = ?, report_html = ? WHERE id = ?",
                (
                    outcome.status,
                    time.time(),
                    outcome.exit_code,
                    outcome.summary,
                    outcome.error,
                    outcome.report_json,
                    outcome.report_html,
                    run_id,
                ),
            )


def _create_tables(db: sqlite3.Connection) -> None:
    # executescript would COMMIT the store's open transaction; one statement at a time.
    for statement in _SCHEMA.split(";"):
        if statement.strip():
            db.execute(statement)


def _next_number(db: sqlite3.Connection, table: str) -> int:
    return int(db.execute(f"SELECT COALESCE(MAX(number), 0) + 1 FROM {table}").fetchone()[0])


def _run(row: sqlite3.Row) -> RunRow:
    values = dict(row)
    values["has_report"] = bool(values["has_report"])
    return RunRow(**values)
