"""``council init``: a new council's file, its members' private keys and the public roster.

Keys come from the operating system's random source: this is a real council, not a simulation,
so nothing about them can be derived from a seed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError

from council.council_file import (
    CouncilFile,
    default_council,
    dump_council,
    load_council,
    slugify,
)
from council.yamlfile import SpecError
from crypto import PrivateKey, Roster, save_private_key

COUNCIL_FILE = "council.yaml"
ROSTER_FILE = "roster.json"
KEYS_DIRECTORY = "keys"


def register(app: typer.Typer) -> None:
    """Add ``council init`` to ``app``."""
    app.command("init")(init)


def init(
    name: Annotated[str, typer.Option(help="The council's name; its id is made from it.")],
    out: Annotated[Path, typer.Option(help="Directory to write the council into.")],
    seats_from: Annotated[
        Path | None,
        typer.Option(
            help="Take seats, categories, secretariat and voting from this council file"
            " instead of the default 33-seat council."
        ),
    ] = None,
    force: Annotated[bool, typer.Option(help="Replace a council already in --out.")] = False,
) -> None:
    """Write a council file, a 0600 private key per seat and secretariat, and the roster."""
    council = _council(name, seats_from)
    existing = [p.name for p in _outputs(out) if p.exists()]
    if existing and not force:
        typer.echo(
            f"{out} already holds a council ({', '.join(existing)}); use --force to replace it",
            err=True,
        )
        raise typer.Exit(1)
    principals = [seat.principal for seat in council.seats()] + list(council.secretariat)
    try:
        _write(council, out, principals, overwrite=force)
    except OSError as error:
        typer.echo(f"cannot write the council to {out}: {error}", err=True)
        raise typer.Exit(1) from None
    _report(council, out, principals)


def write_council(council: CouncilFile, out: Path, *, overwrite: bool = False) -> None:
    """Write ``council`` with fresh keys for its seats and secretariat, and its roster."""
    principals = [seat.principal for seat in council.seats()] + list(council.secretariat)
    _write(council, out, principals, overwrite=overwrite)


def _write(council: CouncilFile, out: Path, principals: list[str], *, overwrite: bool) -> None:
    keys = out / KEYS_DIRECTORY
    keys.mkdir(mode=0o700, parents=True, exist_ok=True)
    members: dict[str, bytes] = {}
    for principal in principals:
        key = PrivateKey.generate()
        save_private_key(key, keys / f"{principal}.key", overwrite=overwrite)
        members[principal] = key.public_key()
    Roster(council.council_id, members).save(out / ROSTER_FILE)
    # The council file last: a council.yaml only ever sits beside a complete set of keys.
    (out / COUNCIL_FILE).write_text(dump_council(council), encoding="utf-8")


def _council(name: str, seats_from: Path | None) -> CouncilFile:
    if not name.strip():
        raise typer.BadParameter("expected a non-empty name", param_hint="--name")
    if seats_from is None:
        return default_council(name)
    try:
        template = load_council(seats_from)
    except SpecError as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(1) from None
    try:
        return CouncilFile.model_validate(
            {**template.model_dump(by_alias=True), "name": name, "id": slugify(name) or None}
        )
    except ValidationError as error:
        raise typer.BadParameter(str(error), param_hint="--name") from None


def _outputs(out: Path) -> tuple[Path, ...]:
    return (out / COUNCIL_FILE, out / ROSTER_FILE, out / KEYS_DIRECTORY)


def _report(council: CouncilFile, out: Path, principals: list[str]) -> None:
    n = council.n
    seats = f"r0 … r{n - 1}" if n > 1 else "r0"
    others = ", ".join(council.secretariat)
    typer.echo(
        f"wrote {out / COUNCIL_FILE}: {council.name} (id {council.council_id}),"
        f" {n} seats, {len(council.categories)} categories"
    )
    typer.echo(
        f"wrote {len(principals)} private keys to {out / KEYS_DIRECTORY} (mode 0600):"
        f" {seats} for seats 1 … {n}, {others}"
    )
    typer.echo(f"wrote {out / ROSTER_FILE}: the public key of every member")
    typer.echo("next steps:")
    typer.echo(
        "  - give each seat's operator its own key file only (seat k signs with r<k-1>.key),"
        " and each secretariat principal its own key (`council motion submit` signs as"
        " secretariat, the HTTP gateway as gateway); keep the keys directory private"
    )
    typer.echo(
        f"  - publish {ROSTER_FILE}: anyone can check a decision with"
        f" `council verify DECISION --roster {out / ROSTER_FILE}`"
    )
    typer.echo(
        f"  - try the council in the simulator: name {out / COUNCIL_FILE} as `council:` in a"
        " scenario (docs/scenarios.md), then `council scenario validate FILE`"
    )
    typer.echo(
        "  - after changing the seats, run init again with"
        f" --seats-from {out / COUNCIL_FILE} --force, so keys and roster match"
    )
