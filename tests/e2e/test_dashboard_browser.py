"""The dashboard in headless Chromium, against the real API over a simulated council.

The app runs under uvicorn on a free local port; Chromium loads the page with a token in the
URL fragment and the test drives it over the DevTools protocol (a WebSocket): it reads the DOM
with ``Runtime.evaluate`` and takes the screenshot with ``Page.captureScreenshot``. Chromium
comes from Debian (``make browser``); without it these tests are skipped.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from websockets.sync.client import connect
from websockets.sync.connection import Connection

from tests.api.served import served_api
from tests.api.support import BASELINE
from tests.e2e.png import decode, read_size
from tests.e2e.test_report_browser import close_to, sample_pixels

SCENARIOS = BASELINE.parent
VIEWPORT = (1280, 800)
# Colours of the page's seats (api/dashboard/index.html): honest, primary, faulty.
HONEST = (0x00, 0x9E, 0x73)
PRIMARY = (0x00, 0x72, 0xB2)
FAULTY = (0xD5, 0x5E, 0x00)

# No proxy between the test and its own server, whatever the environment says.
_http = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def chromium_or_skip() -> str:
    found = shutil.which("chromium")
    if found is None and os.access("/usr/bin/chromium", os.X_OK):
        found = "/usr/bin/chromium"
    if found is None:
        pytest.skip("chromium is not installed: run `make browser`")
    return found


# -- the API, served ---------------------------------------------------------------------------


@dataclass
class Site:
    url: str
    tokens: dict[str, str]
    server: uvicorn.Server

    def drop_connections(self) -> None:
        """Cut every open connection, the event stream's too, as a network failure would."""
        loop = self.server.servers[0].get_loop()
        for connection in list(self.server.server_state.connections):
            loop.call_soon_threadsafe(connection.transport.abort)

    def request(self, path: str, who: str, body: dict[str, Any] | None = None) -> Any:
        request = urllib.request.Request(
            self.url + path,
            data=None if body is None else json.dumps(body).encode(),
            headers={
                "Authorization": f"Bearer {self.tokens[who]}",
                "Content-Type": "application/json",
            },
        )
        with _http.open(request, timeout=10) as response:
            return json.loads(response.read())


@contextmanager
def serve(tmp_path: Path, scenario: Path) -> Iterator[Site]:
    """The app over ``scenario`` under uvicorn in a background thread, on a free port."""
    with served_api(tmp_path, scenario=scenario, speed=4.0) as served:
        yield Site(served.url, served.tokens, served.server)


# -- the browser -------------------------------------------------------------------------------


