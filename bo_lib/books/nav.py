"""The books' NAV of one business day, struck from the previous day's closing state and the day's
deliveries (never from the opening and every delivery since: a day costs the same in year three as
on day one).

For the NAV date D, from the state at the previous NAV date P:

1. book what the day brings: corporate actions not booked yet (splits and stock dividends on
   trade-date positions from their ex-date, on settled positions from their pay date; dividends and
   coupons as income from their ex-date; redemptions as a sale at the redemption price), the day's
   trades (average cost, realised P&L), subscriptions and redemptions, the cash ledger's movements;
2. value the trade-date positions at the fund's ranked prices and FX (``bo_lib.prices``,
   ``bo_lib.fx``), with accrued interest by each bond's day count;
3. build the balance sheet on P and D: investments, accrued interest, cash at the bank,
   receivables and payables of open trades, income receivable, capital dealt but not settled, fees
   payable; the pool's result of the day is its change, measured against what it held after P's
   dealing;
4. split that result across share classes pro rata to their gross assets, accrue each class's
   management fee on its previous net assets and its performance fee above the high-water mark,
   and strike ``NAV per share = round_half_up(net assets / units, nav_decimals)``; at the end of a
   performance period the accrued fee becomes payable (crystallised) and the high-water mark resets;
5. deal the day's orders at the register's units and amounts and roll the units forward.

Share classes in another currency than the base are refused (none is configured). All amounts are
float64 in base currency; NAV per share and units are rounded ROUND_HALF_UP at the fund's
decimals, net assets reported to cents.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from bo_lib.books import fees
from bo_lib.books import notified
from bo_lib.books.accruals import MARKET_CLAIM, income_entitlements
from bo_lib.books.entitlements import ENTITLEMENT_COLUMNS
from bo_lib.books.events import golden_record, instructions, live_notifications, notifications
from bo_lib.books.notified import NOTIFIED
from bo_lib.books.positions import roll_positions
from bo_lib.books.state import BookState, make_state, prune_applied_events
from bo_lib.books.valuation import cost_and_pnl, to_valuation_date, value_positions
from bo_lib.codes import CANCELLED_EVENT, EXPENSE_MOVEMENT_TYPES, INCOME_EVENTS, NOTIFIED_BOOKING_EVENTS, RATIO_EVENTS, REDEMPTION_EVENTS
from bo_lib.fx import rate_to_base
from bo_lib.money import half_up
from bo_lib.parameters import FundParameters
from bo_lib.prices import as_ns, select_prices, valuation_prices

#: the balance-sheet lines, in the order a statement of net assets shows them
BALANCE_SHEET_LINES = ["investments", "accrued_interest", "cash_at_bank", "securities_sold_receivable", "securities_purchased_payable",
                       "income_receivable", "market_claims", "subscriptions_receivable", "redemptions_payable", "fixed_fees_payable",
                       "management_fees_payable", "performance_fees_payable"]
#: fee payments in the cash ledger: F<yymm><fund><class> (FX: fixed fees), P<yymm><fund><class> (a crystallised performance fee)
MANAGEMENT_FEE_PREFIX, PERFORMANCE_FEE_PREFIX = "F", "P"
_FAR = pd.Timestamp("2200-01-01")  # "not by the NAV date": an item open beyond the grid


@dataclass
class DayInputs:
    """What a NAV date brings (read from the catalogue by ``bo_lib.books.inputs``)."""

    business_date: dt.date
    trades: pd.DataFrame  # the fund's OMS trades delivered today
    corporate_actions: pd.DataFrame  # today's feed: every live event
    capital_activity: pd.DataFrame  # orders dealt today
    cash_ledger: pd.DataFrame  # the books' cash movements of today's value date
    prices: pd.DataFrame  # the last deliveries' prices (all sources), today's included
    fx_rates: pd.DataFrame  # today's fixings (X -> USD)
    admin_nav: pd.DataFrame  # the administrator's NAV per class today
    price_overrides: pd.DataFrame | None = None
    ca_messages: pd.DataFrame | None = None  # the fund's MT564 / MT565 rows of the look-back window (``books.notified``)
    deliveries: list[int] = field(default_factory=list)  # delivery ids the day's figures come from


@dataclass
class NavResult:
    """One NAV date struck: the figures of the previous date (P) and of the day (D)."""

    fund: FundParameters
    valuation_dates: list[dt.date]  # [P, D]
    class_nav: pd.DataFrame  # nav_date, share_class, units, NAV per share, net assets, fees, HWM, dealing
    balance_sheet: pd.DataFrame  # nav_date, line, amount_base
    valuation: pd.DataFrame  # nav_date, account, security_id, quantity, price, source, market values, accrued interest
    chosen_prices: pd.DataFrame
    price_adjustments: pd.DataFrame | None  # split / dividend factors of the day (the report's price checks)
    fx: pd.DataFrame
    income: pd.DataFrame  # income entitlements open at P or recognised today
    pool_flows: pd.DataFrame  # nav_date, market, fx, income, expenses, pnl (fund level, base)
    accruals: pd.DataFrame  # nav_date, accrual, share_class, opening, accrued, paid, closing
    dealing: pd.DataFrame  # today's orders re-dealt at the shadow NAV per share
    positions: pd.DataFrame  # D: quantity, average cost, realised / unrealised P&L
    ledger_suspense: pd.DataFrame  # today's cash-ledger movements the books cannot attribute
    cash: pd.DataFrame  # nav_date, currency, cash_at_bank (local)
    booked_events: pd.DataFrame  # the corporate actions booked today, and on which basis
    notes: list[str] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------
# step 1: what the day books


def events_to_book(events: pd.DataFrame, applied: pd.DataFrame, business_date: dt.date, opened_on: dt.date | None) -> pd.DataFrame:
    """The feed's events the books have not booked yet and that are due by ``business_date``, one
    row per event and basis: ``trade`` (ratio events from ex-date), ``settlement`` (ratio events from
    pay date), ``income`` (dividends and coupons from ex-date), ``redemption`` (from ex-date). Events
    going ex on or before the opening are in the opening book. A cancelled event is never booked."""
    if events.empty or not (pd.to_datetime(events["ex_date"]) <= pd.Timestamp(business_date)).any():
        return events.iloc[0:0].assign(basis=pd.Series(dtype="str"))
    live = events[events["event_status"].ne(CANCELLED_EVENT)]
    if opened_on is not None:
        live = live[pd.to_datetime(live["ex_date"]) > pd.Timestamp(opened_on)]
    day = pd.Timestamp(business_date)
    done = set(zip(applied["event_id"], applied["basis"])) if len(applied) else set()
    kinds = [("trade", RATIO_EVENTS, "ex_date"), ("settlement", RATIO_EVENTS, "pay_date"), ("income", INCOME_EVENTS, "ex_date"),
             ("redemption", REDEMPTION_EVENTS, "ex_date")]
    parts = []
    for basis, types, due in kinds:
        rows = live[live["event_type"].isin(types) & (pd.to_datetime(live[due]) <= day)]
        rows = rows[[(e, basis) not in done for e in rows["event_id"]]]
        parts.append(rows.assign(basis=basis))
    out = pd.concat(parts, ignore_index=True)
    return out.drop_duplicates(["event_id", "basis"]).reset_index(drop=True)


def redemption_trades(redemptions: pd.DataFrame, positions: pd.DataFrame, securities: pd.DataFrame, fund_code: str) -> pd.DataFrame:
    """A redemption booked as the sale of the whole holding at the redemption price (``gross_rate``
    per 100 nominal), settling on the pay date: one synthetic trade per account, id ``<event>:<account>``."""
    from bo_lib.books.state import FRAMES

    cols = list(FRAMES["open_trades"])
    if redemptions.empty or positions.empty:
        return pd.DataFrame(columns=cols)
    held = positions[positions["security_id"].isin(redemptions["security_id"]) & positions["quantity"].ne(0)]
    out = held.merge(redemptions[["event_id", "security_id", "isin", "currency", "gross_rate", "ex_date", "pay_date"]], on="security_id")
    if out.empty:
        return pd.DataFrame(columns=cols)
    multiplier = out["security_id"].map(securities.set_index("security_id")["price_multiplier"]).astype("float64").fillna(1.0)
    gross = half_up(out["quantity"] * out["gross_rate"] * multiplier, 2)
    trades = pd.DataFrame({
        "trade_id": out["event_id"] + ":" + out["account"], "fund": fund_code, "account": out["account"], "security_id": out["security_id"],
        "isin": out["isin"], "side": "SELL", "quantity": out["quantity"], "price": out["gross_rate"], "currency": out["currency"],
        "gross_amount": gross, "accrued_interest": 0.0, "commission": 0.0, "fees": 0.0, "net_amount": gross,
        "trade_date": pd.to_datetime(out["ex_date"]), "settlement_date": pd.to_datetime(out["pay_date"]), "broker_id": "",
        "origin": "redemption"})
    return trades[cols]


def _as_of(events: pd.DataFrame, day: pd.Timestamp) -> pd.DataFrame:
    """Events booked today take effect today on the books' grid, whenever they went ex or paid."""
    return events.assign(ex_date=day, pay_date=day)


