"""Offline HTML rendering of executed report notebooks, for reviewers without network access.

nbconvert's ``lab`` template is extended so that the page loads nothing from the network: the
require.js, MathJax, mermaid and widget-manager blocks (CDN references) are emptied. The scripts a
report needs are not inlined but shared: plotly.js, the DataTables bundle and the JupyterLab style
sheets nbconvert would inline (``asset_files``) are written once into an ``assets/`` folder (once per run folder in a daily run, ``<run dir>/assets/``) and each page loads
them by a relative ``<script src>``, so a page opened from disk (``file://``) still works offline.
Charts travel in the notebook as a ``text/html`` div (``fig.to_html(include_plotlyjs=False)``) that
draws with that copy of plotly.js. Long report tables (``bo-table bo-interactive``, see
``report.display``) become DataTables (sort, search, paging), started by a small inline script.
Code cells are hidden by default behind a "Show code" toggle; their outputs stay. A sticky bar
names the page's title, the run id and the notebook's SHA-256 as recorded in the manifest.
"""

from __future__ import annotations

import functools
import html as html_escape
import os
import re
import warnings
from pathlib import Path

import nbformat

from bo_lib.pipeline.files import write_atomic, writing

PLOTLY_MIME = "application/vnd.plotly.v1+json"
ASSETS = "assets"  # the shared scripts' folder, beside the pages or at the top of a run folder
INTERACTIVE_TABLE = "bo-interactive"  # the class report.display gives a table DataTables should take

_TEMPLATE = r"""
{%- extends 'lab/index.html.j2' -%}
{%- block html_head_js -%}{%- endblock html_head_js -%}
{%- block jupyter_widgets -%}{%- endblock jupyter_widgets -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block html_head_css -%}
<style type="text/css">
body.bo-hide-code .jp-CodeCell .jp-Cell-inputWrapper { display: none; }
.bo-archive-bar { font: 12px/1.4 -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: #444;
  background: #f3f4f6; border-bottom: 1px solid #d1d5db; padding: 6px 12px; display: flex; gap: 16px;
  align-items: center; position: sticky; top: 0; z-index: 10; flex-wrap: wrap; }
.bo-archive-bar code { font-size: 11px; }
.bo-archive-bar .bo-page-title { font-weight: 600; color: #111; }
.bo-archive-bar button { font-size: 12px; padding: 2px 10px; cursor: pointer; }
div.dt-container { font-size: 13px; margin: 4px 0 12px; }
</style>
{%- for href in resources.bo_stylesheets %}
<link rel="stylesheet" type="text/css" href="{{ href }}">
{%- endfor %}
{%- for src in resources.bo_scripts %}
<script type="text/javascript" src="{{ src }}"></script>
{%- endfor %}
{%- endblock html_head_css -%}
{%- block body_header -%}
<body class="jp-Notebook bo-hide-code" data-jp-theme-light="true" data-jp-theme-name="JupyterLab Light">
<div class="bo-archive-bar">
  <button type="button" id="bo-toggle-code" onclick="var h=document.body.classList.toggle('bo-hide-code');this.textContent=h?'Show code':'Hide code';">Show code</button>
  <span class="bo-page-title">{{ resources.bo_title }}</span>
  <span>run <code>{{ resources.bo_run_id }}</code></span>
  <span>notebook SHA-256 <code>{{ resources.bo_notebook_sha256 }}</code></span>
</div>
<main>
{%- endblock body_header -%}
{%- block body_footer -%}
{%- if resources.bo_datatables %}
<script type="text/javascript">
(function () {
  function start() {
    var lib = window.boDataTables;
    if (!lib) { return; }
    document.querySelectorAll("table.bo-table.{{ resources.bo_interactive_class }}").forEach(function (table) {
      if (table.classList.contains("dataTable")) { return; }
      new lib.DataTable(table, {
        order: [], autoWidth: false, pageLength: 25,
        lengthMenu: [10, 25, 100, {label: "all", value: -1}],
        columnDefs: [{targets: "num", type: "num"}]
      });
    });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();
</script>
{%- endif %}
</main>
</body>
{%- endblock body_footer -%}
"""

