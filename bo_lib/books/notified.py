"""The events the book of record books from the custodians' notifications: elective dividends
(DVOP, DRIP), rights (RHTS), mergers (MRGR), spin-offs (SOFF) and tenders (TEND), the events whose
outcome depends on the fund's election or brings a new security, which the books' own event feed
(``corporate_actions.csv``: dividends, coupons, ratio events, redemptions) cannot carry. Pure
functions over DataFrames; ``books.nav.strike_day`` calls them.

Rules:

* **What is booked.** An event of ``codes.NOTIFIED_BOOKING_EVENTS`` in the golden record
  (``books.events``), agreed by every custodian and notified complete (``COMP``; a disputed or a
  preliminary event waits: the corporate-actions control shows it, and the event as not booked
  once due), with a pay date, once, when due: on its ex-date, or on its pay date when it has none (a tender).
* **On what.** The entitlement rules of ``books.entitlements`` on the settled holding of record:
  the books' close before the due date with its open trades settling by the record date; the
  open trades made before the ex-date and settling after the record date give market claims; the
  fund's elections are its MT565 instructions (capped at the holding of record), the rest takes
  the default option.
* **What.** ``entitlements.booking_movements``: units given up and credited with their book cost
  on the trade basis on the ex-date (SPLF, SPLR, BONU, DVSE, SOFF, MRGR) or the pay date, on the
  settled basis on the pay date; a dividend's cash (DVOP, DRIP) as income receivable from the
  ex-date to the pay date (``open_income``, net of the treaty rate); other cash (tender and merger
  proceeds, rights sold, cash in lieu, less a subscription or reinvestment paid) as a receivable
  from the date the units move to the pay date (a synthetic trade ``<event>:<account>:<kind>``
  of no quantity, so the cash ledger's payment is attributed to the event). Realised P&L on the
  event's security is the cash less the book cost released (cash + the sum of the cost movements).
* Bookings due later are kept in the state (``event_bookings``) and booked on their date.

Known limits, each shown rather than hidden: the elections are those known on the booking day (an
MT565 sent later is red in the corporate-actions control, "Elections after booking"); a term a
replacement changes after the booking (a moved pay date) is amber there and not re-booked; new
shares of a stock option (DVOP, DRIP) and rights are recognised on the pay date, not as a right
from the ex-date; a rights subscription's payment is taken on the pay date.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from bo_lib.books import entitlements as entitle_mod
from bo_lib.books.accruals import INCOME, INCOME_COLUMNS
from bo_lib.codes import NOTIFIED_BOOKING_EVENTS, REDEMPTION_EVENTS, WITHHOLDING_EVENTS

#: calendar days of corporate-action messages read back: an event is followed from its
#: notification until paid (the books remember booked events as long: ``state.APPLIED_EVENT_MEMORY_DAYS``)
MESSAGE_LOOKBACK_DAYS = 120
#: the ``applied_events`` basis of an event booked from the notifications
NOTIFIED = "notified"
#: the origin of the synthetic trades carrying an event's cash
EVENT_ORIGIN = "corporate_action"
TRADE, SETTLEMENT, CASH = "trade", "settlement", "cash"
POSITION_MOVEMENTS = ("units given up", "units credited")


def followed_messages(messages: pd.DataFrame, day: pd.Timestamp) -> pd.DataFrame:
    """The messages of the events followed on ``day``: every message delivered by ``day`` of an
    event with a message in the last ``MESSAGE_LOOKBACK_DAYS`` (an event is followed from its
    first notification, however old). The books and the corporate-actions control both read so."""
    upto = messages[messages["delivery_date"] <= day]
    recent = set(upto.loc[upto["delivery_date"] >= day - pd.Timedelta(days=MESSAGE_LOOKBACK_DAYS), "corporate_reference"])
    return upto[upto["corporate_reference"].isin(recent)].reset_index(drop=True)


# ---------------------------------------------------------------------------------------------
# the golden record as the entitlement rules read it (shared with the corporate-actions control)


def entitlement_terms(golden: pd.DataFrame, securities: pd.DataFrame | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The golden record's agreed events and their options as ``entitlements.entitlements`` reads
    them (a redemption's price per 100 is its rate; a stock option credits the event's own security
    unless it names another ISIN, found in the ``securities`` master; an ISIN the master does not
    know leaves ``new_security_id`` empty). A disputed event's terms are not known until the
    custodians agree: none here."""
    live = golden[golden["status"].eq("agreed") & golden["event_type"].isin(entitle_mod.RULES)]
    events = live.drop_duplicates("event_id")[["event_id", "event_type", "mandatory_voluntary", "security_id", "isin", "currency", "ex_date",
                                               "record_date"]]
    events = events.assign(pay_date=events["event_id"].map(live.groupby("event_id")["pay_date"].min()))
    options = live.assign(
        gross_rate=live["gross_rate"].where(live["gross_rate"].notna() | ~live["event_type"].isin(REDEMPTION_EVENTS), live["price"]),
        new_security_id=_new_security_ids(live, securities), cash_in_lieu_price=float("nan"), cost_allocation_pct=float("nan"),
        is_default=live["is_default"].fillna(False).astype(bool))
    return events.reset_index(drop=True), options.reset_index(drop=True)


