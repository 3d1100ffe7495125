"""Plotly charts that draw both in JupyterLab (plotly MIME type) and in the archived HTML (a div
drawn by the run's shared copy of plotly.js, which every archived page loads from ``assets/``), with no network."""

from __future__ import annotations

import json


def show_figure(fig, title: str | None = None) -> None:
    from IPython.display import display

    fig.update_layout(template="plotly_white", margin={"l": 60, "r": 20, "t": 50, "b": 40})
    html_div = fig.to_html(full_html=False, include_plotlyjs=False, default_height="420px", config={"displaylogo": False})
    label = title or (fig.layout.title.text if fig.layout.title and fig.layout.title.text else "chart")
    display({"application/vnd.plotly.v1+json": json.loads(fig.to_json()), "text/html": html_div, "text/plain": f"[chart: {label}]"}, raw=True)


def today_vs_previous_bars(frame, category: str, today: str, previous: str, title: str):
    """Grouped bars of a measure today and at the previous delivery, per category."""
    import plotly.graph_objects as go

    fig = go.Figure()
    fig.add_bar(name="previous delivery", x=frame[category], y=frame[previous].astype("float64"), marker_color="#b0bec5")
    fig.add_bar(name="today", x=frame[category], y=frame[today].astype("float64"), marker_color="#1565c0")
    fig.update_layout(title=title, barmode="group", yaxis_title="rows", legend={"orientation": "h", "y": -0.25})
    return fig
