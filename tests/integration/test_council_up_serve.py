"""``make run``'s command as an operator runs it: ``council up --serve`` starts a broker, the
agents and the API; a motion submitted with the printed token is decided; Ctrl-C stops all."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from api.server import free_port
from council.commands.init import write_council
from council.council_file import CouncilFile

DASHBOARD_LINE = re.compile(r"dashboard: (http://127\.0\.0\.1:\d+)/#token=(bct_\S+)")
COUNCIL_BIN = Path(sys.executable).with_name("council")


def http(method: str, url: str, token: str, body: dict[str, str] | None = None) -> Any:
    request = urllib.request.Request(
        url,
        data=None if body is None else json.dumps(body).encode(),
        method=method,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def test_council_up_serve_decides_a_motion_submitted_over_http_and_stops_on_ctrl_c(
    tmp_path: Path,
) -> None:
    council = tmp_path / "council"
    write_council(
        CouncilFile.model_validate(
            {
                "name": "Served Council",
                "seats": [{"constituency": "north", "count": 4}],
                "categories": {"budget": {"rule": "majority", "window_ms": 2_000}},
                "secretariat": ["secretariat", "gateway"],
            }
        ),
        council,
    )
    port = free_port()
    process = subprocess.Popen(
        [str(COUNCIL_BIN), "up", "--council", str(council), "--serve", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    try:
        assert process.stdout is not None
        deadline = time.monotonic() + 60
        found = None
        while found is None and time.monotonic() < deadline:
            line = process.stdout.readline()
            assert line, "council up exited:\n" + "".join(lines)
            lines.append(line)
            found = DASHBOARD_LINE.search(line)
        assert found is not None, "no dashboard line:\n" + "".join(lines)
        base, observer = found.groups()
        tokens = dict(
            entry.split("=", 1) for entry in (council / "gateway.tokens").read_text().split()
        )
        assert tokens["observer"] == observer
        assert (council / "gateway.tokens").stat().st_mode & 0o077 == 0
        motion = http(
            "POST",
            f"{base}/v1/motions",
            tokens["secretariat"],
            {"title": "Mend", "category": "budget"},
        )
        deadline = time.monotonic() + 60
        while motion["status"] != "decided" and time.monotonic() < deadline:
            time.sleep(0.3)
            motion = http("GET", f"{base}/v1/motions/{motion['id']}", observer)
        assert motion["status"] == "decided", motion
        assert motion["submitted_by"] == "first secretariat"
        process.send_signal(signal.SIGINT)
        rest, _ = process.communicate(timeout=60)
        lines.append(rest)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    output = "".join(lines)
    assert process.returncode == 0, output
    assert "council stopped" in output
    assert "Traceback" not in output