def _new_security_ids(options: pd.DataFrame, securities: pd.DataFrame | None) -> pd.Series:
    named = options["new_isin"].fillna("") if "new_isin" in options else pd.Series("", index=options.index)
    other = named.ne("") & named.ne(options["isin"])
    if securities is None or not other.any():
        return options["security_id"]
    master = securities[securities["isin"].fillna("").ne("")].drop_duplicates("isin").set_index("isin")["security_id"]
    return options["security_id"].where(~other, named.map(master).fillna(""))


def settled_by(settled_positions: pd.DataFrame, open_trades: pd.DataFrame, record_date: dt.date | None) -> pd.DataFrame:
    """A close's settled holding per account and security, with its open trades settling by
    ``record_date`` (the holding of record taken before the record date)."""
    settled = settled_positions[["account", "security_id", "quantity"]]
    if record_date is None or open_trades.empty:
        return settled
    due = open_trades[pd.to_datetime(open_trades["settlement_date"]) <= pd.Timestamp(record_date)]
    signed = due.assign(quantity=due["quantity"].where(due["side"].eq("BUY"), -due["quantity"]))[["account", "security_id", "quantity"]]
    return pd.concat([settled, signed]).groupby(["account", "security_id"], as_index=False)["quantity"].sum()


def trades_across_record(open_trades: pd.DataFrame, event) -> pd.DataFrame:
    """The open trades in the event's security made before its ex-date and settling after its
    record date (the market claims), without the books' own event cash."""
    if pd.isna(event.ex_date) or pd.isna(event.record_date):
        return open_trades.iloc[0:0]
    trades = open_trades[open_trades["origin"].ne(EVENT_ORIGIN)] if "origin" in open_trades else open_trades
    return trades[trades["security_id"].eq(event.security_id) & (pd.to_datetime(trades["trade_date"]) < pd.Timestamp(event.ex_date))
                  & (pd.to_datetime(trades["settlement_date"]) > pd.Timestamp(event.record_date))]


def cost_per_unit(cost_basis: pd.DataFrame) -> pd.Series:
    """Book cost per unit held, per security (average cost)."""
    held = cost_basis[cost_basis["quantity"].ne(0)]
    return (held["book_cost"] / held["quantity"]).set_axis(held["security_id"])


def elected_within_holding(elected: pd.DataFrame, holdings: pd.DataFrame) -> pd.DataFrame:
    """Elections as the entitlement takes them: an instruction for more units than the holding of
    record (the fund sold after instructing) covers the holding, scaled down pro rata over its options."""
    if elected.empty:
        return elected
    held = holdings.groupby(["event_id", "account"])["quantity"].sum()
    total = elected.groupby(["event_id", "account"])["quantity"].transform("sum")
    cap = pd.Series([held.get((e, a), 0.0) for e, a in zip(elected["event_id"], elected["account"])], index=elected.index)
    scale = (cap / total).where(total > cap, 1.0).fillna(0.0)
    return elected.assign(quantity=(elected["quantity"] * scale).round(6))