# ---------------------------------------------------------------------------------------------
# step 2-3: valuation and the balance sheet on P and D


def _grid(previous: dt.date, business_date: dt.date) -> tuple[list[dt.date], pd.DatetimeIndex]:
    dates = [previous, business_date]
    return dates, pd.DatetimeIndex(as_ns(pd.Series(dates)))


def _on_grid(dates: pd.Series, grid: list[dt.date]) -> pd.Series:
    """P for what happened by P, D for what happens by D, beyond the grid for later dates."""
    return to_valuation_date(dates, grid + [_FAR.date()])


def _grid_sum(frame: pd.DataFrame, column: str, value: str, index: pd.DatetimeIndex, currencies: list[str]) -> np.ndarray:
    """Sum of ``value`` per grid date (rows of ``index``; dates beyond it are left out) and currency."""
    out = np.zeros((len(index), len(currencies)))
    if frame.empty:
        return out
    row = pd.Index(index).get_indexer(pd.to_datetime(frame[column]).astype("datetime64[ns]"))
    col = pd.Index(currencies).get_indexer(frame["currency"])
    keep = (row >= 0) & (col >= 0)
    np.add.at(out, (row[keep], col[keep]), frame[value].to_numpy(dtype="float64", na_value=0.0)[keep])
    return out


def _by_currency(frame: pd.DataFrame, start: str, value: str, until: str | None, index: pd.DatetimeIndex, currencies: list[str]) -> pd.DataFrame:
    """Sum of ``value`` per grid date and currency: open from ``start`` (and until ``until``, exclusive)."""
    open_ = np.cumsum(_grid_sum(frame, start, value, index, currencies), axis=0)
    if until is not None:
        open_ -= np.cumsum(_grid_sum(frame, until, value, index, currencies), axis=0)
    return pd.DataFrame(open_, index=index, columns=currencies)


def _on_day(frame: pd.DataFrame, column: str, value: str, index: pd.DatetimeIndex, currencies: list[str]) -> pd.DataFrame:
    return pd.DataFrame(_grid_sum(frame, column, value, index, currencies), index=index, columns=currencies)


