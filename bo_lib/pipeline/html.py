"""Offline HTML rendering of executed report notebooks, for reviewers without network access.

nbconvert's ``lab`` template is extended so that the page loads nothing from the network: the
require.js, MathJax, mermaid and widget-manager blocks (CDN references) are emptied, and when the
notebook holds plotly output, plotly.js is inlined once in the page head. Charts themselves travel
in the notebook as a ``text/html`` div (``fig.to_html(include_plotlyjs=False)``) that draws with
that inlined copy. Code cells are hidden by default behind a "Show code" toggle; their outputs stay.
A header line names the run id and the notebook's SHA-256 as recorded in the manifest.
"""

from __future__ import annotations

import functools
import html as html_escape
import re
import warnings
from pathlib import Path

import nbformat

from bo_lib.pipeline.files import write_atomic

PLOTLY_MIME = "application/vnd.plotly.v1+json"

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
  align-items: center; position: sticky; top: 0; z-index: 10; }
.bo-archive-bar code { font-size: 11px; }
.bo-archive-bar button { font-size: 12px; padding: 2px 10px; cursor: pointer; }
</style>
{%- if resources.bo_plotly_js %}
<script type="text/javascript">{{ resources.bo_plotly_js }}</script>
{%- endif %}
{%- endblock html_head_css -%}
{%- block body_header -%}
<body class="jp-Notebook bo-hide-code" data-jp-theme-light="true" data-jp-theme-name="JupyterLab Light">
<div class="bo-archive-bar">
  <button type="button" id="bo-toggle-code" onclick="var h=document.body.classList.toggle('bo-hide-code');this.textContent=h?'Show code':'Hide code';">Show code</button>
  <span>run <code>{{ resources.bo_run_id }}</code></span>
  <span>notebook SHA-256 <code>{{ resources.bo_notebook_sha256 }}</code></span>
</div>
<main>
{%- endblock body_header -%}
"""

# A guard for tests and reviews: any resource the browser would fetch from the network.
_NETWORK_REFERENCE = re.compile(r"<(?:script|link|img|iframe)\b[^>]*\b(?:src|href)\s*=\s*[\"']?(?:https?:)?//", re.IGNORECASE)


def network_references(page: str) -> list[str]:
    """The ``<script src>``/``<link href>``/... tags of a page that point at the network."""
    return [m.group(0) for m in _NETWORK_REFERENCE.finditer(page)]


@functools.cache
def _plotly_js() -> str:
    from plotly.offline import get_plotlyjs

    return get_plotlyjs()


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


def render_notebook_html(notebook_path: Path | str, html_path: Path | str, *, run_id: str, notebook_sha256: str) -> Path:
    """Render an executed notebook to a self-contained, offline HTML page next to it."""
    notebook = nbformat.read(str(notebook_path), as_version=4)
    resources = {
        "metadata": {"name": Path(notebook_path).stem},
        "bo_run_id": html_escape.escape(run_id),
        "bo_notebook_sha256": notebook_sha256,
        "bo_plotly_js": _plotly_js() if has_plotly_output(notebook) else "",
    }
    with warnings.catch_warnings():
        # recorded results are invisible by design; nbconvert would warn once per record
        warnings.filterwarnings("ignore", message=".*is not able to be represented.*")
        body, _ = _exporter().from_notebook_node(notebook, resources=resources)
    return write_atomic(Path(html_path), body)