@dataclass
class Page:
    """One tab, driven over the DevTools protocol."""

    socket: Connection
    next_id: int = 0
    exceptions: list[str] = field(default_factory=list)
    #: Requests the page made for the event stream, once ``Network.enable`` was called.
    stream_requests: list[dict[str, Any]] = field(default_factory=list)

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        self.socket.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.socket.recv(timeout=30))
            if message.get("method") == "Runtime.exceptionThrown":
                details = message["params"]["exceptionDetails"]
                thrown = details.get("exception", {}).get("description", str(details))
                self.exceptions.append(thrown)
            if message.get("method") == "Network.requestWillBeSent":
                request = message["params"]["request"]
                if request["url"].endswith("/v1/events"):
                    self.stream_requests.append(request)
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise AssertionError(f"{method}: {message['error']}")
                result: dict[str, Any] = message["result"]
                return result

    def evaluate(self, expression: str) -> Any:
        result = self.call(
            "Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True
        )
        if "exceptionDetails" in result:
            raise AssertionError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression: str, what: str, timeout_s: float = 20) -> Any:
        """Poll ``expression`` until it is truthy; its value (a JSON value: a DOM node comes
        back as ``{}``, so test for one with ``!!``)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            value = self.evaluate(expression)
            if value:
                return value
            time.sleep(0.1)
        raise AssertionError(f"the page never showed {what} in {timeout_s} s")

    def screenshot(self, path: Path) -> bytes:
        data = base64.b64decode(self.call("Page.captureScreenshot", format="png")["data"])
        path.write_bytes(data)
        return data


@contextmanager
def browser(tmp_path: Path) -> Iterator[Page]:
    binary = chromium_or_skip()
    profile = tmp_path / "chromium-profile"  # a fresh profile per run
    command = [
        binary,
        *("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"),
        "--disable-background-networking",
        "--no-proxy-server",
        f"--user-data-dir={profile}",
        f"--window-size={VIEWPORT[0]},{VIEWPORT[1]}",
        "--remote-debugging-port=0",  # Chromium picks a port and writes it to DevToolsActivePort
        "about:blank",
    ]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        port = _devtools_port(profile, process)
        with _http.open(f"http://127.0.0.1:{port}/json/list", timeout=10) as response:
            targets = json.loads(response.read())
        tab = next(t for t in targets if t["type"] == "page")
        with connect(tab["webSocketDebuggerUrl"], max_size=None, open_timeout=10) as ws:
            page = Page(ws)
            page.call("Runtime.enable")
            page.call(
                "Emulation.setDeviceMetricsOverride",
                width=VIEWPORT[0],
                height=VIEWPORT[1],
                deviceScaleFactor=1,
                mobile=False,
            )
            yield page
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stderr is not None:
            process.stderr.close()


def _devtools_port(profile: Path, process: subprocess.Popen[bytes]) -> int:
    marker = profile / "DevToolsActivePort"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            stderr = process.stderr.read().decode(errors="replace") if process.stderr else ""
            raise AssertionError(f"chromium exited with {process.returncode}: {stderr[-2000:]}")
        text = marker.read_text() if marker.is_file() else ""
        if text.strip():
            return int(text.splitlines()[0])
        time.sleep(0.05)
    raise AssertionError("chromium did not open its DevTools port")


# -- what the page shows -----------------------------------------------------------------------


def shown(selector: str) -> str:
    """JavaScript: is an element matching ``selector`` on the page?"""
    return f"!!document.querySelector({json.dumps(selector)})"


def open_dashboard(page: Page, site: Site, who: str) -> None:
    page.call("Page.navigate", url=f"{site.url}/#token={site.tokens[who]}")
    page.wait_for(
        "document.querySelectorAll('#seats [data-seat][data-state=online]').length === 33",
        "33 seats in the ring, online",
    )
    page.wait_for("document.body.dataset.stream === 'live'", "the event stream connected")


def seats(page: Page) -> list[dict[str, str]]:
    value: list[dict[str, str]] = page.evaluate(
        "Array.from(document.querySelectorAll('#seats [data-seat]'), g => ({...g.dataset}))"
    )
    return value


def motion_item(page: Page, motion_id: str) -> dict[str, Any]:
    value: dict[str, Any] = page.evaluate(
        f"""(() => {{
        const item = document.querySelector({json.dumps(f'[data-motion-id="{motion_id}"]')});
        const link = item.querySelector('a.record');
        return {{...item.dataset, text: item.textContent,
                 record: link && link.getAttribute('href')}};
        }})()"""
    )
    return value


def wait_decided(page: Page, motion_id: str) -> dict[str, Any]:
    try:
        page.wait_for(
            shown(f'#motions [data-motion-id="{motion_id}"][data-status=decided] a.record'),
            f"motion {motion_id} decided",
            timeout_s=30,
        )
    except AssertionError as error:
        raise AssertionError(f"{error}; it shows {motion_item(page, motion_id)}") from None
    return motion_item(page, motion_id)


def check_screenshot(data: bytes, colours: dict[tuple[int, int, int], int]) -> None:
    """A full-size, non-blank PNG showing at least ``colours[c]`` sampled pixels of each c."""
    assert read_size(data) == VIEWPORT
    assert len(data) > 30_000, f"suspiciously small screenshot ({len(data)} bytes)"
    pixels = sample_pixels(decode(data), step=2)
    ink = sum(1 for pixel in pixels if not close_to(pixel, (255, 255, 255), 6))
    assert ink > len(pixels) * 0.05, "the page is nearly blank"
    assert len(set(pixels)) > 100, "too few colours for a ring of seats"
    for colour, least in colours.items():
        found = sum(1 for pixel in pixels if close_to(pixel, colour, 8))
        assert found >= least, f"only {found} sampled pixels of {colour}"


def assert_clean(page: Page) -> None:
    assert page.exceptions == [], page.exceptions
    assert page.evaluate("document.documentElement.dataset.rendered") == "ok"


# -- the tests ---------------------------------------------------------------------------------


def test_the_dashboard_shows_the_council_deciding_motions(tmp_path: Path) -> None:
    with serve(tmp_path, BASELINE) as site, browser(tmp_path) as page:
        open_dashboard(page, site, "secretariat")

        # The token left the address bar and lives in the tab's session storage.
        assert page.evaluate("location.hash") == ""
        kept = page.evaluate("sessionStorage.getItem('council-token')")
        assert kept == site.tokens["secretariat"]
        ring = seats(page)
        assert [int(s["seat"]) for s in ring] == list(range(1, 34))
        assert [s["seat"] for s in ring if s["role"] == "primary"] == ["1"]
        assert {s["legend"] for s in ring[1:]} == {"honest"} and ring[0]["legend"] == "primary"
        assert page.evaluate(
            "Array.from(document.querySelectorAll('#arcs [data-constituency]'),"
            " g => g.dataset.constituency)"
        ) == ["government", "industry", "academia", "civil-society"]
        assert page.evaluate("document.getElementById('stat-primary').textContent") == "1"

        # One motion through the page's form, one through the API: the page learns of it and
        # its decision from the event stream.
        page.evaluate(
            "document.getElementById('motion-title').value = 'Fund the library';"
            "document.getElementById('motion-category').value = 'budget';"
            "document.getElementById('motion-submit').click()"
        )
        from_form = page.wait_for(
            "Array.from(document.querySelectorAll('#motions [data-motion-id]'))"
            ".filter(li => li.textContent.includes('Fund the library'))"
            ".map(li => li.dataset.motionId)[0]",
            "the form's motion in the list",
        )
        from_api = site.request(
            "/v1/motions", "secretariat", {"title": "Audit the office", "category": "budget"}
        )["id"]
        for motion_id in (from_form, from_api):
            item = wait_decided(page, motion_id)
            motion = site.request(f"/v1/motions/{motion_id}", "observer")
            assert item["outcome"] == motion["outcome"]
            assert item["record"] == motion["record_url"] == f"/v1/motions/{motion_id}/record"
            tally = motion["tally"]
            assert f"{tally['yes']} yes · {tally['no']} no" in item["text"]
        assert page.evaluate("document.getElementById('stat-decided').textContent") == "2"
        assert int(page.evaluate("document.body.dataset.traffic")) > 0, "no traffic drawn"

        time.sleep(0.3)  # a few flow lines in the picture
        data = page.screenshot(tmp_path / "dashboard.png")
        check_screenshot(data, {HONEST: 300, PRIMARY: 20})

        # The connection drops: the page reconnects, says where it left off, and follows on.
        page.call("Network.enable")
        site.drop_connections()
        deadline = time.monotonic() + 10
        while not page.stream_requests and time.monotonic() < deadline:
            page.evaluate("0")  # let the DevTools events in
            time.sleep(0.1)
        assert page.stream_requests, "the page did not reconnect"
        last_seen = page.stream_requests[-1]["headers"].get("Last-Event-ID", "")
        assert last_seen.isdigit() and int(last_seen) > 0, page.stream_requests[-1]["headers"]
        page.wait_for("document.body.dataset.stream === 'live'", "the stream live again")
        again = site.request(
            "/v1/motions", "secretariat", {"title": "After the drop", "category": "budget"}
        )["id"]
        wait_decided(page, again)

        # An observer's token reads but may not submit: the form shows the API's reason.
        page.evaluate(f"location.hash = '#token={site.tokens['observer']}'")
        page.wait_for(
            f"sessionStorage.getItem('council-token') === '{site.tokens['observer']}'"
            " && document.body.dataset.stream === 'live'",
            "the observer's token in use",
        )
        page.evaluate(
            "document.getElementById('motion-title').value = 'Not allowed';"
            "document.getElementById('motion-submit').click()"
        )
        refusal = page.wait_for(
            "document.querySelector('#form-status[data-state=error]')?.textContent",
            "the refusal",
        )
        assert "this needs a secretariat token, not observer" in refusal
        assert_clean(page)


def test_faulty_seats_and_the_evidence_against_them_are_marked(tmp_path: Path) -> None:
    # Seat 1, the first primary, equivocates: the council holds evidence against it and
    # replaces it with seat 2 once a motion makes it propose anything.
    scenario = SCENARIOS / "equivocating-primary.yaml"
    with serve(tmp_path, scenario) as site, browser(tmp_path) as page:
        open_dashboard(page, site, "observer")
        status = site.request("/v1/council/status", "observer")
        faulty = [str(s["seat"]) for s in status["seats"] if s["faulty"]]
        assert faulty == ["1"]
        ring = seats(page)
        assert [s["seat"] for s in ring if s["faulty"] == "true"] == faulty
        assert [s["seat"] for s in ring if s["legend"] == "faulty"] == faulty

        motion_id = site.request(
            "/v1/motions", "secretariat", {"title": "Fund the library", "category": "budget"}
        )["id"]
        page.wait_for(
            shown('#evidence [data-culprit="1"][data-kind=equivocation]'),
            "evidence of equivocation against seat 1",
        )
        page.wait_for(
            shown('#seats [data-seat="1"][data-culprit=true]'),
            "seat 1 marked as a culprit in the ring",
        )
        page.wait_for(
            shown('#seats [data-seat="2"][data-role=primary]')
            + " && document.getElementById('stat-primary').textContent === '2'",
            "seat 2 as the new primary",
        )
        wait_decided(page, motion_id)
        ring = seats(page)
        assert [s["seat"] for s in ring if s["legend"] == "faulty"] == ["1"]
        assert [s["seat"] for s in ring if s["culprit"] == "true"] == ["1"]

        data = page.screenshot(tmp_path / "dashboard-faulty.png")
        check_screenshot(data, {FAULTY: 20, HONEST: 300, PRIMARY: 20})
        assert_clean(page)
