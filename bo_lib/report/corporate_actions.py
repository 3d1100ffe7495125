"""Views of the corporate-actions report: the golden record and what the custodians disagree on,
the diary as a timeline, elections with their deadlines, entitlements and claims, confirmations
against entitlements, the events the books have not booked. Column choices and decimals live here,
not in the notebook."""

from __future__ import annotations

import pandas as pd

from bo_lib.report.charts import show_figure
from bo_lib.report.display import show_message, show_table

EVENT_COLUMNS = ["event_id", "event_type", "mandatory_voluntary", "security_id", "isin", "ex_date", "record_date", "pay_date", "status",
                 "processing_status", "booked_on", "custodians", "accounts", "notified_on"]
OPTION_COLUMNS = ["event_id", "option_number", "option_type", "is_default", "currency", "gross_rate", "withholding_pct", "ratio_new",
                  "ratio_old", "price", "market_deadline", "pay_date"]
ELECTION_COLUMNS = ["status", "event_id", "event_type", "security_id", "account", "eligible", "instructed", "options", "default_option",
                    "warn_from", "internal_deadline", "market_deadline"]
ENTITLEMENT_COLUMNS = ["event_id", "event_type", "account", "kind", "trade_id", "counterparty", "option_number", "option_type",
                       "eligible_quantity", "currency", "cash_gross", "withholding_pct", "withholding_tax", "cash_net", "new_security_id",
                       "new_quantity", "fraction", "cash_in_lieu", "subscription_cost", "cost_removed", "cost_to_new", "pay_date"]
#: the rates, tax rates and pay dates of both sides are named in ``detail`` where they differ (the table stays readable)
CONFIRMATION_COLUMNS = ["status", "event_id", "event_type", "account", "currency", "entitled_quantity", "confirmed_balance", "entitled_net",
                        "posted_net", "net_difference", "entitled_new_quantity", "posted_quantity", "pay_date", "messages", "detail"]
_QUANTITIES = {c: 0 for c in ("eligible", "instructed", "eligible_quantity", "new_quantity", "entitled_quantity", "confirmed_balance",
                              "entitled_new_quantity", "posted_quantity", "quantity")}
_RATES = {"gross_rate": 6, "confirmed_rate": 6, "withholding_pct": 3, "confirmed_tax_pct": 3, "ratio_new": 4, "ratio_old": 4, "price": 4,
          "fraction": 4}


def show_golden_record(result) -> None:
    show_table(result.events.reindex(columns=EVENT_COLUMNS), "Events notified to the fund (the golden record)",
               empty="no event notified in the look-back window",
               note="status: agreed (every live notification gives the same terms), disputed (a term differs: see below), cancelled; "
                    "processing_status: COMP complete, PREU preliminary (terms not final); booked_on: the NAV date the books booked it")
    show_table(result.golden.reindex(columns=OPTION_COLUMNS), "Options and their terms", decimals=_RATES, empty="no options",
               note="a disputed term is left empty here; rates per unit held (coupons and redemptions per 100 nominal)")
    show_table(result.differences, "Terms the custodians' notifications disagree on", empty="none: every custodian notifies the same terms")
    show_table(result.changes, "Terms changed by a replacement notification (REPL)", empty="no replacement changed a term")


def election_commands(result) -> pd.Series:
    """Per election still open (open, due, overdue): the ``bo elect`` command that sends it (the
    analyst picks the option); empty where instructed or missed."""
    rows = result.elections
    if rows.empty:
        return pd.Series(dtype="str")
    command = "bo elect --fund " + result.fund + " --event " + rows["event_id"] + " --account " + rows["account"] + " --option <number>"
    return command.where(rows["status"].isin(("open", "due", "overdue")), "")


def show_elections(result) -> None:
    table = result.elections.reindex(columns=ELECTION_COLUMNS).assign(to_send=election_commands(result))
    show_table(table, "Elections: voluntary and choice events", decimals=_QUANTITIES,
               empty="no event needs an election",
               note="internal deadline: the market deadline less the fund's buffer (business days of the security's market); "
                    "units not instructed by the market deadline take the default option; to_send: the command that writes the "
                    "MT565 (checked against the options, deadlines and the eligible balance)")


def show_entitlements(result) -> None:
    show_table(result.entitlements.reindex(columns=ENTITLEMENT_COLUMNS), "Entitlements on the holding of record, and market claims",
               decimals=_QUANTITIES | _RATES, empty="no entitlement in the look-back window",
               note="holding: the settled holding at the record date (before it: projected with the trades settling by it); "
                    "market claim: a trade made cum and settling after the record date (positive: the counterparty owes the fund)")


def show_confirmations(result) -> None:
    show_table(result.confirmations.reindex(columns=CONFIRMATION_COLUMNS), "Confirmations (MT566) against entitlements",
               decimals=_QUANTITIES | _RATES, empty="nothing paid or due yet",
               note="net_difference = posted - entitled (every MT566 of the event and account counted); awaiting: the pay date has not passed")


def show_not_booked(result) -> None:
    show_table(result.not_booked, "Events due in the books and not booked", decimals=_QUANTITIES,
               empty="none: the books booked every event due")


def show_diary(result, horizon_days: int) -> None:
    """The diary: each date of the live events in the next business days, as a timeline and a table."""
    if result.diary.empty:
        show_message(f"Diary: nothing falls in the next {horizon_days} business days")
        return
    show_figure(diary_timeline(result.diary, f"{result.fund}: corporate-action diary, next {horizon_days} business days"))
    show_table(result.diary, f"Diary: the next {horizon_days} business days")


_MARKERS = {"ex-date": ("diamond", "#1565c0"), "record date": ("square", "#6a1b9a"), "pay date": ("circle", "#2e7d32"),
            "internal deadline": ("triangle-up", "#ef6c00"), "market deadline": ("x", "#c62828")}


def diary_timeline(diary: pd.DataFrame, title: str):
    """One line per event across its dates in the window, a marker per kind of date."""
    import plotly.graph_objects as go

    fig = go.Figure()
    labels = diary["event_id"] + " " + diary["event_type"] + " " + diary["security_id"]
    for event, rows in diary.assign(label=labels).groupby("label", sort=False):
        fig.add_scatter(x=rows["date"], y=[event] * len(rows), mode="lines", line={"color": "#b0bec5"}, showlegend=False, hoverinfo="skip")
    for what, (symbol, colour) in _MARKERS.items():
        rows = diary[diary["what"].eq(what)]
        if len(rows):
            fig.add_scatter(x=rows["date"], y=(rows["event_id"] + " " + rows["event_type"] + " " + rows["security_id"]), mode="markers",
                            marker={"symbol": symbol, "size": 11, "color": colour}, name=what,
                            hovertemplate="%{y}<br>" + what + " %{x|%Y-%m-%d}<extra></extra>")
    fig.update_layout(title=title, xaxis_title="date", yaxis={"autorange": "reversed"}, legend={"orientation": "h", "y": -0.2},
                      height=max(260, 60 + 40 * diary["event_id"].nunique()))
    return fig
