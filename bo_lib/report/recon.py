"""Charts of the reconciliation report: open breaks by age bucket and by classification. Each
returns a plotly figure for ``bo_lib.report.show_figure`` (draws offline)."""

from __future__ import annotations

import pandas as pd

_BUCKET_COLOURS = {"0-1": "#90caf9", "2-5": "#ffb74d", "6-10": "#fb8c00", ">10": "#c62828"}


def ageing_chart(ageing: pd.DataFrame, title: str):
    """Stacked bars: open breaks per recon by age bucket (business days)."""
    import plotly.graph_objects as go

    fig = go.Figure()
    for bucket, colour in _BUCKET_COLOURS.items():
        if bucket in ageing:
            fig.add_bar(name=f"{bucket} business days", x=ageing["recon"].tolist(), y=ageing[bucket].astype("int64").tolist(), marker_color=colour)
    fig.update_layout(title=title, barmode="stack", xaxis_title="reconciliation", yaxis_title="open breaks",
                      legend={"orientation": "h", "y": -0.25})
    if not len(ageing) or int(ageing.drop(columns="recon").to_numpy().sum()) == 0:
        fig.add_annotation(text="no open breaks", showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper")
    return fig


def break_value_chart(summary: pd.DataFrame, base_currency: str, title: str):
    """Horizontal bars: absolute value of open breaks (base currency) per recon and classification."""
    import plotly.graph_objects as go

    labels = (summary["recon"] + ": " + summary["classification"]).tolist()
    fig = go.Figure(go.Bar(x=summary["abs_value_base"].astype("float64").tolist(), y=labels, orientation="h", marker_color="#1565c0",
                           text=[f"{n} break(s)" for n in summary["breaks"]], textposition="auto"))
    fig.update_layout(title=title, xaxis_title=f"absolute value ({base_currency})", yaxis={"autorange": "reversed"})
    if not len(summary):
        fig.add_annotation(text="no open breaks", showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper")
    return fig