def _fx_on_grid(previous: BookState, fx_rates: pd.DataFrame, base: str, currencies: list[str], index: pd.DatetimeIndex,
                notes: list[str]) -> pd.DataFrame:
    """Rates to base on P (the previous state's) and D (today's fixings; a missing one carried from P)."""
    before = dict(zip(previous.fx["currency"], previous.fx["rate_to_base"]))
    today = rate_to_base(pd.Series(currencies), fx_rates, base).to_numpy() if len(fx_rates) else np.full(len(currencies), np.nan)
    rows = []
    for ccy, rate_d in zip(currencies, today):
        rate_p = 1.0 if ccy == base else before.get(ccy, np.nan)
        rate_d = 1.0 if ccy == base else rate_d
        if pd.isna(rate_d) and pd.notna(rate_p):
            notes.append(f"no {ccy} fixing today: the previous rate {rate_p:.6f} is carried forward")
            rate_d = rate_p
        if pd.isna(rate_p):
            rate_p = rate_d
        rows += [(index[0], ccy, float(rate_p)), (index[1], ccy, float(rate_d))]
    return pd.DataFrame(rows, columns=["rate_date", "currency", "rate_to_base"])


def _valuation(positions: pd.DataFrame, chosen: pd.DataFrame, fx: pd.DataFrame, securities: pd.DataFrame, day: pd.Timestamp,
               fund_code: str) -> pd.DataFrame:
    """Market value and accrued interest of the day's positions (the previous close's are in the state)."""
    held = positions[positions["quantity"].abs() > 1e-9].assign(nav_date=day, fund=fund_code)[["nav_date", "fund", "account", "security_id", "quantity"]]
    prices = valuation_prices(chosen, held[["nav_date", "security_id"]].rename(columns={"nav_date": "price_date"}), [day])
    return value_positions(held, prices, fx[fx["rate_date"].eq(day)], securities)


def _revalued(previous: BookState, fx: pd.DataFrame, securities: pd.DataFrame, day: pd.Timestamp, fund_code: str) -> pd.DataFrame:
    """The previous close's value per currency from its positions and prices (a state written before
    states kept it)."""
    held = previous.positions.assign(nav_date=day, fund=fund_code)[["nav_date", "fund", "account", "security_id", "quantity"]]
    prices = previous.prices.assign(price_date=day, carried_forward=False, is_override=False, sources_delivered=0, secondary_price=np.nan)
    valued = value_positions(held, prices, fx[fx["rate_date"].eq(day)], securities)
    return valued.groupby("currency", as_index=False)[["market_value_local", "accrued_interest_local"]].sum().assign(nav_date=day)


@dataclass
class NotifiedBookings:
    """What the day books of the events booked from the notifications (``books.notified``)."""

    events: pd.DataFrame  # the events booked today (entitlements worked out), basis ``notified``
    trade_movements: pd.DataFrame
    settled_movements: pd.DataFrame
    cash_trades: pd.DataFrame
    income: pd.DataFrame
    later: pd.DataFrame  # the bookings due after the day (the state's ``event_bookings``)
    notes: list[str]


def book_notified_events(previous: BookState, day: DayInputs, securities: pd.DataFrame, fund: FundParameters,
                         opened_on: dt.date | None) -> NotifiedBookings:
    """The notified events due today, their entitlements on the previous close, and the bookings
    of the day (theirs and the earlier events' due today), by the rules of ``books.notified``."""
    ts = pd.Timestamp(day.business_date)
    pending, income, notes = previous.event_bookings, pd.DataFrame(), []
    events = pd.DataFrame(columns=["event_id", "event_type", "security_id", "ex_date", "pay_date"])
    messages = day.ca_messages
    if messages is not None and len(messages):  # only the events the books book from notices (the golden record is per event)
        booking = messages.loc[messages["message_type"].eq("564") & messages["event_type"].isin(NOTIFIED_BOOKING_EVENTS), "corporate_reference"]
        messages = messages[messages["corporate_reference"].isin(set(booking))]
    if messages is not None and len(messages):
        golden = golden_record(live_notifications(notifications(messages)), securities)
        events, options = notified.events_due(golden, securities, previous.applied_events, day.business_date, opened_on)
        if len(events):
            events, entitled, held = _notified_entitlements(events, options, previous, day, messages, securities, fund)
            pending = pd.concat([f for f in (pending, notified.bookings(entitled, events)) if len(f)] or [pending], ignore_index=True)
            income = notified.income(entitled, events, ts)
            notes += held
    due, later = notified.split_due(pending, ts)
    code = fund.fund_code
    on_trade_date = pd.concat([notified.position_movements(due, notified.TRADE, code), notified.position_movements(due, notified.CASH, code)],
                              ignore_index=True)
    return NotifiedBookings(events.assign(basis=NOTIFIED), on_trade_date, notified.position_movements(due, notified.SETTLEMENT, code),
                            notified.cash_trades(due, code, securities.set_index("security_id")["isin"], ts), income, later, notes)


