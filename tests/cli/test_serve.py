"""``council token`` and ``council serve --simulate`` as a user types them."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from typer.testing import CliRunner

from api.cli import app
from api.server import free_port
from council.gateway import GatewayStore
from council.gateway.tokens import Role, TokenStore

BASELINE = Path(__file__).parents[2] / "scenarios" / "baseline.yaml"
COUNCIL_BIN = Path(sys.executable).with_name("council")


def test_tokens_are_created_listed_and_revoked_and_stored_only_hashed(tmp_path: Path) -> None:
    state = tmp_path / "gateway.sqlite"
    runner = CliRunner()
    created = runner.invoke(
        app,
        [
            "token",
            "create",
            "--role",
            "member",
            "--seat",
            "7",
            "--name",
            "Ada",
            "--state",
            str(state),
        ],
    )
    assert created.exit_code == 0, created.output
    token = created.stdout.strip().splitlines()[0]
    assert token.startswith("bct_")
    holder = TokenStore(GatewayStore(state)).holder(token)
    assert holder is not None and (holder.role, holder.seat, holder.name) == (Role.MEMBER, 7, "Ada")
    assert token.encode() not in state.read_bytes()
    listed = runner.invoke(app, ["token", "list", "--state", str(state)])
    assert f"{holder.id}  member seat 7  Ada" in listed.stdout
    revoked = runner.invoke(app, ["token", "revoke", holder.id, "--state", str(state)])
    assert revoked.exit_code == 0
    assert TokenStore(GatewayStore(state)).holder(token) is None
    again = runner.invoke(app, ["token", "revoke", holder.id, "--state", str(state)])
    assert again.exit_code == 1


def test_a_member_token_must_name_a_seat_and_other_roles_none(tmp_path: Path) -> None:
    state = str(tmp_path / "gateway.sqlite")
    runner = CliRunner()
    member = runner.invoke(
        app, ["token", "create", "--role", "member", "--name", "x", "--state", state]
    )
    assert member.exit_code == 2
    assert "a member token names exactly one seat" in member.output
    observer = runner.invoke(
        app,
        ["token", "create", "--role", "observer", "--seat", "3", "--name", "x", "--state", state],
    )
    assert observer.exit_code == 2
    unknown = runner.invoke(
        app, ["token", "create", "--role", "king", "--name", "x", "--state", state]
    )
    assert unknown.exit_code == 2


def test_council_serve_simulate_serves_a_simulated_council_with_first_tokens(
    tmp_path: Path,
) -> None:
    port = free_port()
    process = subprocess.Popen(
        [
            str(COUNCIL_BIN),
            "serve",
            "--simulate",
            str(BASELINE),
            "--speed",
            "4",
            "--port",
            str(port),
            "--council",
            str(tmp_path),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert process.stdout is not None
        output = ""
        while "observer" not in output:
            line = process.stdout.readline()
            assert line, f"council serve exited:\n{output}"
            output += line
        secretariat = re.search(r"secretariat\s+(bct_\S+)", output)
        assert secretariat is not None, output
        headers = {
            "Authorization": f"Bearer {secretariat.group(1)}",
            "Content-Type": "application/json",
        }
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/v1/motions",
            data=json.dumps({"title": "Plant trees", "category": "environment"}).encode(),
            headers=headers,
        )
        motion = json.loads(urllib.request.urlopen(request, timeout=10).read())
        deadline = time.monotonic() + 30
        while motion["status"] != "decided" and time.monotonic() < deadline:
            time.sleep(0.2)
            get = urllib.request.Request(
                f"http://127.0.0.1:{port}/v1/motions/{motion['id']}", headers=headers
            )
            motion = json.loads(urllib.request.urlopen(get, timeout=10).read())
        assert motion["status"] == "decided"
        assert (tmp_path / "gateway-simulated.tokens").stat().st_mode & 0o077 == 0
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/council", timeout=10)
        except urllib.error.HTTPError as error:
            assert error.code == 401
        else:
            raise AssertionError("the council's description needs a token")
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_council_serve_names_the_line_and_field_of_a_bad_scenario(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\ncouncil: councils/default.yaml\nduration_ms: soon\n")
    result = subprocess.run(
        [str(COUNCIL_BIN), "serve", "--simulate", str(bad), "--council", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert f"{bad}:3" in result.stderr and "duration_ms" in result.stderr


def test_a_port_in_use_is_refused_before_anything_starts(tmp_path: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        for command in (
            ["serve", "--simulate", str(BASELINE), "--council", str(tmp_path)],
            ["up", "--council", str(tmp_path / "none"), "--init", "--serve"],
        ):
            result = subprocess.run(
                [str(COUNCIL_BIN), *command, "--port", str(port)],
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
            assert result.returncode == 2, result
            assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert not (tmp_path / "gateway-simulated.sqlite").exists()