def event_entitlements(events: pd.DataFrame, options: pd.DataFrame, holdings: pd.DataFrame, pending: pd.DataFrame, instructed: pd.DataFrame,
                       cost_basis: pd.DataFrame, prices: pd.DataFrame, securities: pd.DataFrame, withholding_tax_pct: dict[str, float],
                       fund: str) -> pd.DataFrame:
    """The fund's entitlements per event (``entitlements.entitlements``): ``holdings`` (event_id,
    account, security_id, quantity: the holding of record), ``pending`` (event_id and the open
    trades across the record date), ``instructed`` (``events.instructions``)."""
    average = cost_per_unit(cost_basis)
    holdings = holdings[holdings["event_id"].isin(events["event_id"])].assign(fund=fund)
    holdings = holdings.assign(cost=holdings["quantity"] * holdings["security_id"].map(average).fillna(0.0))
    # a claim carries the book cost of its units (average cost), so holding and claims together
    # release the cost of the trade-date holding
    pending = pending.assign(cost=pending["quantity"].astype("float64") * pending["security_id"].map(average).fillna(0.0).astype("float64"))
    elected = elected_within_holding(instructed.rename(columns={"corporate_reference": "event_id", "instructed_quantity": "quantity"})
                                     .assign(fund=fund), holdings)
    out = []
    for event_id, held in holdings.groupby("event_id", sort=False):  # the rules take one holding per event and account
        claims = pending[pending["event_id"].eq(event_id)].drop(columns="event_id")
        out.append(entitle_mod.entitlements(events[events["event_id"].eq(event_id)], options[options["event_id"].eq(event_id)],
                                            held[["fund", "account", "security_id", "quantity", "cost"]], claims,
                                            elected[elected["event_id"].eq(event_id)][["fund", "account", "event_id", "option_number", "quantity"]],
                                            securities, prices[["security_id", "price"]], withholding_tax_pct))
    frames = [f for f in out if len(f)]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=entitle_mod.ENTITLEMENT_COLUMNS)


# ---------------------------------------------------------------------------------------------
# what the books book, and when


def due_on(events: pd.DataFrame) -> pd.Series:
    """The date the books book an event from the notifications: its ex-date, else its pay date."""
    return pd.to_datetime(events["ex_date"]).fillna(pd.to_datetime(events["pay_date"]))