# A guard for tests and reviews: any resource the browser would fetch from the network.
_NETWORK_REFERENCE = re.compile(r"<(?:script|link|img|iframe)\b[^>]*\b(?:src|href)\s*=\s*[\"']?(?:https?:)?//", re.IGNORECASE)


def network_references(page: str) -> list[str]:
    """The ``<script src>``/``<link href>``/... tags of a page that point at the network."""
    return [m.group(0) for m in _NETWORK_REFERENCE.finditer(page)]


@functools.cache
def _plotly() -> tuple[str, str]:
    """(file name, content) of plotly.js, named by its own version (not the Python package's)."""
    from plotly.offline import get_plotlyjs, get_plotlyjs_version

    return f"plotly-{get_plotlyjs_version()}.min.js", get_plotlyjs()


_ESM_EXPORT = re.compile(r"\bexport\s*\{([^}]*)\}\s*;?")
_ESM_IMPORT = re.compile(r"(?:^|[;}\n])\s*import(?:\s*[{*]|\s+\w+\s*(?:,|from\b))|import\.meta")


@functools.cache
def _datatables() -> tuple[tuple[str, str], tuple[str, str]]:
    """((js name, js), (css name, css)): DataTables from the bundle itables ships for its offline mode.

    That bundle is an ES module, and a browser refuses to load a module script from ``file://``.
    Its one ``export {...}`` statement is replaced by ``window.boDataTables = {...}`` and the whole
    wrapped in a strict function, which a plain ``<script src>`` loads from disk; the page then
    starts tables with ``new boDataTables.DataTable(table, options)`` (DataTables' own constructor,
    the module's default export)."""
    import itables

    folder = Path(itables.__file__).parent / "html"
    source = (folder / "dt_bundle.js").read_text(encoding="utf-8")
    exports = _ESM_EXPORT.findall(source)
    if len(exports) != 1 or _ESM_IMPORT.search(source):
        raise RuntimeError(f"itables {itables.__version__}: dt_bundle.js is not the single-export module expected")
    names = {}
    for item in exports[0].split(","):
        local, _, exported = (part.strip() for part in item.partition(" as "))
        names[exported or local] = local
    if "default" not in names:
        raise RuntimeError(f"itables {itables.__version__}: dt_bundle.js exports no default (DataTable)")
    names["DataTable"] = names.pop("default")
    body = _ESM_EXPORT.sub("", source)
    table = ",".join(f"{exported}:{local}" for exported, local in names.items())
    script = (f"/* DataTables, from itables {itables.__version__} (html/dt_bundle.js), as a classic script */\n"
              f"(function(){{\"use strict\";\n{body}\nwindow.boDataTables={{{table}}};}})();\n")
    version = itables.__version__
    return (f"datatables-itables-{version}.js", script), (f"datatables-itables-{version}.css", (folder / "dt_bundle.css").read_text(encoding="utf-8"))


_LAB_CSS = ("static/index.css", "static/theme-light.css")


@functools.cache
def _lab_css() -> tuple[tuple[str, str, str], ...]:
    """(template name, file name, content) of the JupyterLab style sheets nbconvert's ``lab``
    template inlines in every page (~250 kB); the page links the shared copy instead."""
    import nbconvert

    environment = _exporter().environment
    return tuple((name, f"nbconvert-{nbconvert.__version__}-lab-{Path(name).name}", environment.loader.get_source(environment, name)[0])
                 for name in _LAB_CSS)


