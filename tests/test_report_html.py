"""The archived HTML page itself: shared assets instead of inlined scripts, its title, and long
tables that sort and search offline in a real browser (headless Chromium, network off)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from bo_lib.pipeline.html import ASSETS, asset_files, network_references, render_notebook_html
from bo_lib.report import display

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium not installed (Debian: apt-get install chromium)")

TRADES = pd.DataFrame({"trade_id": [f"T{i:03d}" for i in range(40)], "amount": [(-1) ** i * 1000.0 * i for i in range(40)],
                       "rag": ["red", "green"] * 20, "detail": ["a reason that wraps " * 6] * 40})


def report_notebook(path: Path, *frames: tuple[pd.DataFrame, str], chart: bool = False) -> Path:
    """A notebook whose outputs are what ``show_table`` (and ``show_figure``) display, without a kernel."""
    shown: list[tuple[str, str]] = []
    original = display._display
    display._display = lambda html_text, plain: shown.append((display._CSS + display._TABLE_CSS + html_text, plain))
    try:
        for frame, title in frames:
            display.show_table(frame, title)
    finally:
        display._display = original
    notebook = nbformat.v4.new_notebook()
    for html_text, plain in shown:
        cell = nbformat.v4.new_code_cell("show_table(...)")
        cell.outputs = [nbformat.v4.new_output("display_data", data={"text/html": html_text, "text/plain": plain})]
        notebook.cells.append(cell)
    if chart:
        import plotly.graph_objects as go

        figure = go.Figure(go.Bar(x=["a", "b"], y=[1, 2]))
        cell = nbformat.v4.new_code_cell("show_figure(...)")
        cell.outputs = [nbformat.v4.new_output("display_data", data={
            "application/vnd.plotly.v1+json": figure.to_plotly_json(), "text/html": figure.to_html(full_html=False, include_plotlyjs=False)})]
        notebook.cells.append(cell)
    nbformat.write(notebook, str(path))
    return path


def test_assets_are_shared_not_inlined_and_written_beside_the_page_by_default(tmp_path):
    notebook = report_notebook(tmp_path / "nav.ipynb", (TRADES, "Trades"), chart=True)
    page_path = render_notebook_html(notebook, tmp_path / "nav.html", run_id="r1", notebook_sha256="0" * 64)
    page = page_path.read_text()
    assert len(page) < 150_000 and "* plotly.js v" not in page  # ~5 MB of plotly.js is not in the page
    assert sorted(p.name for p in (tmp_path / ASSETS).iterdir()) == sorted(asset_files())
    for src in re.findall(r'<(?:script[^>]*\bsrc|link[^>]*\bhref)="([^"]+)"', page):
        assert src.startswith("assets/") and (tmp_path / src).is_file(), src
    assert network_references(page) == []
    assert "<title>nav</title>" in page  # no title given: the notebook's name


def test_pages_of_a_run_link_the_run_folders_one_copy(tmp_path):
    run_dir = tmp_path / "run"
    for fund in ("USEQ", "GLBD"):
        (run_dir / fund).mkdir(parents=True)
        notebook = report_notebook(run_dir / fund / "nav.ipynb", (TRADES.head(3), "Trades"), chart=True)
        render_notebook_html(notebook, run_dir / fund / "nav.html", run_id="r1", notebook_sha256="0" * 64,
                             title=f"{fund} · nav · 2026-11-06", assets_dir=run_dir / "assets")
        page = (run_dir / fund / "nav.html").read_text()
        plotly = next(name for name in asset_files() if name.startswith("plotly-"))
        assert f'<script src="../assets/{plotly}"' in page
        assert "datatables" not in page.split("<body", 1)[0]  # no long table: no DataTables loaded
        assert f"<title>{fund} · nav · 2026-11-06</title>" in page
        assert f'<span class="bo-page-title">{fund} · nav · 2026-11-06</span>' in page
    assert [p for p in run_dir.rglob(ASSETS)] == [run_dir / "assets"]


def test_a_title_is_escaped(tmp_path):
    notebook = report_notebook(tmp_path / "x.ipynb", (TRADES.head(2), "Trades"))
    page = render_notebook_html(notebook, tmp_path / "x.html", run_id="r", notebook_sha256="0" * 64, title="A<b> · x").read_text()
    assert "<title>A&lt;b&gt; · x</title>" in page and "A<b>" not in page


# ------------------------------------------------------------------------------------------- browser

PROBE = """<script>
window.addEventListener("load", function () {
  var table = document.querySelector("table.dataTable");
  var api = new boDataTables.DataTable.Api(table);
  api.order([1, "asc"]).draw();
  document.body.setAttribute("data-probe", api.column(0, {order: "applied"}).data().toArray().slice(0, 3).join(","));
});
</script>"""


def rendered_dom(page: Path, profile: Path) -> str:
    result = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", f"--user-data-dir={profile}", "--proxy-server=127.0.0.1:9",
         "--virtual-time-budget=8000", "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


@needs_chromium
def test_a_long_table_sorts_and_searches_offline_and_a_short_one_stays_plain(tmp_path):
    (tmp_path / "USEQ").mkdir()
    notebook = report_notebook(tmp_path / "USEQ" / "nav.ipynb", (TRADES, "Trades"), (TRADES.head(5), "Five trades"))
    page = render_notebook_html(notebook, tmp_path / "USEQ" / "nav.html", run_id="r1", notebook_sha256="0" * 64,
                                title="USEQ · nav · 2026-11-06", assets_dir=tmp_path / "assets")
    dom = rendered_dom(page, tmp_path / "profile")  # no network: the proxy is a dead port
    assert dom.count('type="search"') == 1  # the long table's search box; the short table has none
    heads = [h for h in re.findall(r'<th [^>]*class="([^"]*)"', dom) if "dt-" in h]
    assert len(heads) == 4 and all("dt-orderable-asc" in h for h in heads)
    assert "Showing 1 to 25 of 40 entries" in dom
    assert '<th>trade_id</th><th class="num">amount</th>' in dom  # the five-row table is untouched
    # numbers sort as numbers (the cells hold "-39,000.00"): smallest first
    probed = page.with_name("probe.html")
    probed.write_text(page.read_text().replace("</body>", PROBE + "</body>"))
    dom = rendered_dom(probed, tmp_path / "profile")
    assert 'data-probe="T039,T037,T035"' in dom
