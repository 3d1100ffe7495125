"""The sample world's moving side: true prices and FX, the opening book, trades, corporate actions,
capital activity, settlement outcomes and the fund administrator's NAV, day by day.

This is the *truth* the feeds are cut from. The feeds module then writes it out as each source
would deliver it, with the seeded exceptions applied on top.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from bo_lib import calendars
from bo_lib.data.sample_world.universe import Universe, fund_eligible_securities
from bo_lib.money import round_half_up_array
from bo_lib.nav.daycount import accrued_interest, coupon_period

FX_START = {"USD": 1.0, "EUR": 1.0850, "GBP": 1.2900, "CHF": 1.1300, "JPY": 0.006700}  # USD per unit
SEC_FEE_RATE = 0.0000278  # SEC Section 31 fee on US equity sales
FR_FTT_RATE = 0.004  # French financial transaction tax on purchases of large French issuers
OPENING_NPS = {"USEQ": {"A": 24.1837, "I": 25.9012}, "GLBD": {"R": 101.2345, "I": 104.5567}, "MAHF": {"A": 1187.4400, "F": 1243.9100}}
OPENING_HWM = {"MAHF": {"A": 1150.0, "F": 1300.0}}


@dataclass
class World:
    universe: Universe
    opening_date: dt.date
    dates: list[dt.date]
    prices: pd.DataFrame  # index date (opening + dates), columns security_id: true clean price
    fx: pd.DataFrame  # index date, columns currency: USD per unit
    opening_positions: pd.DataFrame
    opening_cash: pd.DataFrame
    opening_classes: pd.DataFrame
    trades: pd.DataFrame = field(default_factory=pd.DataFrame)
    corporate_actions: pd.DataFrame = field(default_factory=pd.DataFrame)  # events the books know
    unbooked_events: pd.DataFrame = field(default_factory=pd.DataFrame)  # applied by custodian/admin only
    capital_activity: pd.DataFrame = field(default_factory=pd.DataFrame)
    nav: pd.DataFrame = field(default_factory=pd.DataFrame)  # administrator's NAV per class and date (true)
    fee_payments: pd.DataFrame = field(default_factory=pd.DataFrame)
    fails: pd.DataFrame = field(default_factory=pd.DataFrame)  # seeded settlement fails
    seeded: list[dict] = field(default_factory=list)

    @property
    def final_date(self) -> dt.date:
        return self.dates[-1]

    def securities(self) -> pd.DataFrame:
        return self.universe.securities.set_index("security_id", drop=False)


# ---------------------------------------------------------------------------------------------
# market


def simulate_prices(rng: np.random.Generator, securities: pd.DataFrame, all_dates: list[dt.date]) -> pd.DataFrame:
    """Random walks with capped daily moves, rounded to 4 decimals, never unchanged day to day
    (so a stale price in a feed is always a seeded one)."""
    n_days, n_sec = len(all_dates), len(securities)
    ac = securities["asset_class"].to_numpy()
    is_bond = np.isin(ac, ["government_bond", "corporate_bond"])
    is_option = ac == "option"
    start = np.where(is_bond, rng.uniform(94, 106, n_sec), np.where(is_option, rng.uniform(6, 18, n_sec), rng.uniform(25, 300, n_sec)))
    vol = np.where(is_bond, 0.0015, np.where(is_option, 0.05, 0.012))
    cap = np.where(is_bond, 0.006, np.where(is_option, 0.15, 0.035))
    shocks = np.clip(rng.normal(0.0002, 1.0, (n_days, n_sec)) * vol, -cap, cap)
    shocks[0] = 0.0
    levels = start * np.exp(np.cumsum(shocks, axis=0))
    prices = pd.DataFrame(np.round(levels, 4), index=all_dates, columns=securities["security_id"].to_numpy())
    return _never_unchanged(prices)


def _never_unchanged(prices: pd.DataFrame) -> pd.DataFrame:
    values = prices.to_numpy().copy()
    for i in range(1, len(values)):
        same = values[i] == values[i - 1]
        values[i, same] += 0.0001
    return pd.DataFrame(values, index=prices.index, columns=prices.columns)


def simulate_fx(rng: np.random.Generator, all_dates: list[dt.date]) -> pd.DataFrame:
    columns = list(FX_START)
    shocks = np.clip(rng.normal(0, 0.004, (len(all_dates), len(columns))), -0.012, 0.012)
    shocks[0] = 0.0
    shocks[:, 0] = 0.0
    levels = np.array([FX_START[c] for c in columns]) * np.exp(np.cumsum(shocks, axis=0))
    return pd.DataFrame(np.round(levels, 6), index=all_dates, columns=columns)


def fx_rate(fx: pd.DataFrame, on: dt.date, from_ccy: str, to_ccy: str) -> float:
    return float(fx.at[on, from_ccy] / fx.at[on, to_ccy])


# ---------------------------------------------------------------------------------------------
# opening book


def _class_opening(fund: dict) -> list[dict]:
    rows = []
    nps_by_class = OPENING_NPS.get(fund["fund_code"][:4], {})
    for sc in fund["share_classes"]:
        nps = nps_by_class.get(sc["code"], 100.0)
        net_assets = fund["opening_net_assets"] * fund["class_split"][sc["code"]]
        units = float(round_half_up_array(net_assets / nps, fund["unit_decimals"]))
        hwm = OPENING_HWM.get(fund["fund_code"][:4], {}).get(sc["code"])
        perf = sc.get("performance_fee")
        perf_liability = 0.0
        if perf and hwm is not None:
            r = perf["rate_pct"] / 100
            gross = (nps - r * hwm) / (1 - r)
            if gross > hwm:
                perf_liability = r * (gross - hwm) * units
        rows.append({
            "fund": fund["fund_code"], "share_class": sc["code"], "currency": sc["currency"], "units_outstanding": units,
            "nav_per_share": nps, "net_assets": float(round_half_up_array(units * nps, 2)),
            "high_water_mark": hwm, "performance_fee_accrued": float(round_half_up_array(perf_liability, 2)),
        })
    return rows


def _security_value(sec: pd.Series, quantity: float, price: float, on: dt.date) -> tuple[float, float]:
    """(market value, accrued interest) in the security's currency."""
    mv = quantity * price * float(sec["price_multiplier"])
    ai = 0.0
    if sec["asset_class"] in ("government_bond", "corporate_bond"):
        ai = accrued_interest(on, quantity, float(sec["coupon_rate"]), dt.date.fromisoformat(sec["maturity_date"]),
                              int(sec["coupon_frequency"]), sec["day_count"], int(sec["ex_coupon_days"] or 0))
    return mv, ai