def _link_lab_css(page: str, href: str) -> str:
    """Swap each style sheet nbconvert inlined (exactly as ``include_css`` writes it) for a link to
    its shared copy; a sheet not found as expected stays inline (the page is right, only bigger)."""
    for _name, file_name, content in _lab_css():
        inlined = f'<style type="text/css">\n{content}</style>'
        if inlined in page:
            page = page.replace(inlined, f'<link rel="stylesheet" type="text/css" href="{href}/{file_name}">', 1)
    return page


def asset_files() -> dict[str, str]:
    """Every shared asset a page may load: file name -> content."""
    plotly = _plotly()
    js, css = _datatables()
    return dict([plotly, js, css, *((file_name, content) for _name, file_name, content in _lab_css())])


def write_assets(folder: Path | str) -> list[Path]:
    """Write the shared assets into ``folder`` (made if missing); a file already there with the same
    content is left alone (so parallel renders and a sealed run's read-only copies are safe).
    Returns the assets' paths."""
    folder = Path(folder)
    with writing(folder):
        folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, content in asset_files().items():
        path = folder / name
        data = content.encode("utf-8")
        if not (path.is_file() and path.stat().st_size == len(data) and path.read_bytes() == data):
            write_atomic(path, data)
        paths.append(path)
    return paths


@functools.cache
def _exporter():
    from jinja2 import DictLoader
    from nbconvert import HTMLExporter

    return HTMLExporter(
        template_name="lab",
        extra_loaders=[DictLoader({"bo_offline.html.j2": _TEMPLATE})],
        template_file="bo_offline.html.j2",
    )


def has_plotly_output(notebook) -> bool:
    return any(
        PLOTLY_MIME in output.get("data", {})
        for cell in notebook.cells
        for output in cell.get("outputs", [])
    )


def has_interactive_table(notebook) -> bool:
    """Whether any output holds a report table marked for DataTables."""
    return any(
        INTERACTIVE_TABLE in "".join(output.get("data", {}).get("text/html", ""))
        for cell in notebook.cells
        for output in cell.get("outputs", [])
    )


def render_notebook_html(notebook_path: Path | str, html_path: Path | str, *, run_id: str, notebook_sha256: str,
                         title: str | None = None, assets_dir: Path | str | None = None) -> Path:
    """Render an executed notebook to an offline HTML page.

    ``title``: the page's ``<title>`` and the heading of its archive bar (default: the notebook's
    file name); ``assets_dir``: where the shared scripts are (written there if missing), referred
    to from the page by a relative path. Default: an ``assets/`` folder beside the page."""
    notebook_path, html_path = Path(notebook_path), Path(html_path)
    assets = Path(assets_dir) if assets_dir is not None else html_path.parent / ASSETS
    notebook = nbformat.read(str(notebook_path), as_version=4)
    title = title or notebook_path.stem
    notebook.metadata["title"] = title  # in memory only: the template's <title>
    write_assets(assets)
    href = Path(os.path.relpath(assets.resolve(), html_path.parent.resolve())).as_posix()
    plotly_js, _ = _plotly()
    (datatables_js, _), (datatables_css, _) = _datatables()
    plotly, datatables = has_plotly_output(notebook), has_interactive_table(notebook)
    resources = {
        "metadata": {"name": notebook_path.stem},
        "bo_title": html_escape.escape(title),
        "bo_run_id": html_escape.escape(run_id),
        "bo_notebook_sha256": notebook_sha256,
        "bo_scripts": [f"{href}/{name}" for name, wanted in ((plotly_js, plotly), (datatables_js, datatables)) if wanted],
        "bo_stylesheets": [f"{href}/{datatables_css}"] if datatables else [],
        "bo_datatables": datatables,
        "bo_interactive_class": INTERACTIVE_TABLE,
    }
    with warnings.catch_warnings():
        # recorded results are invisible by design; nbconvert would warn once per record
        warnings.filterwarnings("ignore", message=".*is not able to be represented.*")
        body, _ = _exporter().from_notebook_node(notebook, resources=resources)
    return write_atomic(html_path, _link_lab_css(body, href))
