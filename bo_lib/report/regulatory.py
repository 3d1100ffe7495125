"""What the regulatory report shows and leaves in the archive: the 13F top-holdings chart, the
ownership chart against the 5%/10% lines, the filing documents saved in the job's archive folder
and linked from the report (relative links that work in the archived HTML)."""

from __future__ import annotations

import html
from pathlib import Path

import pandas as pd

from bo_lib.report.display import _display


def top_holdings_chart(rows: pd.DataFrame, title: str, top: int = 15):
    """Horizontal bars: the largest information-table rows by value (USD)."""
    import plotly.graph_objects as go

    shown = rows.head(top).iloc[::-1]
    labels = shown["name_of_issuer"] + " " + shown["title_of_class"] + shown["put_call"].map(lambda p: f" ({p})" if p else "")
    fig = go.Figure(go.Bar(x=shown["value"].astype("float64"), y=labels, orientation="h", marker_color="#1565c0",
                           text=shown["value"].map(lambda v: f"${v / 1e6:,.1f}M"), textposition="auto"))
    fig.update_layout(title=title, xaxis_title="value (USD)", height=max(360, 26 * len(shown) + 120))
    return fig


def ownership_chart(ownership: pd.DataFrame, security_ids: list[str], title: str, thresholds=(5.0, 10.0)):
    """Firm-wide ownership (% of shares outstanding) over time for the given securities, with the
    thresholds drawn."""
    import plotly.graph_objects as go

    fig = go.Figure()
    for security_id in security_ids:
        part = ownership[ownership["security_id"].eq(security_id)]
        if len(part):
            fig.add_scatter(x=part["date"], y=part["ownership_pct"], mode="lines+markers", name=f"{part['issuer_name'].iloc[0]} ({security_id})")
    for level in thresholds:
        fig.add_hline(y=level, line_dash="dash", line_color="#c62828", annotation_text=f"{level:g}%")
    fig.update_layout(title=title, yaxis_title="% of shares outstanding", legend={"orientation": "h", "y": -0.25})
    return fig


def save_documents(output_dir: str | Path, documents: dict[str, bytes | None]) -> list[Path]:
    """Write each document (file name -> bytes) into the job's archive folder; None is skipped."""
    folder = Path(output_dir)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, content in documents.items():
        if content is not None:
            path = folder / name
            path.write_bytes(content)
            written.append(path)
    return written


def show_document_links(paths: list[Path], relative_to: str | Path | None = None, note: str = "") -> None:
    """Links to archived documents, relative to the folder of the report's HTML."""
    if not paths:
        _display(f'<div class="bo-note">{html.escape(note or "no documents written")}</div>', note or "no documents written")
        return
    items = []
    for path in paths:
        href = Path(path).relative_to(relative_to).as_posix() if relative_to else Path(path).name
        items.append(f'<li><a href="{html.escape(href)}">{html.escape(Path(path).name)}</a> ({Path(path).stat().st_size:,} bytes)</li>')
    plain = "\n".join(str(p) for p in paths)
    _display(f"<ul>{''.join(items)}</ul>" + (f'<div class="bo-note">{html.escape(note)}</div>' if note else ""), plain)
