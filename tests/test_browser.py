"""The archived HTML in a real browser (Playwright driving the system's headless Chromium, every
request that is not a local file aborted): the run's index page links to the report, the report's
plotly chart is drawn from the run's shared plotly.js and its code cells are hidden until asked for.
Skips without Chromium unless ``$BO_REQUIRE_BROWSER`` is set (CI), then fails."""

from __future__ import annotations

import json

from bo_lib.pipeline.html import render_notebook_html
from bo_lib.pipeline.index import render_run_index
from tests.browser import artifacts_dir, chromium, offline  # noqa: F401  (chromium: the fixture)
from tests.conftest import NOTEBOOKS

RUN_ID = "20261106T080000Z-brws"


def _archive(tmp_path):
    """A run folder as ``bo run`` leaves it, for one job: the index page and the intake report."""
    run_dir = tmp_path / "reports" / "2026-11-06" / RUN_ID
    (run_dir / "USEQ").mkdir(parents=True)
    render_notebook_html(NOTEBOOKS / "intake.ipynb", run_dir / "USEQ" / "intake.html", run_id=RUN_ID, notebook_sha256="0" * 64)
    job = {"job_id": "USEQ/intake", "notebook": "intake", "fund": "USEQ", "entity": None, "scope": "fund", "status": "ok", "error": None,
           "duration_seconds": 4.2, "results": {"exceptions": {"red": 1, "amber": 0, "green": 6}, "files_due": 11},
           "outputs": {"html": {"path": "USEQ/intake.html", "sha256": "0" * 64}, "ipynb": None}}
    manifest = {"run_id": RUN_ID, "business_date": "2026-11-06", "created": "2026-11-06T08:00:00Z", "code_version": "test",
                "jobs": [job], "summary": {"jobs": 1, "ok": 1, "failed": 0}, "outputs": {}}
    (run_dir / "manifest.json").write_text(json.dumps(manifest))
    (run_dir / "index.html").write_text(render_run_index(manifest), encoding="utf-8")
    return run_dir


def test_index_and_report_render_offline_chart_drawn_and_code_hidden(tmp_path, chromium):  # noqa: F811
    run_dir = _archive(tmp_path)
    shots = artifacts_dir()
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    blocked = offline(context)
    page = context.new_page()
    try:
        page.goto((run_dir / "index.html").as_uri())
        assert RUN_ID in page.title()
        assert "1 job: 1 ran, 0 failed" in page.inner_text("body")
        page.screenshot(path=str(shots / "archive-index.png"), full_page=True)

        page.click("a:text-is('report')")  # the index page's link to the job's report
        page.wait_for_url("**/USEQ/intake.html")
        # plotly replaces the placeholder div with an SVG plot only when the inlined plotly.js ran
        page.wait_for_selector(".main-svg", state="attached", timeout=30_000)
        dom = page.content()
        assert 'class="main-svg"' in dom
        text = page.inner_text("body")
        assert "USEQ: rows delivered on 2026-11-06 vs the previous delivery" in dom
        assert "Intake exceptions for USEQ on 2026-11-06: 1 red, 0 amber, 6 green" in text
        toggle = page.locator("#bo-toggle-code")
        assert toggle.inner_text() == "Show code"
        code = page.locator(".jp-CodeCell .jp-Cell-inputWrapper").first
        assert code.is_hidden()  # code hidden by default, outputs shown
        page.screenshot(path=str(shots / "archive-report.png"), full_page=False)
        toggle.click()
        assert code.is_visible() and toggle.inner_text() == "Hide code"
    finally:
        context.close()
    assert all(not url.startswith(("file:", "data:")) for url in blocked)  # only the network was refused