def _notified_entitlements(events: pd.DataFrame, options: pd.DataFrame, previous: BookState, day: DayInputs, messages: pd.DataFrame,
                           securities: pd.DataFrame, fund: FundParameters) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """(the events booked, their entitlements, notes of the events held back): an event the rules
    cannot work out (a price missing for its cash in lieu or its cost split, a term missing) is
    not booked today and named; the corporate-actions control shows it as not booked."""
    holdings, claims = notified.holdings_of_record(events, previous.settled_positions, previous.open_trades, fund.fund_code)
    latest = day.prices.sort_values("price_date").drop_duplicates("security_id", keep="last")[["security_id", "price"]] if len(day.prices) else None
    prices = pd.concat([previous.prices[["security_id", "price"]], *([latest] if latest is not None else [])]).drop_duplicates("security_id", keep="last")
    instructed = instructions(messages)
    booked, frames, notes = [], [], []
    for event in events.itertuples():
        one = events["event_id"].eq(event.event_id)
        try:
            frames.append(notified.event_entitlements(events[one], options[options["event_id"].eq(event.event_id)], holdings, claims, instructed,
                                                      previous.cost_basis, prices, securities, fund.withholding_tax_pct, fund.fund_code))
            booked.append(event.event_id)
        except (ValueError, ArithmeticError, KeyError) as exc:  # a term or a price missing, a ratio of 0, a security unknown
            notes.append(f"{event.event_type} {event.event_id} on {event.security_id} not booked from the notifications: {exc}")
    frames = [f for f in frames if len(f)]
    entitled = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=ENTITLEMENT_COLUMNS)
    return events[events["event_id"].isin(booked)].reset_index(drop=True), entitled, notes


# ---------------------------------------------------------------------------------------------
# the strike