def build_opening(rng: np.random.Generator, universe: Universe, opening_date: dt.date, prices: pd.DataFrame, fx: pd.DataFrame):
    positions, cash, classes = [], [], []
    for fund in universe.funds:
        code, base = fund["fund_code"], fund["base_currency"]
        fund_classes = _class_opening(fund)
        classes += fund_classes
        total = sum(c["net_assets"] + c["performance_fee_accrued"] for c in fund_classes)
        eligible = fund_eligible_securities(universe, fund)
        # the small-cap's holding is fixed in shares (for the 5% story): reserve its value first
        crossing = universe.roles["threshold_crossing"]
        reserved = 0.0
        if (eligible["security_id"] == crossing).any():
            sec = eligible.loc[eligible["security_id"] == crossing].iloc[0]
            share = 0.030 if code.startswith("USEQ") else 0.018
            reserved = float(sec["shares_outstanding"]) * share * float(prices.at[opening_date, crossing]) * fx_rate(fx, opening_date, sec["currency"], base) / total
        weights = rng.dirichlet(np.full(len(eligible), 3.0)) * max(0.93 - reserved, 0.5)
        invested = 0.0
        for (_, sec), w in zip(eligible.iterrows(), weights):
            px = float(prices.at[opening_date, sec["security_id"]])
            to_base = fx_rate(fx, opening_date, sec["currency"], base)
            if sec["security_id"] == universe.roles["threshold_crossing"]:
                # 3.0% of shares outstanding in USEQ, 1.8% in MAHF: 4.8% together, below the 5% line
                qty = float(np.round(float(sec["shares_outstanding"]) * (0.030 if code.startswith("USEQ") else 0.018)))
            elif sec["asset_class"] == "option":
                qty = float(rng.integers(5, 20) * 10)
            elif sec["asset_class"] == "equity":
                qty = float(max(100, round(total * w / to_base / px / 100) * 100))
            else:
                qty = float(max(10_000, round(total * w / to_base / (px / 100) / 10_000) * 10_000))
            mv, ai = _security_value(sec, qty, px, opening_date)
            invested += (mv + ai) * to_base
            account = _securities_account(fund, sec)
            cost = px * (1 + rng.uniform(-0.15, 0.10)) if sec["asset_class"] == "equity" else px * (1 + rng.uniform(-0.04, 0.03))
            positions.append({"fund": code, "account": account, "security_id": sec["security_id"], "isin": sec["isin"],
                              "quantity": qty, "average_cost": round(cost, 4), "currency": sec["currency"]})
        remaining = total - invested
        side_accounts = [a for a in fund["cash_accounts"] if a["currency"] != base]
        for acct in side_accounts:
            amount = float(round_half_up_array(total * 0.02 / fx_rate(fx, opening_date, base, acct["currency"]) ** -1 if False else total * 0.02 * fx_rate(fx, opening_date, base, acct["currency"]), 2))
            cash.append({"fund": code, "account": acct["account"], "currency": acct["currency"], "balance": amount})
            remaining -= amount * fx_rate(fx, opening_date, acct["currency"], base)
        base_account = next(a for a in fund["cash_accounts"] if a["currency"] == base)
        cash.append({"fund": code, "account": base_account["account"], "currency": base, "balance": float(round_half_up_array(remaining, 2))})
        if remaining < 0.01 * total:
            raise RuntimeError(f"sample world: opening cash of {code} would be {remaining:,.2f}; adjust weights")
    return pd.DataFrame(positions), pd.DataFrame(cash), pd.DataFrame(classes)


