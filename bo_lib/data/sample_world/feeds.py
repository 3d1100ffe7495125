"""The sample world's inbound files, cut from the simulated truth the way each source delivers
them (OMS, brokers, custodians, banks, price vendors, administrator), with the seeded exceptions
applied, and the ground-truth list of those exceptions.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import numpy as np
import pandas as pd

from bo_lib.data.formats.camt053 import write_camt053
from bo_lib.data.formats.mt940 import write_mt940
from bo_lib.data.formats.statement import BankStatement, StatementEntry
from bo_lib.data.sample_world import conventions
from bo_lib.data.sample_world.simulate import BANK_CHARGE, coupon_holder_of_record, MATURING_BOND_ID, WHT_CHARGED_PCT, World, cash_account
from bo_lib.data.sample_world.conventions import round_half_up_array

TRADE_COLUMNS = ["trade_id", "fund", "account", "security_id", "isin", "side", "quantity", "price", "currency", "gross_amount",
                 "accrued_interest", "commission", "fees", "net_amount", "trade_date", "settlement_date", "broker_id"]
CONFIRM_COLUMNS = ["confirm_id", "broker_id", "client_reference", "account", "isin", "side", "quantity", "price", "currency",
                   "gross_amount", "commission", "fees", "net_amount", "trade_date", "settlement_date"]
QUANTITY_EVENTS = ("SPLF", "DVSE", "REDM")  # events that change a custodian position (on pay date)


class SeededExceptions:
    """Collects the ground truth: every exception the sample world plants, with where to find it.

    Items are numbered (SX001...) by ``numbered()``: grouped by episode, oldest first, in the order
    they were told within an episode."""

    def __init__(self) -> None:
        self.items: list[dict] = []

    def add(self, area: str, kind: str, fund: str | None, first_date: dt.date, last_date: dt.date | None = None, *,
            episode: dt.date, **details) -> None:
        self.items.append({"id": "", "area": area, "type": kind, "fund": fund,
                           "first_date": first_date.isoformat(), "last_date": (last_date or first_date).isoformat(),
                           "episode": episode.isoformat(),
                           **{k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in details.items()}})

    def numbered(self) -> list[dict]:
        order = sorted(range(len(self.items)), key=lambda k: self.items[k]["episode"])  # stable: told order within an episode
        return [{**self.items[k], "id": f"SX{n:03d}"} for n, k in enumerate(order, start=1)]


# ---------------------------------------------------------------------------------------------
# settlement


def _effective_settlements(world: World) -> pd.DataFrame:
    """Per trade: quantity and cash that settled on the intended date (all of it, or a failing
    trade's partial part), whether it is failing, and when an earlier episode's fail finally
    settled (``settled_on``; ``settled_by``: the first date it no longer fails)."""
    trades = world.trades.copy()
    fails = world.fails.set_index("trade_id") if len(world.fails) else pd.DataFrame(columns=["settled_quantity", "reason_code", "settled_on"])
    settled_qty = trades["quantity"].copy()
    failing = trades["trade_id"].isin(fails.index)
    settled_qty[failing] = trades.loc[failing, "trade_id"].map(fails["settled_quantity"]).astype(float)
    trades["settled_quantity"] = settled_qty
    trades["settled_cash"] = round_half_up_array(trades["net_amount"] * settled_qty / trades["quantity"], 2)
    trades["failing"] = failing
    settled_on = trades["trade_id"].map(fails["settled_on"]) if len(fails) else pd.Series(None, index=trades.index, dtype=object)
    trades["settled_on"] = [v if isinstance(v, dt.date) else None for v in settled_on]
    trades["settled_by"] = [on if on is not None else (dt.date.max if f else s)
                            for on, f, s in zip(trades["settled_on"], trades["failing"], trades["settlement_date"])]
    trades["in_custody"] = trades["asset_class"] != "option"  # options clear at the broker, not the custodian
    return trades


def settlement_moves(settlements: pd.DataFrame) -> pd.DataFrame:
    """What actually moved, and when: each trade's intended-date part, then the rest of every
    earlier-episode fail on the date it finally settled."""
    first = settlements[settlements["settled_quantity"] > 0].assign(
        date=lambda t: t["settlement_date"], moved_quantity=lambda t: t["settled_quantity"], moved_cash=lambda t: t["settled_cash"])
    late = settlements[settlements["settled_on"].notna()]
    late = late.assign(date=late["settled_on"], moved_quantity=late["quantity"] - late["settled_quantity"],
                       moved_cash=round_half_up_array(late["net_amount"] - late["settled_cash"], 2))
    return pd.concat([first, late[late["moved_quantity"] > 0]], ignore_index=True)


def quantity_events(world: World) -> pd.DataFrame:
    """Every event that changes a position, known to the books or not (custodian's view)."""
    events = pd.concat([world.corporate_actions, world.unbooked_events], ignore_index=True)
    return events[events["event_type"].isin(QUANTITY_EVENTS)].reset_index(drop=True)


def apply_quantity_events(pos: pd.DataFrame, events: pd.DataFrame, d: dt.date) -> pd.DataFrame:
    """Events paid by ``d`` applied to settled quantities (the securities are not traded after them)."""
    for ev in events[events["pay_date"] <= d].itertuples():
        hit = pos["security_id"] == ev.security_id
        if ev.event_type == "REDM":
            pos.loc[hit, "quantity"] = 0.0
        else:
            pos.loc[hit, "quantity"] = np.floor(pos.loc[hit, "quantity"] * ev.ratio_new / ev.ratio_old)
    return pos


class CustodyBook:
    """Settled quantities per (fund, account, security) at the close of every date: the opening
    custody positions plus what settled (``settlement_moves``), accumulated once for the window."""

    def __init__(self, world: World, moves: pd.DataFrame):
        opening = world.opening_positions[~world.opening_positions["account"].str.endswith("-OPT")]
        settled = moves[moves["in_custody"]]
        keys = ["fund", "account", "security_id"]
        index = pd.MultiIndex.from_frame(pd.concat([opening[keys], settled[keys]]).drop_duplicates()).sort_values()
        self.keys = index.to_frame(index=False)
        self.row = {d: i for i, d in enumerate(world.dates)}
        base = np.zeros(len(index))
        np.add.at(base, index.get_indexer(pd.MultiIndex.from_frame(opening[keys])), opening["quantity"].to_numpy(dtype=float))
        delta = np.zeros((len(world.dates), len(index)))
        inside = settled["date"].isin(self.row)
        signed = np.where(settled["side"] == "BUY", 1.0, -1.0) * settled["moved_quantity"].to_numpy(dtype=float)
        np.add.at(delta, (settled.loc[inside, "date"].map(self.row).to_numpy(dtype=int),
                          index.get_indexer(pd.MultiIndex.from_frame(settled.loc[inside, keys]))), signed[inside.to_numpy()])
        self.cumulative = base + np.cumsum(delta, axis=0)  # quantities are whole numbers: the sums are exact

    def positions(self, d: dt.date) -> pd.DataFrame:
        return self.keys.assign(quantity=self.cumulative[self.row[d]])


def custodian_positions(world: World, d: dt.date, custody: CustodyBook, events: pd.DataFrame) -> pd.DataFrame:
    """Settled positions per custodian account at the close of ``d``, as the custodian reports them."""
    secs = world.securities()
    pos = custody.positions(d)
    # the custodian applies events on pay date (the stock dividends our books missed included)
    pos = apply_quantity_events(pos, events, d)
    pos = pos[pos["quantity"] != 0].copy()
    if (pos["quantity"] < 0).any():
        raise RuntimeError(f"sample world: negative custodian positions on {d}: {pos[pos['quantity'] < 0].to_dict('records')}")
    r = world.universe.roles
    i = world.index(d)
    fin = len(world.dates) - 1
    anchors = set(world.anchors)
    funds = {f["fund_code"]: f for f in world.universe.funds}
    if "USEQ" in funds:
        useq_acct = funds["USEQ"]["securities_accounts"][0]["account"]
        for ep in world.episodes:
            a = ep.anchor
            # a quantity break that opens three days before the anchor (corrected three days after it)
            if a - 3 <= i <= (fin if ep.final else a + 2):
                hit = (pos["account"] == useq_acct) & (pos["security_id"] == r["position_quantity_break"])
                pos.loc[hit, "quantity"] -= 250
            # a quantity break that lives three days and is then fixed by the custodian
            if a - 6 <= i <= a - 4:
                hit = (pos["account"] == useq_acct) & (pos["security_id"] == r["position_resolved_break"])
                pos.loc[hit, "quantity"] += 1_000
    if "MAHF" in funds and i in anchors:
        mahf_acct = funds["MAHF"]["securities_accounts"][0]["account"]
        pos = pos[~((pos["account"] == mahf_acct) & (pos["security_id"] == r["missing_at_custodian"]))]
    if "GLBD" in funds and i in anchors:
        glbd_acct = funds["GLBD"]["securities_accounts"][0]["account"]
        pos = pd.concat([pos, pd.DataFrame([{"fund": "GLBD", "account": glbd_acct, "security_id": r["missing_in_books"], "quantity": 5_000.0}])])
    pos["isin"] = pos["security_id"].map(secs["isin"])
    pos["security_name"] = pos["security_id"].map(secs["name"])
    pos["price"] = [float(world.prices.at[d, s]) for s in pos["security_id"]]
    pos["currency"] = pos["security_id"].map(secs["currency"])
    mult = pos["security_id"].map(secs["price_multiplier"]).astype(float)
    pos["market_value"] = round_half_up_array(pos["quantity"] * pos["price"] * mult, 2)
    pos["quantity_type"] = np.where(mult == 0.01, "FAMT", "UNIT")
    custodian_of = {a["account"]: a["custodian"] for f in world.universe.funds for a in f["securities_accounts"]}
    pos["custodian_id"] = pos["account"].map(custodian_of)
    pos["statement_date"] = d
    cols = ["statement_date", "custodian_id", "account", "isin", "security_name", "quantity", "quantity_type", "price", "currency", "market_value"]
    return pos.sort_values(["custodian_id", "account", "isin"])[cols].reset_index(drop=True)


def settlement_status(world: World, d: dt.date, settlements: pd.DataFrame) -> pd.DataFrame:
    """The custodian's status report (MT548 / sese.024 style) for every open or just-settled instruction."""
    t = settlements[settlements["in_custody"] & (settlements["trade_date"] <= d)]
    fails = world.fails.set_index("trade_id") if len(world.fails) else None
    open_or_today = t[(t["settlement_date"] >= d) | (t["failing"] & (t["settled_by"] >= d))]
    rows = []
    unmatched = world.universe.roles.get("unmatched_bond")
    custodian_of = {a["account"]: a["custodian"] for f in world.universe.funds for a in f["securities_accounts"]}
    for tr in open_or_today.itertuples():
        match, status, reason, settled_q, settled_cash, effective = "MACH", "PEND", "", 0.0, 0.0, None
        if tr.security_id == unmatched and tr.trade_id.endswith("960") and tr.trade_date == d:
            match, reason = "NMAT", "CMIS"  # the counterparty instructs the next day
        if tr.settlement_date > d:
            pass
        elif tr.failing and d < tr.settled_by:
            f = fails.loc[tr.trade_id]
            status, reason = ("PART" if f["settled_quantity"] > 0 else "PENF"), f["reason_code"]
            settled_q, settled_cash = tr.settled_quantity, tr.settled_cash
            effective = tr.settlement_date if f["settled_quantity"] > 0 else None
        else:  # settled today: on the intended date, or (an earlier episode's fail) late
            status, settled_q, settled_cash, effective = "SETT", tr.quantity, tr.net_amount, d
        rows.append({
            "status_date": d, "custodian_id": custodian_of.get(tr.account, ""), "account": tr.account, "client_reference": tr.trade_id,
            "isin": tr.isin, "movement": "RVP" if tr.side == "BUY" else "DVP", "quantity": tr.quantity, "settlement_amount": tr.net_amount,
            "currency": tr.currency, "trade_date": tr.trade_date, "intended_settlement_date": tr.settlement_date,
            "match_status": match, "settlement_status": status, "reason_code": reason, "settled_quantity": settled_q,
            "settled_amount": settled_cash, "effective_settlement_date": effective,
        })
    cols = ["status_date", "custodian_id", "account", "client_reference", "isin", "movement", "quantity", "settlement_amount", "currency",
            "trade_date", "intended_settlement_date", "match_status", "settlement_status", "reason_code", "settled_quantity",
            "settled_amount", "effective_settlement_date"]
    return pd.DataFrame(rows, columns=cols)


# ---------------------------------------------------------------------------------------------
# market data


def prices(world: World, d: dt.date, rng: np.random.Generator, side_rng: np.random.Generator) -> pd.DataFrame:
    """The vendors' prices of ``d``. The maturing note's secondary price is drawn from ``side_rng``
    (so adding it changed no other price); nothing is delivered for an option after its expiry or
    a bond after its maturity."""
    secs = world.universe.securities
    r = world.universe.roles
    anchored = d in {world.dates[a] for a in world.anchors}
    stale = any(world.dates[max(a - 4, 0)] <= d <= world.dates[a] for a in world.anchors)
    rows = []
    for sec in secs.itertuples():
        if sec.asset_class == "option" and isinstance(sec.expiry_date, str) and d > dt.date.fromisoformat(sec.expiry_date):
            continue  # (options and the maturing note draw nothing from ``rng``)
        if sec.asset_class.endswith("bond") and d > dt.date.fromisoformat(sec.maturity_date):
            continue
        true = float(world.prices.at[d, sec.security_id])
        if sec.asset_class == "option":
            sources = [("OPRA", true)]
        elif sec.asset_class == "equity":
            sources = [("BLOOMBERG", true), ("REFINITIV", round(true * (1 + rng.normal(0, 0.0004)), 4))]
        else:
            noise = (side_rng if sec.security_id == MATURING_BOND_ID else rng).normal(0, 0.02)
            sources = [("ICE", true), ("BLOOMBERG", round(true + noise, 4))]
        if anchored:
            if sec.security_id == r["missing_price"]:
                continue
            if sec.security_id == r["price_jump"]:
                sources[0] = (sources[0][0], round(true * 1.12, 4))
        if sec.security_id == r["stale_price"] and stale:
            sources = [(s, true) for s, _ in sources]  # neither vendor has a new price: both repeat the last close
        for source, px in sources:
            rows.append({"price_date": d, "security_id": sec.security_id, "isin": sec.isin, "source": source, "price": px,
                         "currency": sec.currency, "price_type": "EVAL" if sec.asset_class.endswith("bond") else "CLOSE"})
    return pd.DataFrame(rows)


def fx_rates(world: World, d: dt.date) -> pd.DataFrame:
    anchored = d in {world.dates[a] for a in world.anchors}
    rows = []
    for ccy in world.fx.columns:
        if ccy == "USD":
            continue
        rate = float(world.fx.at[d, ccy])
        if anchored and ccy == "CHF":
            rate = round(rate * 1.09, 6)  # a fat-fingered fixing
        rows.append({"rate_date": d, "from_currency": ccy, "to_currency": "USD", "rate": rate, "source": "WMR_4PM_LONDON"})
    return pd.DataFrame(rows)


def books_corporate_actions(world: World, d: dt.date) -> pd.DataFrame:
    """The books' corporate-actions feed of ``d``: events announced and not yet paid, plus any
    event the books learn of late (an earlier episode's stock dividend, on three days after it paid)."""
    events = world.corporate_actions
    active = events[(events["announcement_date"] <= d) & (events["pay_date"] >= d)]
    i = world.index(d)
    late = [eid for eid, (first, last) in world.late_events.items() if first <= i <= last]
    if late:
        extra = world.unbooked_events[world.unbooked_events["event_id"].isin(late)]
        active = pd.concat([active, extra], ignore_index=True).sort_values(["ex_date", "event_id"])
    return active.reset_index(drop=True)


# ---------------------------------------------------------------------------------------------
# bank statements


def plan_bank_charges(world: World) -> None:
    """Where each episode's bank charge lands: the equity fund's USD statement of the charge date
    (bank reference ``B<yymmdd><statement sequence>9999``), booked by the books the next date."""
    funds = {f["fund_code"]: f for f in world.universe.funds}
    world.bank_charges = []
    if "USEQ" not in funds:
        return
    account = cash_account(funds["USEQ"], "USD")
    cal = conventions.payment_calendar("USD")
    for ep in world.episodes:
        if ep.charge is None:
            continue
        d = world.dates[ep.charge]
        seq = sum(1 for x in world.dates[:ep.charge + 1] if cal.is_business_day(x))
        month = d.replace(day=1) - dt.timedelta(days=1)
        world.bank_charges.append({"fund": "USEQ", "account": account, "currency": "USD", "date": d, "episode": world.dates[ep.anchor],
                                   "booked": world.dates[ep.charge_booked] if ep.charge_booked is not None else None,
                                   "bank_reference": f"B{d:%y%m%d}{seq:03d}9999",
                                   "description": f"CUSTODY ACCOUNT MAINTENANCE FEE {month:%b %Y}".upper()})


def cash_entries(world: World, settlements: pd.DataFrame, view: str = "bank") -> pd.DataFrame:
    """Every cash movement per fund account and value date: as the banks book it (``view="bank"``:
    what actually settled and when, withholding as the paying agent applied it and its later refund)
    or as the books expect it (``view="books"``: every trade on its contractual settlement date, the
    fund's treaty rates, bank charges once the books have seen them)."""
    funds = {f["fund_code"]: f for f in world.universe.funds}
    secs = world.securities()
    rows = []
    if view == "bank":
        for t in settlement_moves(settlements).itertuples():
            amount = t.moved_cash if t.side == "SELL" else -t.moved_cash
            rows.append((t.fund, t.currency, t.date, amount, "NSEC", t.trade_id, f"{'SALE' if t.side == 'SELL' else 'PURCHASE'} {t.quantity:,.0f} {t.isin or t.security_id}"))
    else:
        for t in settlements.itertuples():
            amount = t.net_amount if t.side == "SELL" else -t.net_amount
            rows.append((t.fund, t.currency, t.settlement_date, amount, "NSEC", t.trade_id, f"{'SALE' if t.side == 'SELL' else 'PURCHASE'} {t.quantity:,.0f} {t.isin or t.security_id}"))
    events = world.corporate_actions
    refunds = []
    for ev in events[events["event_type"].isin(["DVCA", "INTR", "REDM"])].itertuples():
        for fund in funds.values():
            of_record = coupon_holder_of_record(world, fund["fund_code"], ev)
            held = _holding_at(world, fund["fund_code"], ev.security_id, ev.ex_date) if of_record is None else of_record
            if not held:
                continue
            if ev.event_type == "DVCA":
                country = secs.at[ev.security_id, "country"]
                rate = treaty = fund["withholding_tax_pct"].get(country, 0.0)
                if view == "bank" and ev.security_id == world.universe.roles["dividend_eu_wht"]:
                    rate = WHT_CHARGED_PCT  # the paying agent withheld at the full German rate, not the treaty rate
                amount = float(round_half_up_array(held * ev.gross_rate * (1 - rate / 100), 2))
                text = f"DIVIDEND {ev.isin} {held:,.0f} SH GROSS {ev.gross_rate} WHT {rate}%"
                code = "NDIV"
                refund_i = world.wht_refunds.get(ev.event_id)
                if view == "bank" and refund_i is not None and rate != treaty:  # ... and refunds the excess later
                    expected = float(round_half_up_array(held * ev.gross_rate * (1 - treaty / 100), 2))
                    refunds.append((fund["fund_code"], ev.currency, world.dates[refund_i], float(round_half_up_array(expected - amount, 2)), "NDIV",
                                    ev.event_id, f"WHT REFUND {ev.isin} {held:,.0f} SH WHT {rate}% TO TREATY {treaty}%"))
            elif ev.event_type == "INTR":
                # the custodian pays the holder of record; a trade crossing the record date is a market
                # claim, paid when the trade settles (or on the pay date, if later)
                for tid, quantity, on in _market_claims(world, fund["fund_code"], ev) if of_record is None else ():
                    held -= quantity
                    rows.append((fund["fund_code"], ev.currency, max(on, ev.pay_date), float(round_half_up_array(quantity * ev.gross_rate / 100, 2)),
                                 "NINT", ev.event_id, f"MARKET CLAIM {ev.isin} NOMINAL {quantity:,.0f} TRADE {tid}"))
                amount = float(round_half_up_array(held * ev.gross_rate / 100, 2))
                text = f"COUPON {ev.isin} NOMINAL {held:,.0f}"
                code = "NINT"
            else:
                amount = float(round_half_up_array(held * ev.gross_rate / 100, 2))
                text = f"REDEMPTION {ev.isin} NOMINAL {held:,.0f} AT {ev.gross_rate:g}"
                code = "NRED"
            rows.append((fund["fund_code"], ev.currency, ev.pay_date, amount, code, ev.event_id, text))
    for o in world.capital_activity.itertuples():
        amount = o.amount if o.order_type == "SUB" else -o.amount
        rows.append((o.fund, o.currency, o.settlement_date, amount, "NTRF", o.order_id, f"{'SUBSCRIPTION' if o.order_type == 'SUB' else 'REDEMPTION'} {o.fund} {o.share_class} {o.investor_id}"))
    for f in world.fee_payments.itertuples():
        if f.fee_type == "performance":
            label = f"PERFORMANCE FEE CLASS {f.share_class} CRYSTALLISED {f.pay_date.year - 1}"
            reference = f"P{f.pay_date:%y%m}{f.fund}{f.share_class}"
        else:
            label = f"MANAGEMENT FEE CLASS {f.share_class}" if f.fee_type == "management" else "AUDIT AND ADMINISTRATION FEES"
            reference = f"F{f.pay_date:%y%m}{f.fund}{f.share_class or 'FX'}"
        rows.append((f.fund, f.currency, f.pay_date, -f.amount, "NCHG", reference, label))
    rows += refunds
    movement = [None] * len(rows)
    if view == "books":
        for ch in world.bank_charges:
            if ch["booked"] is not None:  # the books take the bank's charge the next day, keyed by the bank's reference
                rows.append((ch["fund"], ch["currency"], ch["booked"], -BANK_CHARGE, "NCHG", ch["bank_reference"], ch["description"]))
                movement.append("BANK_CHARGE")
    entries = pd.DataFrame(rows, columns=["fund", "currency", "value_date", "amount", "transaction_code", "customer_reference", "description"])
    entries["account"] = [cash_account(funds[f], c) for f, c in zip(entries["fund"], entries["currency"])]
    entries["movement_type"] = movement
    return entries


MOVEMENT_TYPES = {"NSEC": "TRADE_SETTLEMENT", "NDIV": "DIVIDEND", "NINT": "COUPON", "NCHG": "FEE_PAYMENT", "NRED": "BOND_REDEMPTION"}


def cash_ledger(entries: pd.DataFrame, d: dt.date) -> pd.DataFrame:
    """The books' cash ledger export for value date ``d`` (the fund accounting system's expected movements)."""
    day = entries[entries["value_date"] == d]
    movement = day["transaction_code"].map(MOVEMENT_TYPES)
    capital = day["transaction_code"].eq("NTRF")
    movement = movement.where(~capital, np.where(day["amount"] > 0, "SUBSCRIPTION", "REDEMPTION"))
    if "movement_type" in day:
        movement = movement.where(day["movement_type"].isna(), day["movement_type"])
    ledger = pd.DataFrame({
        "fund": day["fund"], "account": day["account"], "currency": day["currency"], "value_date": day["value_date"],
        "amount": day["amount"], "movement_type": movement, "reference": day["customer_reference"], "description": day["description"],
    })
    return ledger.sort_values(["fund", "account", "reference"]).reset_index(drop=True)


def _market_claims(world: World, fund: str, ev) -> list[tuple[str, float, dt.date]]:
    """(trade id, nominal the fund claims (+) or owes (-), the trade's settlement date) for each trade
    that makes the holder of record differ from the entitled holder: made before the ex-date and
    settling after the record date (the buyer claims), or made from the ex-date and settling by it."""
    t = world.trades
    t = t[(t["fund"] == fund) & (t["security_id"] == ev.security_id)]
    out = []
    for r in t.itertuples():
        signed = r.quantity if r.side == "BUY" else -r.quantity
        if r.trade_date < ev.ex_date and r.settlement_date > ev.record_date:
            out.append((r.trade_id, float(signed), r.settlement_date))
        elif r.trade_date >= ev.ex_date and r.settlement_date <= ev.record_date:
            out.append((r.trade_id, float(-signed), r.settlement_date))
    return out


def _holding_at(world: World, fund: str, security_id: str, ex_date: dt.date) -> float:
    """Trade-date holding at the close before ``ex_date`` (entitlement)."""
    op = world.opening_positions
    qty = float(op.loc[(op["fund"] == fund) & (op["security_id"] == security_id), "quantity"].sum())
    t = world.trades
    t = t[(t["fund"] == fund) & (t["security_id"] == security_id) & (t["trade_date"] < ex_date)]
    qty += float((np.where(t["side"] == "BUY", 1, -1) * t["quantity"]).sum())
    for ev in world.corporate_actions[(world.corporate_actions["event_type"] == "SPLF") & (world.corporate_actions["security_id"] == security_id)
                                      & (world.corporate_actions["ex_date"] < ex_date)].itertuples():
        qty = float(np.floor(qty * ev.ratio_new / ev.ratio_old))
    return qty


def bank_statements(world: World, entries: pd.DataFrame, story: SeededExceptions) -> dict[tuple[str, dt.date], tuple[str, BankStatement]]:
    """One statement per cash account and payment-system business day; balances chain day to day."""
    out = {}
    bank_bic = dict(zip(world.universe.counterparties["counterparty_id"], world.universe.counterparties["bic"]))
    fin = world.final_date
    charges = {(ch["account"], ch["date"]): ch for ch in world.bank_charges}
    unbalanced = {world.dates[ep.unbalanced]: world.dates[ep.anchor] for ep in world.episodes if ep.unbalanced is not None}
    for fund in world.universe.funds:
        for acct in fund["cash_accounts"]:
            account, ccy = acct["account"], acct["currency"]
            cal = conventions.payment_calendar(ccy)
            opening = world.opening_cash[(world.opening_cash["account"] == account)]["balance"].sum()
            balance = Decimal(str(opening))
            seq = 0
            mine = entries[entries["account"] == account]
            by_date = {d: day for d, day in mine.groupby("value_date", sort=False)}
            previous = world.opening_date
            for d in world.dates:
                if not cal.is_business_day(d):
                    previous = d
                    continue
                seq += 1
                day = by_date.get(d, mine.iloc[:0])
                stmt_entries = [
                    StatementEntry(value_date=d, booking_date=d, amount=Decimal(f"{row.amount:.2f}"), currency=ccy,
                                   transaction_code=row.transaction_code, customer_reference=row.customer_reference,
                                   bank_reference=f"B{d:%y%m%d}{seq:03d}{k:04d}", description=row.description)
                    for k, row in enumerate(day.itertuples(), start=1)
                ]
                charge = charges.get((account, d)) if fund["fund_code"] == "USEQ" else None
                if charge is not None:
                    assert charge["bank_reference"] == f"B{d:%y%m%d}{seq:03d}9999"
                    stmt_entries.append(StatementEntry(d, d, Decimal(f"{-BANK_CHARGE:.2f}"), ccy, "NCHG", "NONREF", charge["bank_reference"],
                                                       charge["description"]))
                    story.add("cash", "cash_missing_in_books", "USEQ", d, episode=charge["episode"], account=account, amount=-BANK_CHARGE,
                              transaction_code="NCHG", description="bank charge on the statement that the books do not have",
                              bank_reference=charge["bank_reference"], booked_on=charge["booked"])
                closing = balance + sum((e.amount for e in stmt_entries), Decimal("0"))
                if closing < 0:
                    raise RuntimeError(f"sample world: bank account {account} ({fund['fund_code']}) overdrawn on {d}: {closing}")
                reported_closing = closing
                if fund["fund_code"] == "GLBD" and ccy == "USD" and d in unbalanced:
                    reported_closing = closing + Decimal("100.00")
                    story.add("cash", "statement_unbalanced", "GLBD", d, episode=unbalanced[d], account=account, statement_id=_statement_id(account, d),
                              opening_balance=float(balance), entries_total=float(closing - balance), reported_closing=float(reported_closing),
                              difference=100.00, description="the bank's closing balance is 100.00 above opening + entries; the next statement opens from the true balance, so the chain breaks too")
                out[(account, d)] = (acct["statement_format"], BankStatement(
                    account=account, currency=ccy, statement_id=_statement_id(account, d), sequence_number=f"{seq:05d}/001",
                    opening_date=previous, opening_balance=balance, closing_date=d, closing_balance=reported_closing, entries=tuple(stmt_entries),
                    bic=bank_bic.get(acct["bank"], ""),
                ))
                balance = closing
                previous = d
            # value dates on days the payment system is closed, or no files are delivered, would be a bug in the world
            off = mine[[not (cal.is_business_day(v) and world.session.is_business_day(v)) for v in mine["value_date"]]]
            if len(off) and (off["value_date"] <= fin).any():
                raise RuntimeError(f"sample world: cash on a closed day for {account}: {off.head()}")
    return out


def _statement_id(account: str, d: dt.date) -> str:
    """The bank's statement reference (MT940 :20:, at most 16 characters)."""
    return f"{account[-8:]}{d:%Y%m%d}"


def statement_bytes(fmt: str, statement: BankStatement, sender_bic: str) -> bytes:
    if fmt == "mt940":
        return write_mt940([statement], sender_bic=sender_bic or "ATLTUS3BXXX").encode("utf-8")
    created = dt.datetime.combine(statement.closing_date, dt.time(18, 30))
    return write_camt053([statement], message_id=f"CAMT{statement.statement_id}", created_at=created)


# ---------------------------------------------------------------------------------------------
# broker confirmations


def _confirms_of(t: pd.DataFrame) -> pd.DataFrame:
    """The broker's confirmation of each trade of ``t``, as booked (what a clean confirmation says)."""
    return pd.DataFrame({
        "confirm_id": [f"C{tid[1:]}" for tid in t["trade_id"]], "broker_id": t["broker_id"].to_numpy(),
        "client_reference": t["trade_id"].to_numpy(), "account": t["account"].to_numpy(), "isin": t["isin"].to_numpy(),
        "side": t["side"].to_numpy(), "quantity": t["quantity"].to_numpy(), "price": t["price"].to_numpy(), "currency": t["currency"].to_numpy(),
        "gross_amount": t["gross_amount"].to_numpy(), "commission": t["commission"].to_numpy(), "fees": t["fees"].to_numpy(),
        "net_amount": t["net_amount"].to_numpy(), "trade_date": t["trade_date"].to_numpy(), "settlement_date": t["settlement_date"].to_numpy(),
    })


def _seeded_trade_picks(world: World, d: dt.date) -> dict[str, str | None]:
    """The trades of date ``d`` whose confirmations the stories break: on an anchor ``price``,
    ``quantity``, ``net_amount`` (USEQ) and ``unconfirmed`` (MAHF); the day before an anchor
    ``settlement_date`` (GLBD, else USEQ)."""
    t = world.trades[world.trades["trade_date"] == d]
    random_trades = t[~t["trade_id"].str[-3:].str.startswith("9")]  # seeded and scheduled trades (9xx) keep clean confirms

    def pick(fund: str, n: int) -> str | None:
        rows = random_trades[(random_trades["fund"] == fund) & (random_trades["asset_class"] == "equity")]
        return rows["trade_id"].iloc[n] if len(rows) > n else None

    return {"price": pick("USEQ", 0), "quantity": pick("USEQ", 1), "net_amount": pick("USEQ", 2), "unconfirmed": pick("MAHF", 0),
            "settlement_date": pick("GLBD", 0) or pick("USEQ", 3)}


def _corrections(world: World, i: int) -> pd.DataFrame:
    """Confirmations an earlier episode's broker sends late or corrected on date index ``i``, as
    booked: the day after its anchor the unconfirmed trade's confirmation and the corrected
    settlement date (of the day before the anchor), two days after it the corrected price,
    quantity and net amount. (The final episode's breaks stay open to the final date.)"""
    due = []
    for ep in world.episodes:
        if ep.final:
            continue
        at = world.trades["trade_date"]
        if i == ep.anchor + 1:
            anchor, before = _seeded_trade_picks(world, world.dates[ep.anchor]), _seeded_trade_picks(world, world.dates[ep.anchor - 1])
            due += [(world.dates[ep.anchor], anchor["unconfirmed"]), (world.dates[ep.anchor - 1], before["settlement_date"])]
        if i == ep.anchor + 2:
            anchor = _seeded_trade_picks(world, world.dates[ep.anchor])
            due += [(world.dates[ep.anchor], anchor[role]) for role in ("price", "quantity", "net_amount")]
    wanted = [(day, tid) for day, tid in due if tid is not None]
    if not wanted:
        return _confirms_of(world.trades.iloc[0:0])
    rows = pd.concat([world.trades[(at == day) & (world.trades["trade_id"] == tid)] for day, tid in wanted], ignore_index=True)
    return _confirms_of(rows)


def broker_confirms(world: World, d: dt.date, story: SeededExceptions) -> pd.DataFrame:
    """Broker confirmations of the day's trades, with the seeded trade breaks (on each anchor, and
    a settlement-date difference the day before it), and an earlier episode's late and corrected
    confirmations (``_corrections``), which keep their trade's date."""
    t = world.trades[world.trades["trade_date"] == d]
    conf = _confirms_of(t)
    i = world.index(d)
    anchors = set(world.anchors)
    picks = _seeded_trade_picks(world, d)
    fin = world.dates[-1]

    def at(tid):
        return conf["client_reference"] == tid

    if i in anchors:
        episode = d
        ep = world.episode_of(i)
        # an earlier episode's broker corrects (or confirms) two days (one day) after the anchor
        lasts = {} if ep.final else {"fixed": (world.dates[i + 1], world.dates[i + 2]), "late": (d, world.dates[i + 1])}

        def lived(kind: str) -> dict:
            if ep.final:
                return {}
            last, fixed = lasts[kind]
            return {"last_date": last, "resolved_on": fixed}

        def told(kind: str) -> dict:
            if ep.final:
                return {}
            what = "its corrected confirmation" if kind == "fixed" else "its confirmation"
            return {"note": f"the broker sends {what} on {lasts[kind][1].isoformat()}: the break lives until then"}

        if (tid := picks["price"]) is not None:
            conf.loc[at(tid), "price"] = conf.loc[at(tid), "price"] + 0.05
            q, p = conf.loc[at(tid), ["quantity", "price"]].iloc[0]
            gross = float(round_half_up_array(q * p, 2))
            delta = gross - float(conf.loc[at(tid), "gross_amount"].iloc[0])
            conf.loc[at(tid), "gross_amount"] = gross
            # the net amount moves with the gross whichever the side (costs are unchanged)
            conf.loc[at(tid), "net_amount"] = float(round_half_up_array(conf.loc[at(tid), "net_amount"].iloc[0] + delta, 2))
            story.add("trade", "trade_price_difference", "USEQ", d, lived("fixed").get("last_date"), episode=episode, trade_id=tid, field="price",
                      difference=0.05, **{k: v for k, v in lived("fixed").items() if k != "last_date"}, **told("fixed"))
        if (tid := picks["quantity"]) is not None:
            row = conf.loc[at(tid)].iloc[0]
            new_q = row["quantity"] - 100
            ratio = new_q / row["quantity"]
            conf.loc[at(tid), "quantity"] = new_q
            for col in ("gross_amount", "commission", "fees", "net_amount"):
                conf.loc[at(tid), col] = float(round_half_up_array(row[col] * ratio, 2))
            story.add("trade", "trade_quantity_difference", "USEQ", d, lived("fixed").get("last_date"), episode=episode, trade_id=tid,
                      field="quantity", difference=-100.0, **{k: v for k, v in lived("fixed").items() if k != "last_date"}, **told("fixed"))
        if (tid := picks["net_amount"]) is not None:
            conf.loc[at(tid), "commission"] = conf.loc[at(tid), "commission"] + 25.0
            side = conf.loc[at(tid), "side"].iloc[0]
            conf.loc[at(tid), "net_amount"] = conf.loc[at(tid), "net_amount"] + (25.0 if side == "BUY" else -25.0)
            story.add("trade", "trade_net_amount_difference", "USEQ", d, lived("fixed").get("last_date"), episode=episode, trade_id=tid,
                      field="net_amount", difference=25.0 if side == "BUY" else -25.0,
                      **{k: v for k, v in lived("fixed").items() if k != "last_date"}, **told("fixed"))
        if (tid := picks["unconfirmed"]) is not None:
            conf = conf[~at(tid)]
            story.add("trade", "trade_unconfirmed", "MAHF", d, lived("late").get("last_date"), episode=episode, trade_id=tid,
                      **{k: v for k, v in lived("late").items() if k != "last_date"}, **told("late"))
        funds = {f["fund_code"]: f for f in world.universe.funds}
        if "USEQ" in funds:
            sec = world.universe.securities.iloc[4]
            px = float(world.prices.at[d, sec["security_id"]])
            gross = float(round_half_up_array(1_200 * px, 2))
            comm = float(round_half_up_array(gross * 0.0005, 2))
            extra = {"confirm_id": f"C{d:%y%m%d}NOR7731", "broker_id": "BRK-NOR", "client_reference": f"T{d:%y%m%d}USEQ977",
                     "account": funds["USEQ"]["securities_accounts"][0]["account"], "isin": sec["isin"], "side": "BUY", "quantity": 1_200.0,
                     "price": px, "currency": "USD", "gross_amount": gross, "commission": comm, "fees": 0.0, "net_amount": gross + comm,
                     "trade_date": d, "settlement_date": conventions.settlement_date(d, sec["mic"], "equity", "USD")}
            conf = pd.concat([conf, pd.DataFrame([extra])], ignore_index=True)
            story.add("trade", "confirm_without_trade", "USEQ", d, episode=episode, confirm_id=extra["confirm_id"],
                      client_reference=extra["client_reference"], broker_id="BRK-NOR")
    if i + 1 in anchors and (tid := picks["settlement_date"]) is not None:
        cal = conventions.settlement_calendar("XNYS", "USD")
        conf.loc[at(tid), "settlement_date"] = cal.add_business_days(conf.loc[at(tid), "settlement_date"].iloc[0], 1)
        # the break lives until the broker corrects it: the day after the anchor (an earlier episode), never in the window (the final one)
        final = world.episode_of(i + 1).final
        details = {} if final else {"resolved_on": world.dates[i + 2],
                                    "note": f"the broker sends its corrected confirmation on {world.dates[i + 2].isoformat()}: the break lives until then"}
        story.add("trade", "trade_settlement_date_difference", str(t.loc[t["trade_id"] == tid, "fund"].iloc[0]), d,
                  fin if final else world.dates[i + 1], episode=world.dates[i + 1], trade_id=tid, field="settlement_date", **details)
    late = _corrections(world, i)
    if len(late):
        conf = pd.concat([conf, late], ignore_index=True)
    return conf[CONFIRM_COLUMNS].reset_index(drop=True)