def strike_day(previous: BookState, day: DayInputs, fund: FundParameters, securities: pd.DataFrame,
               next_nav_date: dt.date | None = None) -> tuple[BookState, NavResult]:
    """The state at the close of ``day.business_date`` and the day's NAV figures, from the state at
    the close of the previous NAV date (see the module doc)."""
    base = fund.base_currency
    foreign = [c.code for c in fund.share_classes if c.currency != base]
    if foreign:
        raise ValueError(f"{fund.fund_code}: share classes {foreign} are not in the base currency {base} (not supported yet)")
    d = day.business_date
    grid, index = _grid(previous.business_date, d)
    ts = index[1]
    notes: list[str] = []
    opened_on = previous.fund_balances["opened_on"].iloc[0] if "opened_on" in previous.fund_balances and len(previous.fund_balances) else None
    opened_on = pd.Timestamp(opened_on).date() if opened_on is not None and pd.notna(opened_on) else None

    # --- 1. what the day books ------------------------------------------------------------------
    todo = events_to_book(day.corporate_actions, previous.applied_events, d, opened_on)
    from_notices = book_notified_events(previous, day, securities, fund, opened_on)
    notes += from_notices.notes
    redemptions = redemption_trades(todo[todo["basis"].eq("redemption")], previous.positions, securities, fund.fund_code)
    todays_trades = pd.concat([f for f in (day.trades.assign(origin="trade"), redemptions, from_notices.cash_trades) if len(f)] or [day.trades.assign(origin="trade")],
                              ignore_index=True)
    positions, movements = roll_positions(previous.positions.assign(fund=fund.fund_code), todays_trades,
                                          _as_of(todo[todo["basis"].eq("trade")], ts), d, basis="trade", event_movements=from_notices.trade_movements)
    settling = pd.concat([previous.open_trades, todays_trades], ignore_index=True)
    settling = settling[pd.to_datetime(settling["settlement_date"]) <= ts]
    settled, _ = roll_positions(previous.settled_positions.assign(fund=fund.fund_code), settling,
                                _as_of(todo[todo["basis"].eq("settlement")], ts), d, basis="settlement",
                                event_movements=from_notices.settled_movements)
    cost = cost_and_pnl(previous.cost_basis, movements, todays_trades)

    # --- 2. prices, FX, valuation on P and D ------------------------------------------------------
    held_ids = set(positions["security_id"])  # only what is held needs a price (and its recent history)
    # the delivered prices, and the previous valuation's for what the window no longer holds (a
    # price carried forward): a delivered price is never counted twice as its own second source
    history = pd.concat([day.prices[day.prices["security_id"].isin(held_ids)],
                         previous.prices.assign(price_date=previous.prices["price_as_of"])], ignore_index=True)
    history = history.assign(price_date=as_ns(history["price_date"])).drop_duplicates(["price_date", "security_id", "source"], keep="first")
    chosen = select_prices(history[history["security_id"].isin(held_ids)], securities, fund.pricing.hierarchy, day.price_overrides)
    held_ccy = set(securities.loc[securities["security_id"].isin(pd.concat([positions["security_id"], previous.positions["security_id"]])),
                                  "currency"]) | set(previous.valuation["currency"])
    currencies = sorted(held_ccy | set(previous.cash["currency"]) | set(day.cash_ledger["currency"]) | {base})
    fx = _fx_on_grid(previous, day.fx_rates, base, currencies, index, notes)
    valuation = _valuation(positions, chosen, fx, securities, ts, fund.fund_code)

    # --- income, trades, capital and cash on the grid ---------------------------------------------
    # entitlement: the trade-date holding at the previous close (an event the books learn late
    # included); paid on the holding of record, with market claims for the trades crossing it
    entitled = income_entitlements(todo[todo["basis"].eq("income")], previous.positions.assign(fund=fund.fund_code, effective_date=pd.NaT),
                                   fund.fund_code, securities, fund.withholding_tax_pct, [d],
                                   pending_trades=pd.concat([previous.open_trades[previous.open_trades["origin"].ne(notified.EVENT_ORIGIN)], day.trades],
                                                            ignore_index=True)).assign(recognised_on=ts)
    entitled = pd.concat([entitled, from_notices.income], ignore_index=True) if len(from_notices.income) else entitled
    income = pd.concat([previous.open_income.assign(recognised_on=index[0]), entitled], ignore_index=True)
    income["pay_on"] = _on_grid(income["pay_date"], grid)
    trades = pd.concat([previous.open_trades, todays_trades], ignore_index=True)
    trades["trade_on"] = _on_grid(trades["trade_date"], grid)
    trades["settle_on"] = _on_grid(trades["settlement_date"], grid)
    sign = np.where(trades["side"].eq("BUY"), 1.0, -1.0)
    trades["gross_cashflow"] = -sign * trades["gross_amount"]
    trades["interest_cashflow"] = -sign * trades["accrued_interest"]
    trades["costs"] = trades["commission"] + trades["fees"]
    capital = pd.concat([previous.open_capital, dealt_orders(day.capital_activity)], ignore_index=True)
    capital["deal_on"] = _on_grid(capital["dealing_date"], grid)
    capital["settle_on"] = _on_grid(capital["settlement_date"], grid)
    capital["signed_amount"] = np.where(capital["order_type"].eq("SUB"), 1.0, -1.0) * capital["amount"]
    capital["signed_units"] = np.where(capital["order_type"].eq("SUB"), 1.0, -1.0) * capital["units"]
    ledger = day.cash_ledger.assign(value_on=ts)
    cash = _cash_by_account(previous.cash, day.cash_ledger)

    # --- 3. the balance sheet of the common pool, local per currency ------------------------------
    # the previous close's value per currency is the state's; the day's from the day's valuation
    before = previous.valuation.assign(nav_date=index[0]) if len(previous.valuation) or previous.positions.empty else \
        _revalued(previous, fx, securities, index[0], fund.fund_code)
    mv = _on_day(before, "nav_date", "market_value_local", index, currencies) + _on_day(valuation, "nav_date", "market_value_local", index, currencies)
    ai = _on_day(before, "nav_date", "accrued_interest_local", index, currencies) + _on_day(valuation, "nav_date", "accrued_interest_local", index, currencies)
    opening_cash = previous.cash.groupby("currency")["balance"].sum().reindex(currencies).fillna(0.0)
    bank = pd.DataFrame(0.0, index=index, columns=currencies).add(opening_cash, axis=1) + _by_currency(ledger, "value_on", "amount", None, index, currencies)
    sold, bought = trades[trades["side"].eq("SELL")], trades[trades["side"].eq("BUY")]
    lines_local = {
        "investments": mv, "accrued_interest": ai, "cash_at_bank": bank,
        "securities_sold_receivable": _by_currency(sold, "trade_on", "net_amount", "settle_on", index, currencies),
        "securities_purchased_payable": -_by_currency(bought, "trade_on", "net_amount", "settle_on", index, currencies),
        "income_receivable": _by_currency(income[income["kind"].ne(MARKET_CLAIM)], "recognised_on", "net_amount", "pay_on", index, currencies),
        "market_claims": _by_currency(income[income["kind"].eq(MARKET_CLAIM)], "recognised_on", "net_amount", "pay_on", index, currencies),
        "subscriptions_receivable": _by_currency(capital[capital["order_type"].eq("SUB")], "deal_on", "amount", "settle_on", index, currencies),
        "redemptions_payable": -_by_currency(capital[capital["order_type"].eq("RED")], "deal_on", "amount", "settle_on", index, currencies),
    }
    local_total = sum(lines_local.values())
    to_base = pd.DataFrame(fx["rate_to_base"].to_numpy().reshape(len(currencies), 2).T, index=index, columns=currencies)

    def base_total(frame: pd.DataFrame) -> pd.Series:
        return (frame * to_base).sum(axis=1)

    capital_today = float(capital.loc[capital["deal_on"].eq(ts), "signed_amount"].sum())
    fee_paid = fee_payments(day.cash_ledger, fund.fund_code)
    expenses_paid = day.cash_ledger[day.cash_ledger["movement_type"].isin(EXPENSE_MOVEMENT_TYPES)]

    # --- the day's flows of the common pool (local, then at P's FX), for the explain --------------
    today_trades = trades[trades["trade_on"].eq(ts)]
    gross_cf = _on_day(today_trades, "trade_on", "gross_cashflow", index, currencies)
    interest_cf = _on_day(today_trades, "trade_on", "interest_cashflow", index, currencies)
    costs = _on_day(today_trades, "trade_on", "costs", index, currencies)
    income_today = _on_day(entitled, "recognised_on", "net_amount", index, currencies)
    bank_charges = _on_day(expenses_paid.assign(value_on=ts), "value_on", "amount", index, currencies)
    pre_dealing = local_total.copy()
    pre_dealing[base] = pre_dealing[base] - pd.Series([0.0, capital_today], index=index)
    prev_fx = to_base.shift()
    flows_d = {
        "market": float(((mv.diff() + gross_cf) * prev_fx).sum(axis=1).iloc[1]),
        "fx": float((pre_dealing * (to_base - prev_fx)).sum(axis=1).iloc[1]),
        "income": float(((ai.diff() + interest_cf + income_today) * prev_fx).sum(axis=1).iloc[1]),
        "transaction_costs": -float((costs * prev_fx).sum(axis=1).iloc[1]),
        "bank_charges": float((bank_charges * prev_fx).sum(axis=1).iloc[1]),
    }
    pool_assets = base_total(local_total)

    # --- 4-5. share classes: split, fees, NAV per share, dealing ------------------------------------
    classes, class_rows, accrual_rows, flow = _strike_classes(previous, fund, d, next_nav_date, pool_assets, capital, capital_today,
                                                              fee_paid, flows_d, index)
    class_nav = pd.DataFrame(class_rows)
    class_nav["net_assets"] = half_up(class_nav["net_assets"], 2)
    class_nav["units_outstanding"] = half_up(class_nav["units_outstanding"], fund.unit_decimals)
    pool_flows = pd.DataFrame([flow])
    pool_flows["residual"] = pool_flows["pnl"] - pool_flows[["market", "fx", "income", "expenses"]].sum(axis=1)

    # --- outputs: balance sheet, positions, dealing, suspense ---------------------------------------
    sheet = pd.DataFrame({name: base_total(frame) for name, frame in lines_local.items()})
    sheet["fixed_fees_payable"] = -pd.Series([previous.fixed_fees_payable, flow["fixed_fees_payable"]], index=index)
    by_date = class_nav.groupby("nav_date")
    sheet["management_fees_payable"] = -by_date["management_fee_accrued"].sum().reindex(index)
    sheet["performance_fees_payable"] = -(by_date["performance_fee_accrued"].sum() + by_date["performance_fee_payable"].sum()).reindex(index)
    balance_sheet = sheet.rename_axis("nav_date").reset_index().melt(id_vars="nav_date", var_name="line", value_name="amount_base")
    final = valuation[valuation["nav_date"].eq(ts)]
    position_table = _position_table(final, cost)
    dealing = redeal(capital[capital["deal_on"].eq(ts)], class_nav, fund)
    suspense = _suspense(day.cash_ledger, trades, capital, day.corporate_actions, income)
    cash_frame = bank.rename_axis("nav_date").reset_index().melt(id_vars="nav_date", var_name="currency", value_name="cash_at_bank")
    booked_columns = ["event_id", "event_type", "security_id", "ex_date", "pay_date", "basis"]
    booked = pd.concat([f[booked_columns] for f in (todo, from_notices.events) if len(f)] or [pd.DataFrame(columns=booked_columns)],
                       ignore_index=True)
    booked["late"] = pd.to_datetime(booked["ex_date"]) <= index[0]
    for _, ev in booked[booked["late"] & booked["basis"].isin(["trade", "income", "redemption", NOTIFIED])].iterrows():
        notes.append(f"{ev['event_type']} {ev['event_id']} on {ev['security_id']} (ex-date {pd.Timestamp(ev['ex_date']):%Y-%m-%d}) "
                     f"first delivered to the books after its ex-date: booked on {d}")

    # --- the closing state ---------------------------------------------------------------------------
    open_trades = trades[pd.to_datetime(trades["settlement_date"]) > ts]
    prices_d = final.groupby("security_id", as_index=False).agg(price=("price", "first"), source=("source", "first"),
                                                                 price_as_of=("price_as_of", "first"))
    applied = pd.concat([previous.applied_events, booked.assign(applied_on=ts)[["event_id", "basis", "applied_on", "pay_date"]]],
                        ignore_index=True)
    state = make_state(
        fund.fund_code, d, previous_date=previous.business_date,
        positions=positions[positions["quantity"].abs() > 1e-9][["account", "security_id", "quantity"]],
        settled_positions=settled[settled["quantity"].abs() > 1e-9][["account", "security_id", "quantity"]],
        cost_basis=cost, cash=cash,
        open_trades=open_trades, open_capital=capital[pd.to_datetime(capital["settlement_date"]) > ts],
        open_income=income[pd.to_datetime(income["pay_date"]) > ts], applied_events=prune_applied_events(applied, d),
        event_bookings=from_notices.later,
        classes=classes, fund_balances=pd.DataFrame([{"fixed_fees_payable": flow["fixed_fees_payable"],
                                                      "pool_after_dealing": flow["pool_after_dealing"], "opened_on": opened_on}]),
        prices=prices_d, fx=fx[fx["rate_date"].eq(ts)][["currency", "rate_to_base"]], class_day=class_nav[class_nav["nav_date"].eq(ts)],
        valuation=final.groupby("currency", as_index=False)[["market_value_local", "accrued_interest_local"]].sum(),
        flows=pool_flows[["market", "fx", "income", "expenses", "transaction_costs", "fixed_fees", "bank_charges", "pnl"]])
    result = NavResult(fund, grid, class_nav, balance_sheet, valuation, chosen, None, fx,
                       income, pool_flows, pd.DataFrame(accrual_rows), dealing, position_table, suspense, cash_frame, booked, notes)
    return state, result