def _securities_account(fund: dict, sec: pd.Series) -> str:
    if sec["asset_class"] == "option":
        return f"{fund['securities_accounts'][0]['account']}-OPT"  # held at the clearing broker, no custody feed
    for acct in fund["securities_accounts"]:
        if sec["mic"] in acct["markets"]:
            return acct["account"]
    return fund["securities_accounts"][0]["account"]


def cash_account(fund: dict, currency: str) -> str:
    for acct in fund["cash_accounts"]:
        if acct["currency"] == currency:
            return acct["account"]
    raise KeyError(f"{fund['fund_code']} has no {currency} cash account")


# ---------------------------------------------------------------------------------------------
# trading


def _broker_for(sec: pd.Series, rng: np.random.Generator) -> str:
    if sec["currency"] == "EUR":
        return "BRK-EUX"
    if sec["currency"] == "GBP":
        return "BRK-LMB"
    return str(rng.choice(["BRK-GSX", "BRK-NOR"]))


def _market_of(sec: pd.Series) -> str:
    return "XNYS" if sec["mic"] == "XCBO" else sec["mic"]


def make_trade(fund: dict, sec: pd.Series, side: str, quantity: float, price: float, trade_date: dt.date, seq: int,
               broker: str, closures: pd.DataFrame) -> dict:
    """One internal (OMS) trade with its costs and net amount, settlement date on the real calendar."""
    asset_class = sec["asset_class"]
    settle = calendars.settlement_date(trade_date, sec["mic"], asset_class, sec["currency"], closures)
    gross = quantity * price * float(sec["price_multiplier"])
    accrued = 0.0
    if asset_class in ("government_bond", "corporate_bond"):
        _, accrued = _security_value(sec, quantity, price, settle)
    if asset_class == "option":
        commission = 0.65 * quantity
    elif asset_class == "equity":
        commission = gross * (0.0005 if sec["currency"] == "USD" else 0.0008)
    else:
        commission = 0.0
    fees = 0.0
    if side == "SELL" and sec["currency"] == "USD" and asset_class == "equity":
        fees = gross * SEC_FEE_RATE
    if side == "BUY" and sec["mic"] == "XPAR":
        fees = gross * FR_FTT_RATE
    gross, accrued, commission, fees = (float(round_half_up_array(x, 2)) for x in (gross, accrued, commission, fees))
    net = gross + accrued + commission + fees if side == "BUY" else gross + accrued - commission - fees
    return {
        "trade_id": f"T{trade_date:%y%m%d}{fund['fund_code']}{seq:03d}", "fund": fund["fund_code"],
        "account": _securities_account(fund, sec), "security_id": sec["security_id"], "isin": sec["isin"],
        "side": side, "quantity": quantity, "price": price, "currency": sec["currency"], "gross_amount": gross,
        "accrued_interest": accrued, "commission": commission, "fees": fees, "net_amount": float(round_half_up_array(net, 2)),
        "trade_date": trade_date, "settlement_date": settle, "broker_id": broker, "market": _market_of(sec) if sec["mic"] != "XOFF" else "XOFF",
        "asset_class": asset_class,
    }


