"""Charts and views of the NAV report: NAV per share history (shadow and administrator), the NAV
explain waterfall, the cash in the NAV against the bank, the holdings struck at a flagged price."""

from __future__ import annotations

import pandas as pd


def nav_history_chart(shadow_vs_admin: pd.DataFrame, title: str):
    """Shadow NAV per share per class over time, the administrator's as dotted markers."""
    import plotly.graph_objects as go

    fig = go.Figure()
    for share_class, rows in shadow_vs_admin.groupby("share_class"):
        fig.add_scatter(x=rows["nav_date"], y=rows["shadow_nav_per_share"], mode="lines", name=f"class {share_class} shadow")
        fig.add_scatter(x=rows["nav_date"], y=rows["administrator_nav_per_share"], mode="markers", marker={"symbol": "circle-open"},
                        name=f"class {share_class} administrator")
    fig.update_layout(title=title, yaxis_title="NAV per share", legend={"orientation": "h", "y": -0.2})
    return fig


def explain_waterfall(steps: pd.DataFrame, title: str, currency: str):
    """Opening net assets, each explain component, residual, closing net assets."""
    import plotly.graph_objects as go

    fig = go.Figure(go.Waterfall(x=steps["step"], y=steps["amount"], measure=steps["measure"],
                                 text=[f"{v:,.0f}" for v in steps["amount"]], textposition="outside",
                                 connector={"line": {"color": "#90a4ae"}}))
    relative = steps[steps["measure"] == "relative"]["amount"]
    base = float(steps["amount"].iloc[0])
    span = max(abs(relative).sum(), 1.0)
    fig.update_yaxes(range=[base - 1.3 * span, base + 1.3 * span])
    fig.update_layout(title=title, yaxis_title=f"net assets ({currency})", showlegend=False)
    return fig


def position_labels(valuation: pd.DataFrame, securities: pd.DataFrame | None = None) -> dict[str, str]:
    """security_id -> what the position picker shows: the id, the security's name and ISIN (from the
    valuation frame's own ``name`` / ``isin`` columns, else from ``securities``, the master)."""
    ids = sorted(valuation["security_id"].dropna().astype(str).unique())
    known = pd.DataFrame({"security_id": ids})
    for source in (valuation, securities):
        if source is None or "security_id" not in source:
            continue
        extra = [c for c in ("name", "isin") if c in source and c not in known]
        if extra:
            lookup = source[["security_id", *extra]].astype({"security_id": str}).drop_duplicates("security_id")
            known = known.merge(lookup, on="security_id", how="left")
    labels = {}
    for row in known.itertuples(index=False):
        parts = [row.security_id] + [str(v) for v in (getattr(row, "name", None), getattr(row, "isin", None))
                                     if isinstance(v, str) and v and v != row.security_id]
        labels[row.security_id] = " · ".join(parts)
    return labels


def nav_explorer(class_history: pd.DataFrame, valuation: pd.DataFrame, interactive: bool, securities: pd.DataFrame | None = None) -> None:
    """Pick a share class, a position and a date range: the class's NAV history and the position's
    valuation over those dates. Static in scheduled runs (no one to click), never an error.
    ``securities`` (the master, ``inputs.securities``): each position named with its ISIN."""
    from bo_lib.report.display import show_message

    if not interactive:
        show_message("Explorer: interactive in JupyterLab (share class, position, date range); the archived report shows the tables above.")
        return
    from IPython.display import display

    display(nav_explorer_widget(class_history, valuation, securities))