def _cash_by_account(previous_cash: pd.DataFrame, ledger: pd.DataFrame) -> pd.DataFrame:
    """The books' cash per account: the previous balance plus the day's ledger movements."""
    moved = ledger.groupby(["account", "currency"], as_index=False)["amount"].sum().rename(columns={"amount": "moved"})
    out = previous_cash[["account", "currency", "balance"]].merge(moved, on=["account", "currency"], how="outer")
    out["balance"] = out["balance"].fillna(0.0) + out["moved"].fillna(0.0)
    return out[["account", "currency", "balance"]].sort_values("account").reset_index(drop=True)


def fee_payments(cash_ledger: pd.DataFrame, fund_code: str) -> pd.DataFrame:
    """Fee payments in the day's cash ledger: management fees per class and fixed fees (reference
    ``F<yymm><fund><class>``, ``FX`` = fixed fees), crystallised performance fees (``P<yymm><fund><class>``).
    Columns: kind (management, fixed, performance), share_class ('' = fund), amount (paid, positive)."""
    fee = cash_ledger[cash_ledger["movement_type"].eq("FEE_PAYMENT")]
    prefix = fee["reference"].str.slice(0, 1)
    suffix = fee["reference"].str.slice(5).str.removeprefix(fund_code)
    kind = np.where(prefix.eq(PERFORMANCE_FEE_PREFIX), "performance", np.where(suffix.eq("FX"), "fixed", "management"))
    return pd.DataFrame({"kind": kind, "share_class": suffix.where(suffix.ne("FX"), ""), "amount": -fee["amount"].astype("float64")})


def dealt_orders(capital_activity: pd.DataFrame) -> pd.DataFrame:
    """The orders the transfer agent dealt: a pending or cancelled order moves neither units nor cash."""
    if "status" not in capital_activity:
        return capital_activity
    return capital_activity[capital_activity["status"].eq("DEALT")]