def simulate_trades(rng: np.random.Generator, world: World, trades_per_day: dict[str, int]) -> pd.DataFrame:
    """Daily OMS trades per fund; sells never exceed the holding, cash stays within a buffer."""
    secs = world.securities()
    closures = world.universe.closures
    holdings = {(r.fund, r.security_id): r.quantity for r in world.opening_positions.itertuples()}
    cash = {(r.fund, r.currency): r.balance for r in world.opening_cash.itertuples()}
    roles = world.universe.roles
    # securities with a corporate action or a pricing story are not traded at random (no market claims)
    untraded = {roles[k] for k in ("threshold_crossing", "split", "unbooked_stock_dividend", "dividend_us_1", "dividend_us_2",
                                   "dividend_eu_wht", "missing_price", "stale_price", "price_jump", "fail_lack_us", "fail_cmon_us",
                                   "fail_lack_bond", "fail_partial_sme")}
    rows = []
    for d in world.dates:
        for fund in world.universe.funds:
            code = fund["fund_code"]
            eligible = fund_eligible_securities(world.universe, fund)
            eligible = eligible[~eligible["security_id"].isin(untraded)]
            n = trades_per_day.get(code[:4], 4)
            picks = eligible.sample(n=min(n, len(eligible)), random_state=int(rng.integers(1 << 31)))
            for seq, (_, sec) in enumerate(picks.iterrows(), start=1):
                sec = secs.loc[sec["security_id"]]
                px_true = float(world.prices.at[d, sec["security_id"]])
                price = round(px_true * (1 + rng.normal(0, 0.002)), 4)
                held = holdings.get((code, sec["security_id"]), 0.0)
                ccy_cash = cash.get((code, sec["currency"]), 0.0)
                nav_approx = fund["opening_net_assets"]
                to_base = fx_rate(world.fx, d, sec["currency"], fund["base_currency"])
                if sec["asset_class"] == "option":
                    qty = float(rng.integers(1, 5) * 5)
                elif sec["asset_class"] == "equity":
                    qty = float(max(100, round(nav_approx * rng.uniform(0.001, 0.004) / to_base / px_true / 100) * 100))
                else:
                    qty = float(max(10_000, round(nav_approx * rng.uniform(0.002, 0.006) / to_base / (px_true / 100) / 10_000) * 10_000))
                value = qty * px_true * float(sec["price_multiplier"])
                low_cash = (ccy_cash - value) * to_base < 0.01 * nav_approx
                side = "SELL" if (low_cash or rng.random() < 0.45) and held >= qty else "BUY"
                if side == "BUY" and low_cash:
                    continue
                trade = make_trade(fund, sec, side, qty, price, d, seq, _broker_for(sec, rng), closures)
                rows.append(trade)
                sign = 1 if side == "BUY" else -1
                holdings[(code, sec["security_id"])] = held + sign * qty
                cash[(code, sec["currency"])] = ccy_cash - sign * trade["net_amount"]
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------------------------
# roles: which securities carry which seeded story


def assign_roles(universe: Universe) -> dict[str, str]:
    sec = universe.securities
    us = sec[(sec["asset_class"] == "equity") & (sec["country"] == "US")]["security_id"].tolist()
    eu = sec[(sec["asset_class"] == "equity") & (sec["currency"] == "EUR")]["security_id"].tolist()
    bonds = sec[sec["asset_class"].isin(["government_bond", "corporate_bond"])]["security_id"].tolist()
    roles = {
        "split": us[2], "unbooked_stock_dividend": us[5], "dividend_us_1": us[1], "dividend_us_2": us[6],
        "dividend_eu_wht": eu[0], "stale_price": us[7], "missing_price": us[11], "price_jump": us[13],
        "position_quantity_break": us[3], "position_resolved_break": us[15], "missing_at_custodian": us[8],
        "missing_in_books": us[20], "fail_lack_us": us[0], "fail_clac_eu": eu[0], "fail_mony_eu": eu[3],
        "fail_lack_bond": bonds[0], "fail_cmon_us": us[10], "fail_partial_sme": eu[7], "unmatched_bond": bonds[4],
    }
    universe.roles.update(roles)
    return universe.roles


# ---------------------------------------------------------------------------------------------
# corporate actions (adjusting the true prices on ex-date)