def nav_explorer_widget(class_history: pd.DataFrame, valuation: pd.DataFrame, securities: pd.DataFrame | None = None):
    """The NAV explorer's widget (``nav_explorer``)."""
    import ipywidgets as widgets

    from bo_lib.report.display import show_table
    from bo_lib.report.explorer import CONTROL_LAYOUT, CONTROLS_LAYOUT, LABEL_STYLE

    labels = position_labels(valuation, securities)
    named = any(label != sid for sid, label in labels.items())
    dates = sorted(pd.to_datetime(class_history["nav_date"]).dt.date.unique())
    class_pick = widgets.Dropdown(options=sorted(class_history["share_class"].unique()), description="class", style=LABEL_STYLE,
                                  layout=CONTROL_LAYOUT)
    position_pick = widgets.Dropdown(options=[(label, sid) for sid, label in labels.items()], description="position", style=LABEL_STYLE,
                                     layout=CONTROL_LAYOUT | {"min_width": "420px"})
    span = widgets.SelectionRangeSlider(options=dates, index=(0, len(dates) - 1), description="dates", style=LABEL_STYLE,
                                        layout={"width": "640px"})
    out = widgets.Output()

    def redraw(*_):
        lo, hi = (pd.Timestamp(x) for x in span.value)
        out.clear_output()
        with out:
            nav = class_history[(class_history["share_class"] == class_pick.value) & class_history["nav_date"].between(lo, hi)]
            show_table(nav, f"class {class_pick.value}: NAV history", decimals={"shadow_nav_per_share": 4, "administrator_nav_per_share": 4})
            pos = valuation[(valuation["security_id"].astype(str) == position_pick.value) & valuation["nav_date"].between(lo, hi)]
            if named and "name" not in pos:  # the position's name and ISIN beside its id
                pos = pos.copy()
                pos.insert(pos.columns.get_loc("security_id") + 1, "security",
                           pos["security_id"].astype(str).map(lambda sid: labels.get(sid, sid).removeprefix(f"{sid} · ")))
            show_table(pos, f"{labels.get(position_pick.value, position_pick.value)}: valuation", decimals={"price": 4, "quantity": 0})

    for w in (class_pick, position_pick, span):
        w.observe(redraw, names="value")
    redraw()
    box = widgets.VBox([widgets.HBox([class_pick, position_pick], layout=CONTROLS_LAYOUT), span, out])
    box.add_class("bo-explorer")
    return box


def show_cash_in_nav(accounts: pd.DataFrame, items: pd.DataFrame, base_currency: str) -> None:
    """Per cash account the books' cash against the latest bank statement (with the check: book cash -
    reconciling items = bank balance), then each reconciling item, classified, with its NAV effect."""
    from bo_lib.report.display import show_table

    per_share = {c: 6 for c in items.columns if c.startswith("per_share_")}
    show_table(accounts, f"Cash in the NAV: books against the latest bank statement (account currency; base {base_currency})",
               decimals={"rate_to_base": 6},
               note="ties: book cash - reconciling items = bank balance; untraced: what no entry of the window explains")
    show_table(items, f"Reconciling items and their NAV effect (amount = books - bank; NAV effect in {base_currency} and per share)",
               decimals=per_share, empty="none: the books' cash is the bank's in every account")


def show_income_checks(coupons: pd.DataFrame, claims: pd.DataFrame) -> None:
    """Today's coupons against the interest their bond accrued for the period (and on the pay date,
    the custodian's payment against what is due on the holding of record), then the open market claims."""
    from bo_lib.report.display import show_table

    show_table(coupons, "Coupons recognised or paid today against their accrual (local currency)",
               decimals={"coupon_per_100_accrued": 6, "coupon_per_100_announced": 6, "entitled_nominal": 0},
               note="accrued entitlement = entitled nominal x rate x the period's year fraction by the bond's day count; "
                    "booked = income on the holding of record + market claims",
               empty="no coupon recognised or paid today")
    show_table(claims, "Market claims open: trades crossing a record date (positive: the counterparty owes the fund)",
               decimals={"holding": 0}, empty="none: no trade crosses a record date, every entitlement is paid to the fund")


def show_flagged_prices(flagged: pd.DataFrame, base_currency: str) -> None:
    """The holdings the NAV is struck at a price its own control flagged, with the fallback source's NAV effect."""
    from bo_lib.report.display import show_table

    decimals = {"price": 4, "fallback_price": 4, "quantity": 0} | {c: 4 for c in flagged.columns if c.startswith("per_share_")}
    show_table(flagged.drop(columns=["reason"], errors="ignore"),
               f"NAV struck at a flagged price: the fallback source's effect ({base_currency}, and per share)", decimals=decimals,
               note="a NAV struck at a flagged price is not approvable until a manual override resolves it",
               empty="none: no holding valued at a flagged price, or each resolved by a manual override")