def _strike_classes(previous: BookState, fund: FundParameters, d: dt.date, next_nav_date: dt.date | None, pool_assets: pd.Series,
                    capital: pd.DataFrame, capital_today: float, fee_paid: pd.DataFrame, flows_d: dict, index: pd.DatetimeIndex):
    """Step 4-5 for the day: the classes' split of the pool's result, fees, NAV per share, dealing."""
    ts = index[1]
    days = fees.accrual_days(previous.business_date, d, next_nav_date)
    classes = {c.code: c for c in fund.share_classes}
    before = previous.classes.set_index("share_class")
    paid = {kind: fee_paid[fee_paid["kind"].eq(kind)].groupby("share_class")["amount"].sum() for kind in ("management", "fixed", "performance")}
    annual_fixed = sum(f.annual_amount for f in fund.fixed_fees)
    fixed_accrued = fees.fixed_fee_accrual(annual_fixed, days, fund.day_basis)
    fixed_paid = float(paid["fixed"].sum())
    fixed_liability = previous.fixed_fees_payable + fixed_accrued - fixed_paid
    pool_now = pool_assets.iloc[1] - capital_today - fixed_liability
    class_paid = {c: float(paid["management"].get(c, 0.0)) + float(paid["performance"].get(c, 0.0)) for c in classes}
    pnl = pool_now - (previous.pool_after_dealing - sum(class_paid.values()))
    today = capital[capital["deal_on"].eq(ts)]
    rows, accruals, closing = [], [], []
    state = {c: {k: float(before.at[c, k]) for k in ("units", "gross", "management_fee_accrued", "performance_fee_accrued",
                                                      "performance_fee_payable", "high_water_mark", "nav_per_share", "net_assets")} for c in classes}
    for c, s in state.items():  # the previous date's row, as the state holds it
        rows.append(_class_row(index[0], c, s, s["units"], 0.0, 0.0, s["net_assets"], 0.0, 0.0, 0.0, np.nan))
    for c, s in state.items():  # a fee paid leaves the pool's cash and the class's liability together
        s["gross"] -= class_paid[c]
        s["management_fee_accrued"] -= float(paid["management"].get(c, 0.0))
        s["performance_fee_payable"] -= float(paid["performance"].get(c, 0.0))
    total_gross = sum(s["gross"] for s in state.values())
    for c, s in state.items():
        params = classes[c]
        weight = s["gross"] / total_gross
        s["gross"] += pnl * weight
        mgmt_opening = s["management_fee_accrued"] + float(paid["management"].get(c, 0.0))
        mgmt_accrued = float(fees.management_fee_accrual(s["net_assets"], params.management_fee_pct, days, fund.day_basis))
        s["management_fee_accrued"] += mgmt_accrued
        perf_opening = s["performance_fee_accrued"]
        perf = params.performance_fee
        has_hwm = perf is not None and not np.isnan(s["high_water_mark"])
        if has_hwm:
            gross_nps = (s["gross"] - s["management_fee_accrued"] - s["performance_fee_payable"]) / s["units"]
            frac = fees.period_fraction(d, perf.crystallisation)
            s["performance_fee_accrued"] = float(fees.performance_fee_per_share(gross_nps, s["high_water_mark"], perf.rate_pct, perf.hurdle_pct, frac)) * s["units"]
        net = s["gross"] - s["management_fee_accrued"] - s["performance_fee_accrued"] - s["performance_fee_payable"]
        nps = float(half_up(net / s["units"], fund.nav_decimals))
        s["nav_per_share"] = nps
        mine = today[today["share_class"].eq(c)]
        units_opening = s["units"]
        subscribed = float(mine.loc[mine["order_type"].eq("SUB"), "units"].sum())
        redeemed = float(mine.loc[mine["order_type"].eq("RED"), "units"].sum())
        amount = float(mine["signed_amount"].sum())
        s["gross"] += amount
        s["units"] += subscribed - redeemed  # the register's dealt units, kept exact (rounded where shown)
        perf_charge = s["performance_fee_accrued"] - perf_opening
        crystallised = 0.0
        if has_hwm and fees.is_period_end(d, next_nav_date, perf.crystallisation) and s["performance_fee_accrued"] > 0:
            # crystallise: the accrued fee becomes payable to the manager, the high-water mark resets
            crystallised = float(half_up(s["performance_fee_accrued"], 2))  # payable to the manager in cents
            s["performance_fee_payable"] += crystallised
            s["performance_fee_accrued"] = 0.0
            s["high_water_mark"] = max(s["high_water_mark"], nps)
        net_after = s["gross"] - s["management_fee_accrued"] - s["performance_fee_accrued"] - s["performance_fee_payable"]
        s["net_assets"] = net_after
        rows.append(_class_row(ts, c, s, units_opening, subscribed, redeemed, net, amount, mgmt_accrued, perf_charge, weight, crystallised))
        accruals += [
            {"nav_date": ts, "accrual": "management fee", "share_class": c, "opening": mgmt_opening, "accrued": mgmt_accrued,
             "paid": float(paid["management"].get(c, 0.0)), "closing": s["management_fee_accrued"]},
            {"nav_date": ts, "accrual": "performance fee", "share_class": c, "opening": perf_opening, "accrued": perf_charge,
             "paid": 0.0, "closing": s["performance_fee_accrued"] + crystallised},
            {"nav_date": ts, "accrual": "performance fee payable", "share_class": c,
             "opening": s["performance_fee_payable"] - crystallised + float(paid["performance"].get(c, 0.0)), "accrued": crystallised,
             "paid": float(paid["performance"].get(c, 0.0)), "closing": s["performance_fee_payable"]},
        ]
        closing.append({"share_class": c, **{k: s[k] for k in ("units", "gross", "management_fee_accrued", "performance_fee_accrued",
                                                                 "performance_fee_payable", "high_water_mark", "nav_per_share", "net_assets")}})
    accruals.append({"nav_date": ts, "accrual": "fixed fees (audit, administration)", "share_class": "", "opening": previous.fixed_fees_payable,
                     "accrued": fixed_accrued, "paid": fixed_paid, "closing": fixed_liability})
    flow = {"nav_date": ts, "market": flows_d["market"], "fx": flows_d["fx"], "income": flows_d["income"],
            "expenses": flows_d["transaction_costs"] - fixed_accrued + flows_d["bank_charges"], "transaction_costs": flows_d["transaction_costs"],
            "fixed_fees": -fixed_accrued, "bank_charges": flows_d["bank_charges"], "pnl": pnl, "fixed_fees_payable": fixed_liability,
            "pool_after_dealing": pool_now + capital_today}
    return pd.DataFrame(closing), rows, accruals, flow