def build_corporate_actions(world: World) -> None:
    d = world.dates
    r = world.universe.roles
    secs = world.securities()
    fin = len(d) - 1

    def event(eid, etype, sid, ex_i, pay_i, rate=np.nan, new=np.nan, old=np.nan, announce_i=None):
        ex, pay = d[ex_i], d[pay_i]
        return {
            "event_id": eid, "event_type": etype, "security_id": sid, "isin": secs.at[sid, "isin"],
            "announcement_date": d[max(0, ex_i - 8)] if announce_i is None else d[announce_i],
            "ex_date": ex, "record_date": d[min(ex_i + 1, fin)], "pay_date": pay, "currency": secs.at[sid, "currency"],
            "gross_rate": rate, "ratio_new": new, "ratio_old": old, "event_status": "CONF",
        }

    px = world.prices
    booked = [
        event("CA2026100001", "DVCA", r["dividend_us_1"], 4, 9, rate=round(float(px.iloc[4][r["dividend_us_1"]]) * 0.006, 4)),
        event("CA2026100002", "DVCA", r["dividend_us_2"], 12, 16, rate=round(float(px.iloc[12][r["dividend_us_2"]]) * 0.005, 4)),
        event("CA2026100003", "DVCA", r["dividend_eu_wht"], 15, fin - 2, rate=round(float(px.iloc[15][r["dividend_eu_wht"]]) * 0.02, 4)),
        event("CA2026100004", "SPLF", r["split"], 10, 10, new=2.0, old=1.0),
    ]
    unbooked = [event("CA2026100005", "DVSE", r["unbooked_stock_dividend"], fin - 3, fin - 2, new=105.0, old=100.0)]
    # true prices move with the events on their ex-dates (index 0 of prices is the opening date)
    for ev in booked + unbooked:
        loc = px.index.get_loc(ev["ex_date"])
        col = px.columns.get_loc(ev["security_id"])
        prev = px.iat[loc - 1, col]
        target = prev - ev["gross_rate"] if ev["event_type"] == "DVCA" else prev * ev["ratio_old"] / ev["ratio_new"]
        # scale the rest of the path so the ex-date price is the event-adjusted close, with no market move on top
        px.iloc[loc:, col] *= target / px.iat[loc, col]
    world.prices = px.round(4)
    # coupon events of bonds falling in the period (ISO 15022 INTR)
    for sid, sec in secs[secs["asset_class"].isin(["government_bond", "corporate_bond"])].iterrows():
        seen = set()
        for i, day in enumerate(d):
            start, end = coupon_period(day, dt.date.fromisoformat(sec["maturity_date"]), int(sec["coupon_frequency"]))
            prev_day = world.opening_date if i == 0 else d[i - 1]
            # a coupon date passed since the previous valuation: on `day` itself (the period ends
            # today) or on a non-business day in between (the period started since)
            for coupon_date in (start, end):
                if prev_day < coupon_date <= day and coupon_date not in seen and int(sec["ex_coupon_days"] or 0) == 0:
                    seen.add(coupon_date)
                    booked.append({
                        "event_id": f"CI{coupon_date:%y%m%d}{sid}", "event_type": "INTR", "security_id": sid, "isin": sec["isin"],
                        "announcement_date": d[0], "ex_date": coupon_date, "record_date": coupon_date,
                        "pay_date": calendars.calendar_for("XOFF", sec["currency"]).add_business_days(coupon_date, 0),
                        "currency": sec["currency"], "gross_rate": float(sec["coupon_rate"]) / int(sec["coupon_frequency"]),
                        "ratio_new": np.nan, "ratio_old": np.nan, "event_status": "CONF",
                    })
        # an ex-coupon period that starts inside the window: coupon entitlement fixed at ex-date
        exdays = int(sec["ex_coupon_days"] or 0)
        if exdays:
            start, end = coupon_period(d[-1], dt.date.fromisoformat(sec["maturity_date"]), int(sec["coupon_frequency"]))
            if end - dt.timedelta(days=exdays) < d[-1] < end:
                booked.append({
                    "event_id": f"CI{end:%y%m%d}{sid}", "event_type": "INTR", "security_id": sid, "isin": sec["isin"],
                    "announcement_date": d[0], "ex_date": end - dt.timedelta(days=exdays - 1), "record_date": end - dt.timedelta(days=exdays),
                    "pay_date": calendars.calendar_for("XOFF", sec["currency"]).add_business_days(end, 0),
                    "currency": sec["currency"], "gross_rate": float(sec["coupon_rate"]) / int(sec["coupon_frequency"]),
                    "ratio_new": np.nan, "ratio_old": np.nan, "event_status": "CONF",
                })
    world.corporate_actions = pd.DataFrame(booked).sort_values(["ex_date", "event_id"]).reset_index(drop=True)
    world.unbooked_events = pd.DataFrame(unbooked)


# ---------------------------------------------------------------------------------------------
# seeded trades: settlement fails of several reasons and ages, the 5% crossing, an unmatched trade

FAIL_SCENARIOS = [
    # role, fund, side, quantity, reason, age in business days at the final date, settled quantity
    ("fail_lack_us", "USEQ", "SELL", 2_000.0, "LACK", 12, 0.0),
    ("fail_clac_eu", "MAHF", "BUY", 1_500.0, "CLAC", 8, 0.0),
    ("fail_mony_eu", "MAHF", "BUY", 800.0, "MONY", 5, 0.0),
    ("fail_lack_bond", "GLBD", "SELL", 500_000.0, "LACK", 3, 0.0),
    ("fail_cmon_us", "USEQ", "SELL", 3_000.0, "CMON", 2, 0.0),
    ("fail_partial_sme", "MAHF", "SELL", 10_000.0, "LACK", 1, 6_000.0),
]


