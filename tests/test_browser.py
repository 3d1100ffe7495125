"""The archived HTML in a real browser (headless Chromium, network off): the report's plotly chart
is drawn from the inlined plotly.js and the code cells are hidden until asked for."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from bo_lib.pipeline.html import render_notebook_html
from tests.conftest import NOTEBOOKS

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium not installed (Debian: apt-get install chromium)")


def rendered_dom(page: Path, profile: Path) -> str:
    result = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", f"--user-data-dir={profile}", "--proxy-server=127.0.0.1:9",
         "--virtual-time-budget=8000", "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def test_report_chart_draws_offline_and_code_is_hidden(tmp_path):
    page = tmp_path / "intake.html"
    render_notebook_html(NOTEBOOKS / "intake.ipynb", page, run_id="browser-test", notebook_sha256="0" * 64)
    dom = rendered_dom(page, tmp_path / "profile")
    # plotly replaces the placeholder div with an SVG plot only when plotly.js ran (no network: proxy is a dead port)
    assert 'class="main-svg"' in dom
    assert "USEQ: rows delivered on 2026-11-06 vs the previous delivery" in dom
    assert "Intake exceptions for USEQ on 2026-11-06: 1 red, 0 amber, 6 green" in dom
    assert "Show code" in dom
