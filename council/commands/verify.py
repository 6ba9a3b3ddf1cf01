"""``council verify``: check a decision record offline against the council roster.

Exit codes: 0 the record is valid, 1 it is not (each problem is printed), 2 a file could not
be read.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, NoReturn

import typer
from pydantic import ValidationError

from council.governance import DecisionRecord, verify_decision
from crypto import CryptoError, Roster

EXIT_INVALID = 1
EXIT_UNREADABLE = 2


def register(app: typer.Typer) -> None:
    """Add ``council verify`` to ``app``."""
    app.command()(verify)


def verify(
    record_file: Annotated[Path, typer.Argument(metavar="FILE", help="Decision record (JSON).")],
    roster_file: Annotated[
        Path, typer.Option("--roster", metavar="ROSTER", help="The council roster (JSON).")
    ],
) -> None:
    """Check a decision record's signatures, commit certificate and tally against the roster."""
    record = _load_record(record_file)
    roster = _load_roster(roster_file)
    problems = verify_decision(record, roster)
    if problems:
        typer.echo(f"invalid: motion {record.motion_id}: {len(problems)} problem(s)")
        for problem in problems:
            typer.echo(f"  - {problem}")
        raise typer.Exit(EXIT_INVALID)
    closing = record.closing
    typer.echo(
        f"valid: motion {record.motion_id} {record.outcome} (yes {record.yes}, no {record.no},"
        f" abstain {record.abstain}), closed at seq {closing.seq}"
        f" with {len(closing.certificate)} commits"
    )


def _load_record(path: Path) -> DecisionRecord:
    try:
        return DecisionRecord.model_validate_json(path.read_bytes())
    except OSError as error:
        _unreadable(f"cannot read decision record {path}: {error.strerror or error}")
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "record"
        _unreadable(
            f"{path}: not a decision record ({error.error_count()} error(s);"
            f" first at {where}: {first['msg']})"
        )


def _load_roster(path: Path) -> Roster:
    try:
        return Roster.load(path)
    except OSError as error:
        _unreadable(f"cannot read roster {path}: {error.strerror or error}")
    except (CryptoError, ValueError) as error:
        _unreadable(f"not a roster: {error}")


def _unreadable(message: str) -> NoReturn:
    typer.echo(message, err=True)
    raise typer.Exit(EXIT_UNREADABLE)