def _class_row(nav_date, code, s, units_opening, subscribed, redeemed, net_before, capital, mgmt_charge, perf_charge, weight, crystallised=0.0) -> dict:
    return {"nav_date": nav_date, "share_class": code, "units_opening": units_opening, "units_subscribed": subscribed,
            "units_redeemed": redeemed, "units_outstanding": s["units"], "gross_assets": s["gross"],
            "management_fee_accrued": s["management_fee_accrued"], "performance_fee_accrued": s["performance_fee_accrued"],
            "performance_fee_payable": s["performance_fee_payable"], "performance_fee_crystallised": crystallised,
            "nav_per_share": s["nav_per_share"], "net_assets_before_dealing": net_before, "capital_activity": capital,
            "net_assets": s["net_assets"], "high_water_mark": s["high_water_mark"], "management_fee_charge": mgmt_charge,
            "performance_fee_charge": perf_charge, "pool_share": weight}


def _position_table(final: pd.DataFrame, cost: pd.DataFrame) -> pd.DataFrame:
    """The day's positions with average cost, book cost, realised and unrealised P&L (local)."""
    grouped = final.groupby("security_id", sort=True)
    table = grouped[["quantity", "market_value_local", "market_value_base"]].sum().join(
        grouped[["price", "currency", "asset_class", "multiplier"]].first()).reset_index()
    table = table.merge(cost.drop(columns="quantity"), on="security_id", how="left")
    table["average_cost"] = table["book_cost"] / table["quantity"].where(table["quantity"].abs() > 1e-9)
    table["book_cost"] = table["book_cost"] * table["multiplier"]  # bonds: per 100 of nominal
    table["unrealised_pnl_local"] = table["market_value_local"] - table["book_cost"]
    table["realised_pnl_local"] = table["realised_pnl"] * table["multiplier"]
    return table.drop(columns=["realised_pnl"])


def _suspense(ledger: pd.DataFrame, trades: pd.DataFrame, capital: pd.DataFrame, events: pd.DataFrame, income: pd.DataFrame) -> pd.DataFrame:
    """Today's cash-ledger movements the books cannot attribute to a trade, an order, an event or a fee."""
    known = pd.concat([trades["trade_id"].str.split(":").str[0], capital["order_id"], events["event_id"], income["event_id"]],
                      ignore_index=True).astype("str")
    attributed = ledger["reference"].isin(known) | ledger["movement_type"].isin(("FEE_PAYMENT", *EXPENSE_MOVEMENT_TYPES))
    return ledger[~attributed].reset_index(drop=True)


def redeal(capital: pd.DataFrame, class_nav: pd.DataFrame, fund: FundParameters) -> pd.DataFrame:
    """Every order re-dealt at the shadow NAV per share of its dealing date: a subscription's units
    are ``round_half_up(amount / NAV per share, unit_decimals)``, a redemption's amount is
    ``round_half_up(units x NAV per share, 2)``. Compared with what the register dealt."""
    cols = ["order_id", "share_class", "investor_id", "order_type", "dealing_date", "settlement_date", "amount", "units", "nav_per_share",
            "shadow_nav_per_share", "shadow_units", "shadow_amount", "units_difference", "amount_difference", "register_rounding_ok"]
    if capital.empty:
        return capital.reindex(columns=cols)
    nps = class_nav[["nav_date", "share_class", "nav_per_share"]].rename(columns={"nav_date": "deal_on", "nav_per_share": "shadow_nav_per_share"})
    out = capital.merge(nps, on=["deal_on", "share_class"], how="left")
    is_sub = out["order_type"].eq("SUB")
    out["shadow_units"] = np.where(is_sub, half_up(out["amount"] / out["shadow_nav_per_share"], fund.unit_decimals), out["units"])
    out["shadow_amount"] = np.where(is_sub, out["amount"], half_up(out["units"] * out["shadow_nav_per_share"], 2))
    out["register_check_units"] = np.where(is_sub, half_up(out["amount"] / out["nav_per_share"], fund.unit_decimals), out["units"])
    out["register_check_amount"] = np.where(is_sub, out["amount"], half_up(out["units"] * out["nav_per_share"], 2))
    out["units_difference"] = out["units"] - out["shadow_units"]
    out["amount_difference"] = out["amount"] - out["shadow_amount"]
    # absolute tolerances only: np.isclose's default relative one (1e-5) let 10 units pass on a million-unit order
    out["register_rounding_ok"] = np.isclose(out["register_check_units"], out["units"], rtol=0.0, atol=0.5 * 10.0 ** -fund.unit_decimals) & np.isclose(
        out["register_check_amount"], out["amount"], rtol=0.0, atol=0.005)
    return out[cols]
