"""Charts of the settlement report: fails by reason and age, counterparty fail rates, the cash
ladder. Each returns a plotly figure for ``bo_lib.report.show_figure`` (draws offline)."""

from __future__ import annotations

import pandas as pd

from bo_lib.settlement.status import AGE_BUCKETS

_AGE_COLOURS = dict(zip(AGE_BUCKETS, ["#90caf9", "#64b5f6", "#ffb74d", "#fb8c00", "#e53935", "#8e0000"]))


def fails_by_reason_and_age(fails: pd.DataFrame, base_currency: str, title: str):
    """Stacked bars: unsettled value (base currency) of fails per reason code, by age bucket."""
    import plotly.graph_objects as go

    fig = go.Figure()
    for bucket in AGE_BUCKETS:
        part = fails[fails["age_bucket"].astype(str).eq(bucket)]
        if len(part):
            by_reason = part.groupby("reason_code")["unsettled_amount_base"].sum()
            fig.add_bar(name=f"{bucket} business days", x=by_reason.index.tolist(), y=by_reason.to_numpy(), marker_color=_AGE_COLOURS[bucket],
                        text=part.groupby("reason_code")["trade_id"].size().map(lambda n: f"{n} fail(s)").tolist())
    fig.update_layout(title=title, barmode="stack", xaxis_title="reason code", yaxis_title=f"unsettled value ({base_currency})",
                      legend={"orientation": "h", "y": -0.25})
    if not len(fails):
        fig.add_annotation(text="no fails", showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper")
    return fig


def counterparty_fail_rates(rates: pd.DataFrame, title: str):
    """Bars: fail rate on the intended settlement date per counterparty, with the counts."""
    import plotly.graph_objects as go

    fig = go.Figure()
    fig.add_bar(x=rates["counterparty"], y=rates["fail_rate_pct"].astype("float64"), marker_color="#1565c0",
                text=[f"{f} of {n}" for f, n in zip(rates["failed_on_due_date"], rates["instructions_due"])], textposition="outside")
    fig.update_layout(title=title, xaxis_title="counterparty", yaxis_title="failed on intended settlement date (%)")
    return fig


def cash_ladder_chart(ladder: pd.DataFrame, title: str):
    """Projected balance per cash account over the ladder days (one line per account), with the
    worst case if failing purchases settle dotted, and the zero line."""
    import plotly.graph_objects as go

    fig = go.Figure()
    for account, rows in ladder.groupby("account", sort=False):
        label = f"{rows['currency'].iat[0]} {account}"
        fig.add_scatter(x=rows["date"].astype(str), y=rows["projected_balance"], mode="lines+markers", name=label)
        if rows["at_risk_out"].lt(0).any():
            fig.add_scatter(x=rows["date"].astype(str), y=rows["worst_case_balance"], mode="lines", line={"dash": "dot"},
                            name=f"{label} if failing purchases settle")
    fig.add_hline(y=0, line_color="#c62828", line_width=1)
    fig.update_layout(title=title, xaxis_title="value date", yaxis_title="projected balance (account currency)",
                      legend={"orientation": "h", "y": -0.25})
    return fig
