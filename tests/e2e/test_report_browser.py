"""The HTML reports open in headless Chromium: no script error, a non-blank screenshot.

Chromium comes from Debian (``make browser``, which ``make test`` runs first). A missing
browser fails these tests instead of skipping them, so CI cannot pass without rendering.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from council.report import render_html, render_sweep_html
from council.report.page import document
from council.scenario import load_scenario
from council.scenario.run import run_scenario
from tests.e2e.png import Image, decode, read_size
from tests.report.sample import sample_report, sample_sweep

WINDOW = (1280, 2400)
TIMEOUT_S = 60
# Colours the page must show when it rendered: the failed-run strip, and the safe-share line.
FAILED_STRIP = (0xA4, 0x0E, 0x26)
SAFE_LINE = (0x00, 0x72, 0xB2)

PAGES: dict[str, tuple[Callable[[], str], tuple[int, int, int]]] = {
    "run-report": (lambda: render_html(sample_report(violation=True)), FAILED_STRIP),
    "sweep": (lambda: render_sweep_html(sample_sweep()), SAFE_LINE),
}


def chromium_binary() -> str:
    found = shutil.which("chromium")
    if found is None and os.access("/usr/bin/chromium", os.X_OK):
        found = "/usr/bin/chromium"
    if found is None:
        pytest.fail("chromium is not installed: run `make browser` (make test does it first)")
    return found


def run_chromium(tmp_path: Path, profile: str, *arguments: str) -> subprocess.CompletedProcess[str]:
    command = [
        chromium_binary(),
        *("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"),
        "--disable-background-networking",
        f"--user-data-dir={tmp_path / profile}",  # a fresh profile per run
        *arguments,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT_S, check=False)


def write_page(tmp_path: Path, name: str, html: str) -> str:
    path = tmp_path / f"{name}.html"
    path.write_text(html, encoding="utf-8")
    return path.resolve().as_uri()


def dump_dom(tmp_path: Path, url: str) -> str:
    result = run_chromium(tmp_path, "dom-profile", "--dump-dom", url)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def close_to(pixel: tuple[int, ...], colour: tuple[int, int, int], tolerance: int = 12) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, colour, strict=True))


def sample_pixels(image: Image, step: int = 4) -> list[tuple[int, ...]]:
    return [
        image.pixel(x, y) for y in range(0, image.height, step) for x in range(0, image.width, step)
    ]


@pytest.mark.parametrize("name", sorted(PAGES))
def test_page_renders_in_chromium_without_script_errors(tmp_path: Path, name: str) -> None:
    render, _ = PAGES[name]
    url = write_page(tmp_path, name, render())

    dom = dump_dom(tmp_path, url)

    assert 'data-rendered="ok"' in dom, "the page script did not finish cleanly"
    assert 'tabindex="0"' in dom  # the script made the sortable headers focusable
    assert "<svg" in dom


@pytest.mark.parametrize("name", sorted(PAGES))
def test_screenshot_is_a_full_size_rendered_page(tmp_path: Path, name: str) -> None:
    render, expected_colour = PAGES[name]
    url = write_page(tmp_path, name, render())
    screenshot = tmp_path / f"{name}.png"

    result = run_chromium(
        tmp_path,
        "screenshot-profile",
        f"--screenshot={screenshot}",
        f"--window-size={WINDOW[0]},{WINDOW[1]}",
        url,
    )

    assert result.returncode == 0, result.stderr[-2000:]
    assert screenshot.is_file()
    data = screenshot.read_bytes()
    assert read_size(data) == WINDOW
    assert len(data) > 60_000, f"suspiciously small screenshot ({len(data)} bytes)"
    pixels = sample_pixels(decode(data))
    ink = sum(1 for pixel in pixels if not close_to(pixel, (255, 255, 255), 6))
    assert ink > len(pixels) * 0.05, "the page is nearly blank"
    assert len(set(pixels)) > 100, "too few colours for a page of plots"
    assert sum(1 for pixel in pixels if close_to(pixel, expected_colour)) > 200


def test_a_script_error_is_reported_in_the_dom(tmp_path: Path) -> None:
    # The marker the tests above rely on must really turn to "error" when a script fails.
    broken = document("broken", "<p>text</p><script>notDefinedAnywhere();</script>")
    url = write_page(tmp_path, "broken", broken)

    dom = dump_dom(tmp_path, url)

    assert 'data-rendered="error"' in dom


def test_a_missing_browser_fails_with_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.setattr(os, "access", lambda path, mode: False)

    with pytest.raises(pytest.fail.Exception, match="run `make browser`"):
        chromium_binary()


def test_a_real_scenario_report_renders_with_every_plot(tmp_path: Path) -> None:
    # The sample above is hand-built; this report comes from a simulated run with a faulty seat.
    (tmp_path / "council.yaml").write_text(
        "name: Tiny\nseats: [{constituency: a, count: 4}, {constituency: b, count: 3}]\n"
        "categories: {budget: {rule: majority, window_ms: 2000}}\n"
    )
    (tmp_path / "tiny.yaml").write_text(
        "name: tiny\ncouncil: council.yaml\nseed: 2\n"
        "faulty: [{seats: [1], behaviours: [{kind: equivocate}]}]\n"
        "motions: [{generate: {count: 4, categories: [budget], every_ms: 100}}]\n"
    )
    report = run_scenario(load_scenario(tmp_path / "tiny.yaml"))
    assert report.passed and report.evidence, "the equivocating primary left evidence"
    url = write_page(tmp_path, "tiny", render_html(report))

    dom = dump_dom(tmp_path, url)

    assert 'data-rendered="ok"' in dom
    assert dom.count("<svg") >= 5, "timeline, latency, messages, bytes and evidence plots"
    screenshot = tmp_path / "tiny.png"
    result = run_chromium(
        tmp_path, "real-profile", f"--screenshot={screenshot}", "--window-size=1280,2400", url
    )
    assert result.returncode == 0, result.stderr[-2000:]
    pixels = sample_pixels(decode(screenshot.read_bytes()))
    assert sum(1 for pixel in pixels if close_to(pixel, SAFE_LINE)) > 200