def seed_trades(world: World) -> None:
    secs = world.securities()
    funds = {f["fund_code"]: f for f in world.universe.funds}
    closures = world.universe.closures
    final = world.final_date
    seeded_trades, fails = [], []
    for n, (role, fund_code, side, qty, reason, age, settled_qty) in enumerate(FAIL_SCENARIOS, start=1):
        if fund_code not in funds:
            continue
        sec = secs.loc[world.universe.roles[role]]
        cal = calendars.calendar_for(sec["mic"], sec["currency"], closures)
        isd = cal.add_business_days(final, -age)
        cycle = calendars.settlement_cycle(isd, sec["mic"], sec["asset_class"], sec["currency"])
        trade_date = cal.add_business_days(isd, -cycle)
        price = round(float(world.prices.at[trade_date, sec["security_id"]]) * 1.0005, 4)
        if side == "SELL":  # never sell more than half the holding (these securities are not traded at random)
            op = world.opening_positions
            held = float(op.loc[(op["fund"] == fund_code) & (op["security_id"] == sec["security_id"]), "quantity"].sum())
            lot = 10_000.0 if sec["asset_class"].endswith("bond") else 100.0
            capped = float(np.floor(held * 0.5 / lot) * lot)
            if capped < qty:
                settled_qty = float(np.floor(capped * settled_qty / qty / lot) * lot) if settled_qty else 0.0
                qty = capped
        trade = make_trade(funds[fund_code], sec, side, qty, price, trade_date, 900 + n, _broker_for(sec, np.random.default_rng(n)), closures)
        assert trade["settlement_date"] == isd, (role, trade["settlement_date"], isd)
        seeded_trades.append(trade)
        fails.append({"trade_id": trade["trade_id"], "reason_code": reason, "settled_quantity": settled_qty,
                      "age_business_days": age, "intended_settlement_date": isd, "role": role})
    # the buy that takes the firm over 5% of the small-cap's shares outstanding
    sec = secs.loc[world.universe.roles["threshold_crossing"]]
    crossing_day = world.dates[-6]
    if "USEQ" in funds:
        qty = float(np.round(float(sec["shares_outstanding"]) * 0.005))
        seeded_trades.append(make_trade(funds["USEQ"], sec, "BUY", qty, round(float(world.prices.at[crossing_day, sec["security_id"]]), 4),
                                        crossing_day, 950, "BRK-GSX", closures))
    # a bond purchase on the final date whose counterparty has not instructed yet (unmatched, pending)
    if "GLBD" in funds:
        sec = secs.loc[world.universe.roles["unmatched_bond"]]
        seeded_trades.append(make_trade(funds["GLBD"], sec, "BUY", 250_000.0, round(float(world.prices.at[final, sec["security_id"]]), 4),
                                        final, 960, "BRK-NOR", closures))
    world.trades = pd.concat([world.trades, pd.DataFrame(seeded_trades)], ignore_index=True).sort_values(["trade_date", "trade_id"]).reset_index(drop=True)
    world.fails = pd.DataFrame(fails)


# ---------------------------------------------------------------------------------------------
# NAV and capital activity (what the administrator computes and deals at)

SETTLEMENT_DAYS_CAPITAL = {"USEQ": 1, "GLBD": 2, "MAHF": 3}
PLATFORMS = {"USEQ": ["NOM-PLATFORM-01", "NOM-PLATFORM-02", "NOM-PLATFORM-03"], "GLBD": ["NOM-EU-01", "NOM-EU-02"]}