def events_due(golden: pd.DataFrame, securities: pd.DataFrame, applied: pd.DataFrame, business_date: dt.date,
               opened_on: dt.date | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The notified events the books book today (the rules): (events, options) of the golden record.
    An event crediting a security the master does not know waits (it cannot be valued), and so does
    an event still notified preliminary (``PREU``: its terms are not final)."""
    events, options = entitlement_terms(golden, securities)
    unknown = set(options.loc[options["new_security_id"].eq(""), "event_id"])
    preliminary = set(golden.loc[golden["processing_status"].ne("COMP"), "event_id"])
    events = events[~events["event_id"].isin(unknown | preliminary)]
    done = set(applied.loc[applied["basis"].eq(NOTIFIED), "event_id"]) if len(applied) else set()
    due = due_on(events)
    keep = (events["event_type"].isin(NOTIFIED_BOOKING_EVENTS) & ~events["event_id"].isin(done)
            & events["pay_date"].notna() & due.le(pd.Timestamp(business_date)))
    if opened_on is not None:
        keep &= due.gt(pd.Timestamp(opened_on))
    events = events[keep].reset_index(drop=True)
    return events, options[options["event_id"].isin(events["event_id"])].reset_index(drop=True)


def holdings_of_record(events: pd.DataFrame, settled_positions: pd.DataFrame, open_trades: pd.DataFrame, fund: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per event: the holding of record (event_id, account, security_id, quantity) from a close
    before the event, and the open trades across its record date (event_id + the trade's columns)."""
    held, pending = [], []
    for ev in events.itertuples():
        record = pd.Timestamp(ev.record_date).date() if pd.notna(ev.record_date) else None
        of_record = settled_by(settled_positions, open_trades, record)
        rows = of_record[of_record["security_id"].eq(ev.security_id) & of_record["quantity"].gt(0)]
        held.append(rows.assign(event_id=ev.event_id))
        cross = trades_across_record(open_trades, ev)
        if len(cross):
            counterparty = cross["counterparty"] if "counterparty" in cross else cross.get("broker_id", "")
            pending.append(cross.assign(event_id=ev.event_id, fund=fund, counterparty=counterparty))
    holdings = pd.concat(held, ignore_index=True) if held else pd.DataFrame(columns=["event_id", "account", "security_id", "quantity"])
    columns = ["event_id", "trade_id", "fund", "account", "security_id", "side", "quantity", "counterparty", "settlement_date"]
    claims = pd.concat(pending, ignore_index=True).reindex(columns=columns) if pending else pd.DataFrame(columns=columns)
    return holdings, claims


def bookings(entitled: pd.DataFrame, events: pd.DataFrame) -> pd.DataFrame:
    """The dated bookings of the entitlements (columns ``state.FRAMES["event_bookings"]``): each
    position movement on the trade basis and on the settled basis, and one cash row per event,
    account, kind and trade with the cash and the realised P&L (see the module's rules)."""
    moves = entitle_mod.booking_movements(entitled)
    if moves.empty:
        return pd.DataFrame(columns=BOOKING_COLUMNS)
    ev = events.set_index("event_id")
    position = moves[moves["movement"].isin(POSITION_MOVEMENTS)].rename(columns={"on": "booked_on"})
    pay = position["event_id"].map(ev["pay_date"])
    keys = ["event_id", "event_type", "account", "kind", "trade_id"]
    trade = position.assign(basis=TRADE, pay_date=pay)
    settlement = position.assign(basis=SETTLEMENT, booked_on=pay, pay_date=pay)
    capital = moves[moves["movement"].eq("cash")].groupby(keys, as_index=False)[["cash"]].sum()
    released = position.groupby(keys, as_index=False)[["cost"]].sum()
    cash = capital.merge(released, on=keys, how="outer").fillna({"cash": 0.0, "cost": 0.0})
    cash = cash.assign(realised=cash["cash"] + cash["cost"], cost=0.0, quantity=0.0, basis=CASH,
                       security_id=cash["event_id"].map(ev["security_id"]), currency=cash["event_id"].map(ev["currency"]),
                       booked_on=cash["event_id"].map(_units_move_on(events)), pay_date=cash["event_id"].map(ev["pay_date"]))
    currency = moves[moves["movement"].eq("cash")].drop_duplicates(keys).set_index(keys)["currency"]
    cash["currency"] = [currency.get(tuple(k), c) for k, c in zip(cash[keys].itertuples(index=False), cash["currency"])]
    cash = cash[cash["cash"].abs().gt(0) | cash["realised"].abs().gt(1e-9)]
    out = pd.concat([f for f in (trade.assign(realised=0.0), settlement.assign(realised=0.0), cash) if len(f)] or [cash], ignore_index=True)
    out = out.reindex(columns=BOOKING_COLUMNS)
    return out[out["booked_on"].notna()].reset_index(drop=True)


BOOKING_COLUMNS = ["event_id", "event_type", "account", "kind", "trade_id", "basis", "booked_on", "pay_date", "security_id", "currency",
                   "quantity", "cost", "cash", "realised"]


def _units_move_on(events: pd.DataFrame) -> pd.Series:
    on_ex = events["event_type"].isin(entitle_mod.POSITION_ON_EX_DATE) & events["ex_date"].notna()
    return pd.Series(pd.to_datetime(events["ex_date"]).where(on_ex, pd.to_datetime(events["pay_date"])).to_numpy(), index=events["event_id"])


def income(entitled: pd.DataFrame, events: pd.DataFrame, recognised_on: pd.Timestamp) -> pd.DataFrame:
    """The dividends of the entitlements (DVOP, DRIP cash, net of the treaty rate) as the books'
    income receivable (``accruals.INCOME_COLUMNS``), recognised today, paid on the pay date."""
    rows = entitled[entitled["event_type"].isin(WITHHOLDING_EVENTS) & entitled["cash_gross"].fillna(0).ne(0)]
    if rows.empty:
        return pd.DataFrame(columns=INCOME_COLUMNS)
    ev = events.set_index("event_id")
    held = rows["eligible_quantity"].astype("float64")
    out = pd.DataFrame({
        "event_id": rows["event_id"], "event_type": rows["event_type"], "kind": rows["kind"].replace({entitle_mod.HOLDING: INCOME}),
        "trade_id": rows["trade_id"].fillna(""), "counterparty": rows["counterparty"].fillna(""), "security_id": rows["security_id"],
        "currency": rows["currency"], "ex_date": pd.to_datetime(rows["ex_date"]), "record_date": pd.to_datetime(rows["event_id"].map(ev["record_date"])),
        "pay_date": pd.to_datetime(rows["pay_date"]), "recognised_on": recognised_on, "holding": held,
        "gross_rate": np.where(held.ne(0), rows["cash_gross"] / held.where(held.ne(0), 1.0), 0.0),
        "withholding_tax_pct": rows["withholding_pct"].astype("float64"), "gross_amount": rows["cash_gross"].astype("float64"),
        "withholding_tax": rows["withholding_tax"].astype("float64"), "net_amount": rows["cash_net"].astype("float64")})
    return out.reset_index(drop=True)


def position_movements(due: pd.DataFrame, basis: str, fund: str) -> pd.DataFrame:
    """The due bookings of one basis as ``positions.roll_positions`` movements (with cost and realised P&L)."""
    rows = due[due["basis"].eq(basis)] if basis != CASH else due[due["basis"].eq(CASH) & due["realised"].ne(0)]
    return pd.DataFrame({"fund": fund, "account": rows["account"], "security_id": rows["security_id"], "effective_date": pd.to_datetime(rows["booked_on"]),
                         "quantity": rows["quantity"].astype("float64"), "source": "corporate_action:" + rows["event_type"],
                         "reference": rows["event_id"], "cost": rows["cost"].astype("float64"), "realised": rows["realised"].astype("float64")})


def cash_trades(due: pd.DataFrame, fund: str, isin: pd.Series, day: pd.Timestamp) -> pd.DataFrame:
    """The due cash bookings as trades of no quantity: a receivable (or payable) from the date the
    units move (or ``day``, when booked late: the day's result carries it) to the pay date, settled
    by the cash ledger's payment of the event."""
    rows = due[due["basis"].eq(CASH) & due["cash"].ne(0)]
    amount = rows["cash"].abs().astype("float64")
    key = rows["trade_id"].fillna("").where(rows["trade_id"].fillna("").ne(""), rows["kind"])
    return pd.DataFrame({
        "trade_id": rows["event_id"] + ":" + rows["account"] + ":" + key, "fund": fund, "account": rows["account"],
        "security_id": rows["security_id"], "isin": rows["security_id"].map(isin).fillna(""), "side": np.where(rows["cash"].gt(0), "SELL", "BUY"),
        "quantity": 0.0, "price": 0.0, "currency": rows["currency"], "gross_amount": amount, "accrued_interest": 0.0, "commission": 0.0,
        "fees": 0.0, "net_amount": amount, "trade_date": pd.to_datetime(rows["booked_on"]).clip(lower=day), "settlement_date": pd.to_datetime(rows["pay_date"]),
        "broker_id": "", "origin": EVENT_ORIGIN}).reset_index(drop=True)


def split_due(pending: pd.DataFrame, day: pd.Timestamp) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(bookings due by ``day``, bookings still to come)."""
    due = pd.to_datetime(pending["booked_on"]).le(day)
    return pending[due].reset_index(drop=True), pending[~due].reset_index(drop=True)
