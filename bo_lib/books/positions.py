"""Positions rolled forward from the opening book: opening positions + trades + corporate
actions, on trade date or on settlement date, as of any date. Pure functions over DataFrames.

Bases:
- ``trade``: a trade counts from its trade date; a split or stock dividend changes the holding on
  its ex-date (the accounting view, what NAV uses).
- ``settlement``: a trade counts from its settlement date (contractual, or only the quantity the
  custodian reports settled when ``settled_quantity`` is given); events change the holding on their
  pay date (the custody view, what the position reconciliation compares).

Ratio events (SPLF, SPLR, DVSE, BONU) multiply the holding just before the event by
``ratio_new / ratio_old`` and drop fractions (paid as cash in lieu). Every movement is kept as a
row of the position's movements, so a reconciliation can show the rows behind a break.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

RATIO_EVENTS = ("SPLF", "SPLR", "DVSE", "BONU")
POSITION_KEYS = ["fund", "account", "security_id"]


def trade_movements(trades: pd.DataFrame, as_of: dt.date, basis: str = "trade") -> pd.DataFrame:
    """Signed quantity movements of trades effective on or before ``as_of``.

    Columns: fund, account, security_id, effective_date, quantity, source ("trade"), reference.
    """
    if basis not in ("trade", "settlement"):
        raise ValueError(f"basis must be 'trade' or 'settlement', got {basis!r}")
    if trades.empty:
        return pd.DataFrame(columns=POSITION_KEYS + ["effective_date", "quantity", "source", "reference"])
    date_col = "trade_date" if basis == "trade" else "settlement_date"
    quantity = trades["quantity"]
    if basis == "settlement" and "settled_quantity" in trades:
        quantity = trades["settled_quantity"].fillna(trades["quantity"])
    signed = quantity.where(trades["side"].eq("BUY"), -quantity)
    moves = pd.DataFrame({
        "fund": trades["fund"], "account": trades["account"], "security_id": trades["security_id"],
        "effective_date": pd.to_datetime(trades[date_col]), "quantity": signed.astype("float64"),
        "source": "trade", "reference": trades["trade_id"],
    })
    return moves[moves["effective_date"] <= pd.Timestamp(as_of)].reset_index(drop=True)


def roll_positions(opening_positions: pd.DataFrame, trades: pd.DataFrame, corporate_actions: pd.DataFrame | None, as_of: dt.date,
                   basis: str = "trade", event_movements: pd.DataFrame | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Positions per fund, account and security as of ``as_of``, and every movement behind them.

    ``event_movements``: movements of events booked per account (``books.notified``: units given
    up and credited, with ``cost`` and ``realised``), in the movements' columns. Returns
    ``(positions, movements)``; positions has fund, account, security_id, quantity (zero positions
    dropped); movements has the opening, trade and corporate-action rows with dates.
    """
    opening = pd.DataFrame({
        "fund": opening_positions["fund"], "account": opening_positions["account"], "security_id": opening_positions["security_id"],
        "effective_date": pd.NaT, "quantity": opening_positions["quantity"].astype("float64"), "source": "opening", "reference": "",
    })
    booked = [] if event_movements is None or event_movements.empty else [event_movements]
    movements = pd.concat([opening, trade_movements(trades, as_of, basis), *booked], ignore_index=True)
    movements["effective_date"] = pd.to_datetime(movements["effective_date"])
    events = _ratio_events(corporate_actions, as_of, basis)
    adjustments = []
    for event in events.itertuples():  # a handful of events: each needs the holding just before it
        before = movements[(movements["security_id"] == event.security_id)
                           & (movements["effective_date"].isna() | (movements["effective_date"] < event.event_date))]
        held = before.groupby(["fund", "account"], as_index=False)["quantity"].sum()
        held = held[held["quantity"] != 0]
        if held.empty:
            continue
        new = np.floor(held["quantity"] * event.ratio_new / event.ratio_old)
        adjustments.append(pd.DataFrame({
            "fund": held["fund"], "account": held["account"], "security_id": event.security_id, "effective_date": event.event_date,
            "quantity": new - held["quantity"], "source": f"corporate_action:{event.event_type}", "reference": event.event_id,
        }))
        movements = pd.concat([movements, adjustments[-1]], ignore_index=True)
    positions = movements.groupby(POSITION_KEYS, as_index=False)["quantity"].sum()
    positions = positions[positions["quantity"].abs() > 1e-9].reset_index(drop=True)
    return positions, movements.sort_values(POSITION_KEYS + ["effective_date"], na_position="first").reset_index(drop=True)


def _ratio_events(corporate_actions: pd.DataFrame | None, as_of: dt.date, basis: str) -> pd.DataFrame:
    cols = ["event_id", "event_type", "security_id", "event_date", "ratio_new", "ratio_old"]
    if corporate_actions is None or corporate_actions.empty:
        return pd.DataFrame(columns=cols)
    ev = corporate_actions[corporate_actions["event_type"].isin(RATIO_EVENTS)]
    if "event_status" in ev:
        ev = ev[ev["event_status"] != "CANC"]
    ev = ev.assign(event_date=pd.to_datetime(ev["ex_date"] if basis == "trade" else ev["pay_date"]))
    ev = ev[ev["event_date"] <= pd.Timestamp(as_of)]
    return ev.sort_values(["event_date", "event_id"])[cols].reset_index(drop=True)