def _orders_for_day(rng: np.random.Generator, fund: dict, d: dt.date, i: int, dates: list[dt.date], classes: dict) -> list[dict]:
    code = fund["fund_code"]
    kind = code[:4]
    orders = []
    if fund["dealing"] == "monthly":
        is_month_end = i == len(dates) - 1 or dates[i + 1].month != d.month
        if is_month_end and i < len(dates) - 1:
            orders = [("INV-%s-004" % code, "A", "SUB", 2_500_000.0, None), ("INV-%s-001" % code, "F", "SUB", 5_000_000.0, None),
                      ("INV-%s-006" % code, "A", "RED", None, 1_500.0)]
    else:
        for _ in range(int(rng.poisson(1.4))):
            sc = fund["share_classes"][int(rng.integers(len(fund["share_classes"])))]["code"]
            investor = str(rng.choice(PLATFORMS.get(kind, ["NOM-PLATFORM-01"])))
            if rng.random() < 0.55:
                big = sc == "I"
                amount = float(round(rng.uniform(1e6, 5e6) / 1000) * 1000) if big else float(round(rng.uniform(1e4, 5e5) / 100) * 100)
                orders.append((investor, sc, "SUB", amount, None))
            else:
                c = classes[sc]
                units = float(round_half_up_array(c["units"] * rng.uniform(0.0005, 0.002), fund["unit_decimals"]))
                orders.append((investor, sc, "RED", None, units))
        if kind == "USEQ" and i == len(dates) - 2:
            # two identical, legitimate subscriptions from one platform on one day (not a duplicate)
            orders += [("NOM-PLATFORM-02", "A", "SUB", 250_000.0, None), ("NOM-PLATFORM-02", "A", "SUB", 250_000.0, None)]
        if kind == "GLBD" and i == len(dates) - 1:
            orders = [o for o in orders if o[1] != "I"]  # the administrator's NAV error day: keep dealing out of it
    return [{"investor_id": inv, "share_class": sc, "order_type": t, "amount": amt, "units": u} for inv, sc, t, amt, u in orders]


def simulate_nav(rng: np.random.Generator, world: World) -> None:
    """Run each fund's books day by day the way its administrator does: trade-date positions,
    corporate actions (including the one our books missed), accruals, fees, dealing."""
    secs = world.securities()
    funds = world.universe.funds
    events = pd.concat([world.corporate_actions, world.unbooked_events], ignore_index=True)
    nav_rows, order_rows, fee_rows = [], [], []
    for fund in funds:
        code, base, basis = fund["fund_code"], fund["base_currency"], fund["day_basis"]
        wht = fund["withholding_tax_pct"]
        positions = {r.security_id: r.quantity for r in world.opening_positions[world.opening_positions["fund"] == code].itertuples()}
        cash = {r.currency: r.balance for r in world.opening_cash[world.opening_cash["fund"] == code].itertuples()}
        sc_params = {sc["code"]: sc for sc in fund["share_classes"]}
        classes = {}
        for r in world.opening_classes[world.opening_classes["fund"] == code].itertuples():
            classes[r.share_class] = {"A": r.net_assets + r.performance_fee_accrued, "L_mgmt": 0.0, "L_perf": r.performance_fee_accrued,
                                      "units": r.units_outstanding, "hwm": r.high_water_mark, "na_prev": r.net_assets}
        fund_trades = world.trades[world.trades["fund"] == code]
        l_fixed = 0.0
        annual_fixed = sum(f["annual_amount"] for f in fund["fixed_fees"])

        def pool_value(on: dt.date) -> float:
            total = 0.0
            for sid, qty in positions.items():
                if qty == 0:
                    continue
                sec = secs.loc[sid]
                mv, ai = _security_value(sec, qty, float(world.prices.at[on, sid]), on)
                total += (mv + ai) * fx_rate(world.fx, on, sec["currency"], base)
            total += sum(bal * fx_rate(world.fx, on, ccy, base) for ccy, bal in cash.items())
            return total - l_fixed

        p_prev = pool_value(world.opening_date)
        scale = p_prev / sum(c["A"] for c in classes.values())
        for c in classes.values():  # opening cash was rounded to cents: spread the difference
            c["A"] *= scale
        prev = world.opening_date
        settle_cal = calendars.calendar_for(fund["calendar"], base, world.universe.closures)
        for i, d in enumerate(world.dates):
            days = (d - prev).days
            # corporate actions since the previous valuation, on holdings at the previous close
            for ev in events[(events["ex_date"] > prev) & (events["ex_date"] <= d)].itertuples():
                held = positions.get(ev.security_id, 0.0)
                if not held:
                    continue
                if ev.event_type in ("SPLF", "DVSE"):
                    positions[ev.security_id] = float(np.floor(held * ev.ratio_new / ev.ratio_old))
                elif ev.event_type == "DVCA":
                    country = secs.at[ev.security_id, "country"]
                    cash[ev.currency] = cash.get(ev.currency, 0.0) + float(round_half_up_array(held * ev.gross_rate * (1 - wht.get(country, 0.0) / 100), 2))
                elif ev.event_type == "INTR":
                    cash[ev.currency] = cash.get(ev.currency, 0.0) + float(round_half_up_array(held * ev.gross_rate / 100, 2))
            # trades of the day (trade-date accounting)
            for t in fund_trades[fund_trades["trade_date"] == d].itertuples():
                sign = 1 if t.side == "BUY" else -1
                positions[t.security_id] = positions.get(t.security_id, 0.0) + sign * t.quantity
                cash[t.currency] = cash.get(t.currency, 0.0) - sign * t.net_amount
            # fees accrued to the end of last month are paid on the first valuation day of a month
            paid_class_total = 0.0
            if d.month != prev.month and i > 0:
                for sc, c in classes.items():
                    amount = float(round_half_up_array(c["L_mgmt"], 2))
                    if amount:
                        fee_rows.append({"fund": code, "share_class": sc, "fee_type": "management", "amount": amount, "currency": base, "pay_date": d})
                        cash[base] -= amount
                        c["A"] -= amount
                        c["L_mgmt"] -= amount
                        paid_class_total += amount
                fixed = float(round_half_up_array(l_fixed, 2))
                if fixed:
                    fee_rows.append({"fund": code, "share_class": "", "fee_type": "fixed", "amount": fixed, "currency": base, "pay_date": d})
                    cash[base] -= fixed
                    l_fixed -= fixed
            l_fixed += annual_fixed * days / basis
            p_now = pool_value(d)
            pnl = p_now - (p_prev - paid_class_total)
            total_a = sum(c["A"] for c in classes.values())
            for sc, c in classes.items():
                c["A"] += pnl * c["A"] / total_a
            for sc, c in classes.items():
                c["L_mgmt"] += sc_params[sc]["management_fee_pct"] / 100 * c["na_prev"] * days / basis
                perf = sc_params[sc].get("performance_fee")
                if perf and c["hwm"] is not None:
                    gross_nps = (c["A"] - c["L_mgmt"]) / c["units"]
                    c["L_perf"] = perf["rate_pct"] / 100 * max(0.0, gross_nps - c["hwm"]) * c["units"]
                net = c["A"] - c["L_mgmt"] - c["L_perf"]
                c["nps"] = float(round_half_up_array(net / c["units"], fund["nav_decimals"]))
            # dealing at the day's official NAV per share
            net_capital = 0.0
            day_seq = 0
            for o in _orders_for_day(rng, fund, d, i, world.dates, classes):
                c = classes[o["share_class"]]
                if o["order_type"] == "SUB":
                    amount, units = o["amount"], float(round_half_up_array(o["amount"] / c["nps"], fund["unit_decimals"]))
                else:
                    units, amount = o["units"], float(round_half_up_array(o["units"] * c["nps"], 2))
                sign = 1 if o["order_type"] == "SUB" else -1
                c["A"] += sign * amount
                c["units"] += sign * units
                cash[sc_params[o["share_class"]]["currency"]] += sign * amount
                net_capital += sign * amount
                day_seq += 1
                order_rows.append({
                    "order_id": f"O{d:%y%m%d}{code}{day_seq:03d}", "fund": code, "share_class": o["share_class"],
                    "investor_id": o["investor_id"], "order_type": o["order_type"], "dealing_date": d,
                    "settlement_date": settle_cal.add_business_days(d, SETTLEMENT_DAYS_CAPITAL.get(code[:4], 2)),
                    "currency": sc_params[o["share_class"]]["currency"], "amount": amount, "units": units, "nav_per_share": c["nps"], "status": "DEALT",
                })
            for sc, c in classes.items():
                c["na_prev"] = c["A"] - c["L_mgmt"] - c["L_perf"]
                nav_rows.append({
                    "nav_date": d, "fund": code, "share_class": sc, "currency": sc_params[sc]["currency"], "nav_per_share": c["nps"],
                    "units_outstanding": float(round_half_up_array(c["units"], fund["unit_decimals"])),
                    "net_assets": float(round_half_up_array(c["na_prev"], 2)),
                    "management_fee_accrued": float(round_half_up_array(c["L_mgmt"], 2)),
                    "performance_fee_accrued": float(round_half_up_array(c["L_perf"], 2)),
                })
            p_prev = p_now + net_capital
            prev = d
            negative = {sid: q for sid, q in positions.items() if q < 0}
            if negative:
                raise RuntimeError(f"sample world: {code} has negative positions on {d}: {negative}")
    world.nav = pd.DataFrame(nav_rows)
    world.capital_activity = pd.DataFrame(order_rows)
    world.fee_payments = pd.DataFrame(fee_rows)


def seed_price_stories(world: World) -> None:
    """True prices behind the stale and missing price stories: an illiquid name that does not
    trade for the last five days, and a name whose price nobody delivers on the final date (the
    administrator carries the previous close forward)."""
    r = world.universe.roles
    px = world.prices
    stale_from = px.index[-5]
    px.loc[px.index >= stale_from, r["stale_price"]] = px.at[stale_from, r["stale_price"]]
    px.iloc[-1, px.columns.get_loc(r["missing_price"])] = px.iloc[-2][r["missing_price"]]
