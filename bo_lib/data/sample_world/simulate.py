"""The sample world's moving side: true prices and FX, the opening book, trades, corporate actions,
capital activity, settlement outcomes and the fund administrator's NAV, day by day.

This is the *truth* the feeds are cut from. The feeds module then writes it out as each source
would deliver it, with the seeded exceptions applied on top.

The seeded stories come in *episodes*: one anchored on the final date (the committed 27-day
world has only this one) and, in longer windows, one every 27 business days before it. An
earlier episode repeats the final one's stories at the same offsets from its anchor and then
resolves them (fails settle, breaks are corrected, the books learn what they missed), so a long
world stays internally consistent and nothing lives forever.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from bo_lib.data.sample_world import conventions
from bo_lib.data.sample_world.universe import MATURING_BOND_ID, Universe, fund_eligible_securities
from bo_lib.data.sample_world.conventions import round_half_up_array

FX_START = {"USD": 1.0, "EUR": 1.0850, "GBP": 1.2900, "CHF": 1.1300, "JPY": 0.006700}  # USD per unit
SEC_FEE_RATE = 0.0000278  # SEC Section 31 fee on US equity sales
FR_FTT_RATE = 0.004  # French financial transaction tax on purchases of large French issuers
OPENING_NPS = {"USEQ": {"A": 24.1837, "I": 25.9012}, "GLBD": {"R": 101.2345, "I": 104.5567}, "MAHF": {"A": 1187.4400, "F": 1243.9100}}
OPENING_HWM = {"MAHF": {"A": 1150.0, "F": 1300.0}}

#: length of the committed world: behaviour added since (more episodes, coupons of every date, the
#: maturing note, option expiry, crystallisation...) only switches on for dates after it
COMMITTED_DAYS = 27
EPISODE_SPACING = 27  # business days between episode anchors
FIRST_ANCHOR = 20  # no earlier episode anchors before this date index (its stories reach 14 days back)
BANK_CHARGE = 45.00
WHT_CHARGED_PCT = 26.375  # German withholding the paying agent applies instead of the 15% treaty rate
CROSSING_UP_INDEX = 21  # the firm crosses 5% of the small-cap (2026-10-30 in the committed world)
CROSSING_DOWN_INDEX = 140  # ... and falls back below it in a later quarter, when the window reaches it
MATURING_BOND_BUY_INDEX = 30
MATURING_BOND_NOMINAL = 1_000_000.0
OPTION_CLOSE_DAYS = 3  # business days before expiry the options are closed
OPTION_NO_TRADING_DAYS = 5  # ... and no random option trades from this many business days before expiry


def episode_anchors(n_days: int) -> list[int]:
    """Date indexes of the episode anchors, oldest first: the final index and every 27th before it
    while at least ``FIRST_ANCHOR``."""
    fin = n_days - 1
    anchors = [fin]
    while anchors[-1] - EPISODE_SPACING >= FIRST_ANCHOR:
        anchors.append(anchors[-1] - EPISODE_SPACING)
    return sorted(anchors)


@dataclass
class Episode:
    """Where one episode's stories fall (date indexes into ``World.dates``; None: not in the window)."""

    number: int  # 0: the final episode, 1: the one before, ...
    anchor: int
    final: bool
    wht_ex: int  # the short-paid EU dividend: ex-date ...
    wht_pay: int  # ... pay date ...
    wht_refund: int | None  # ... and the bank's refund of the over-withheld tax (earlier episodes)
    dvse_ex: int  # the stock dividend the books miss: ex-date ...
    dvse_pay: int  # ... pay date (the custodian credits it)
    dvse_learnt: int | None  # the books receive the event (earlier episodes)
    charge: int | None  # the bank charge on the equity fund's USD statement
    charge_booked: int | None  # ... booked by the books and the administrator
    unbalanced: int | None  # the bond fund's USD statement that does not balance


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
    session: conventions.Calendar | None = None  # the date grid: NYSE sessions (every feed arrives on them)
    episodes: list[Episode] = field(default_factory=list)  # oldest first
    seeded_trades: pd.DataFrame = field(default_factory=pd.DataFrame)  # OMS trades of the stories and schedules
    bank_charges: list[dict] = field(default_factory=list)
    wht_refunds: dict[str, int] = field(default_factory=dict)  # event id -> date index of the refund
    late_events: dict[str, tuple[int, int]] = field(default_factory=dict)  # unbooked event id -> (first, last) index in the books' feed
    _index: dict = field(default_factory=dict, repr=False)

    @property
    def final_date(self) -> dt.date:
        return self.dates[-1]

    @property
    def anchors(self) -> list[int]:
        return [e.anchor for e in self.episodes]

    def securities(self) -> pd.DataFrame:
        return self.universe.securities.set_index("security_id", drop=False)

    def index(self, d: dt.date) -> int:
        """Position of business date ``d`` in ``dates``."""
        if len(self._index) != len(self.dates):
            self._index.clear()
            self._index.update({x: i for i, x in enumerate(self.dates)})
        return self._index[d]

    def episode_of(self, i: int) -> Episode:
        """The episode whose window (after the previous anchor, up to its own) holds date index ``i``."""
        for ep in self.episodes:
            if i <= ep.anchor:
                return ep
        return self.episodes[-1]

    def bank_day(self, i: int, currency: str) -> int | None:
        """First date index from ``i`` on that is a business day of ``currency``'s payment system."""
        cal = conventions.payment_calendar(currency)
        for j in range(max(i, 0), len(self.dates)):
            if cal.is_business_day(self.dates[j]):
                return j
        return None

    def roll_to_session(self, day: dt.date, cal: conventions.Calendar) -> dt.date:
        """``day`` rolled forward on ``cal`` until it is also a session of the date grid (cash and
        securities only move on days the sources deliver files)."""
        day = cal.add_business_days(day, 0)
        while not self.session.is_business_day(day):
            day = cal.add_business_days(day + dt.timedelta(days=1), 0)
        return day


def plan_episodes(world: World) -> list[Episode]:
    """The episode anchors and where each story of an episode falls."""
    n = len(world.dates)
    fin = n - 1
    out = []
    anchors = episode_anchors(n)
    for number, a in enumerate(reversed(anchors)):
        final = a == fin
        charge = world.bank_day(a, "USD")
        out.append(Episode(
            number=number, anchor=a, final=final, wht_ex=a - 11, wht_pay=world.bank_day(a - 2, "EUR") or a - 2,
            wht_refund=None if final else world.bank_day(a + 3, "EUR"), dvse_ex=a - 3, dvse_pay=a - 2,
            dvse_learnt=None if final else a + 2, charge=charge,
            charge_booked=charge + 1 if charge is not None and charge + 1 <= fin else None,
            unbalanced=world.bank_day(a - 5, "USD"),
        ))
    return sorted(out, key=lambda e: e.anchor)


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


def maturing_bond_prices(rng: np.random.Generator, all_dates: list[dt.date], maturity: dt.date) -> pd.Series:
    """True clean price of the maturing note: pulled to par at maturity (100 from then on), with a
    little noise, never unchanged day to day. Drawn from its own random stream."""
    days_left = np.array([max((maturity - d).days, 0) for d in all_dates], dtype=float)
    start_gap = 100.0 - 99.72
    levels = 100.0 - start_gap * days_left / max(days_left[0], 1.0) + rng.normal(0.0, 0.004, len(all_dates)) * (days_left > 0)
    levels = np.round(np.minimum(levels, 100.05), 4)
    for i in range(1, len(levels)):
        if levels[i] == levels[i - 1] and days_left[i] > 0:
            levels[i] = round(levels[i] + 0.0001, 4)
    return pd.Series(levels, index=all_dates, name=MATURING_BOND_ID)


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
        ai = conventions.accrued_interest(on, quantity, sec)
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


_CLOSURES: dict[tuple, pd.DataFrame] = {}


def _closures_key(closures: pd.DataFrame | None) -> tuple:
    if closures is None or not len(closures):
        return ()
    key = tuple(zip(closures["market"].astype(str), closures["closure_date"].astype(str)))
    _CLOSURES.setdefault(key, closures)
    return key


_SETTLEMENT: dict[tuple, dt.date] = {}


def prime_settlement_dates(dates: list[dt.date], securities: pd.DataFrame, closures: pd.DataFrame | None) -> None:
    """Standard settlement dates of every (date, market, asset class, currency) of the master, in
    one vectorised call (``conventions.settlement_dates``: the same rule as the scalar function)."""
    key = _closures_key(closures)
    kinds = securities[["mic", "asset_class", "currency"]].drop_duplicates()
    grid = pd.DataFrame([(d, k.mic, k.asset_class, k.currency) for d in dates for k in kinds.itertuples()],
                        columns=["trade_date", "market", "asset_class", "currency"])
    settle = conventions.settlement_dates(grid, closures)
    for row, day in zip(grid.itertuples(index=False), settle.dt.date):
        _SETTLEMENT[(row.trade_date, row.market, row.asset_class, row.currency, key)] = day


def standard_settlement_date(trade_date: dt.date, sec: pd.Series, closures: pd.DataFrame | None) -> dt.date:
    """Trade date + the market's cycle on its settlement calendar (memoised: the calendars are exact but slow)."""
    key = (trade_date, sec["mic"], sec["asset_class"], sec["currency"], _closures_key(closures))
    if key not in _SETTLEMENT:
        _SETTLEMENT[key] = conventions.settlement_date(trade_date, sec["mic"], sec["asset_class"], sec["currency"], closures)
    return _SETTLEMENT[key]


def seeded_settlement_date(world: World, trade_date: dt.date, sec: pd.Series, closures: pd.DataFrame | None) -> dt.date:
    """A scheduled trade's settlement date: the standard one, or (agreed with the broker) the next
    settlement day that is also a session of the date grid when the standard one is not."""
    cal = conventions.settlement_calendar(sec["mic"], sec["currency"], closures)
    return world.roll_to_session(standard_settlement_date(trade_date, sec, closures), cal)


def make_trade(fund: dict, sec: pd.Series, side: str, quantity: float, price: float, trade_date: dt.date, seq: int,
               broker: str, closures: pd.DataFrame, settle: dt.date | None = None) -> dict:
    """One internal (OMS) trade with its costs and net amount, settlement date on the real calendar
    (``settle`` for an agreed non-standard one)."""
    asset_class = sec["asset_class"]
    if settle is None:
        settle = standard_settlement_date(trade_date, sec, closures)
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


def _untraded(roles: dict[str, str]) -> set[str]:
    """Securities with a corporate action or a story are not traded at random (no market claims,
    no story drowned in noise); the maturing note is bought once by a scheduled trade."""
    return {roles[k] for k in ("threshold_crossing", "split", "unbooked_stock_dividend", "dividend_us_1", "dividend_us_2",
                               "dividend_eu_wht", "missing_price", "stale_price", "price_jump", "fail_lack_us", "fail_cmon_us",
                               "fail_lack_bond", "fail_partial_sme")} | {MATURING_BOND_ID}


def simulate_trades(rng: np.random.Generator, world: World, trades_per_day: dict[str, int]) -> pd.DataFrame:
    """Daily OMS trades per fund; sells never exceed the holding, cash stays within a buffer.

    From the first date after the committed window on, the cash the buffer watches includes the
    scheduled trades (``world.seeded_trades``), and trades that would settle on a day without
    files (a non-session of the date grid) are not done. Listed options stop trading five
    business days before expiry and are closed (OMS sells) three business days before it."""
    secs = world.securities()
    rows_of = {sid: secs.loc[sid] for sid in secs.index}
    closures = world.universe.closures
    holdings = world.opening_positions.groupby(["fund", "security_id"])["quantity"].sum().to_dict()  # a holding may sit at two custodians
    cash = {(r.fund, r.currency): r.balance for r in world.opening_cash.itertuples()}
    untraded = _untraded(world.universe.roles)
    options = secs[secs["asset_class"] == "option"]
    expiry = {sid: dt.date.fromisoformat(x) for sid, x in options["expiry_date"].items()}
    stop_from = {sid: world.session.add_business_days(x, -OPTION_NO_TRADING_DAYS) for sid, x in expiry.items()}
    close_on = {sid: world.session.add_business_days(x, -OPTION_CLOSE_DAYS) for sid, x in expiry.items()}
    scheduled_cash: dict[tuple[str, dt.date], list[tuple[str, float]]] = {}
    for t in world.seeded_trades.itertuples() if len(world.seeded_trades) else ():
        scheduled_cash.setdefault((t.fund, t.trade_date), []).append((t.currency, -t.net_amount if t.side == "BUY" else t.net_amount))
    eligible_of: dict[str, pd.DataFrame] = {}
    rows = []
    for i, d in enumerate(world.dates):
        for fund in world.universe.funds:
            code = fund["fund_code"]
            if code not in eligible_of:
                eligible = fund_eligible_securities(world.universe, fund)
                eligible_of[code] = eligible[~eligible["security_id"].isin(untraded)]
            eligible = eligible_of[code]
            stopped = [sid for sid, start in stop_from.items() if d >= start]
            if stopped and eligible["security_id"].isin(stopped).any():
                eligible = eligible[~eligible["security_id"].isin(stopped)]
            n = trades_per_day.get(code[:4], 4)
            picks = eligible.sample(n=min(n, len(eligible)), random_state=int(rng.integers(1 << 31)))
            for seq, (_, sec) in enumerate(picks.iterrows(), start=1):
                sec = rows_of[sec["security_id"]]
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
                if not world.session.is_business_day(trade["settlement_date"]):
                    continue  # it would settle on a day no source delivers files: the desk does not trade for it
                rows.append(trade)
                sign = 1 if side == "BUY" else -1
                holdings[(code, sec["security_id"])] = held + sign * qty
                cash[(code, sec["currency"])] = ccy_cash - sign * trade["net_amount"]
            for k, (sid, day) in enumerate(sorted(close_on.items()), start=1):
                held = holdings.get((code, sid), 0.0)
                if day == d and held > 0:  # close the listed options before they expire
                    sec = rows_of[sid]
                    trade = make_trade(fund, sec, "SELL", held, round(float(world.prices.at[d, sid]), 4), d, 980 + k, "BRK-GSX", closures)
                    rows.append(trade)
                    holdings[(code, sid)] = 0.0
                    cash[(code, sec["currency"])] = cash.get((code, sec["currency"]), 0.0) + trade["net_amount"]
            if i >= COMMITTED_DAYS:
                for ccy, amount in scheduled_cash.get((code, d), ()):
                    cash[(code, ccy)] = cash.get((code, ccy), 0.0) + amount
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


def _announcement(world: World, ex_date: dt.date) -> dt.date:
    """Coupons are announced on the first date when their ex-date is near (as the committed world
    does), otherwise about 35 days before the ex-date (on the date grid)."""
    d = world.dates
    if (ex_date - d[0]).days <= 40:
        return d[0]
    cutoff = ex_date - dt.timedelta(days=35)
    return max(x for x in d if x <= cutoff)


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
    ]
    unbooked = []
    for ep in world.episodes:
        # each episode: an EU dividend the paying agent short-pays, a stock dividend the books miss
        suffix = "00" if ep.final else f"{ep.number:02d}"
        wht_id = f"CA202610{suffix}03"
        booked.append(event(wht_id, "DVCA", r["dividend_eu_wht"], ep.wht_ex, ep.wht_pay,
                            rate=round(float(px.iloc[ep.wht_ex][r["dividend_eu_wht"]]) * 0.02, 4)))
        dvse_id = f"CA202610{suffix}05"
        unbooked.append(event(dvse_id, "DVSE", r["unbooked_stock_dividend"], ep.dvse_ex, ep.dvse_pay, new=105.0, old=100.0))
        if not ep.final:
            if ep.wht_refund is not None:
                world.wht_refunds[wht_id] = ep.wht_refund
            world.late_events[dvse_id] = (ep.dvse_learnt, min(ep.dvse_learnt + 2, fin))
    booked.append(event("CA2026100004", "SPLF", r["split"], 10, 10, new=2.0, old=1.0))
    # true prices move with the events on their ex-dates (index 0 of prices is the opening date)
    for ev in sorted(booked + unbooked, key=lambda e: e["ex_date"]):
        loc = px.index.get_loc(ev["ex_date"])
        col = px.columns.get_loc(ev["security_id"])
        prev = px.iat[loc - 1, col]
        target = prev - ev["gross_rate"] if ev["event_type"] == "DVCA" else prev * ev["ratio_old"] / ev["ratio_new"]
        # scale the rest of the path so the ex-date price is the event-adjusted close, with no market move on top
        px.iloc[loc:, col] *= target / px.iat[loc, col]
    world.prices = px.round(4)
    booked += _bond_events(world)
    world.corporate_actions = pd.DataFrame(booked).sort_values(["ex_date", "event_id"]).reset_index(drop=True)
    world.unbooked_events = pd.DataFrame(unbooked)


def _bond_events(world: World) -> list[dict]:
    """ISO 15022 INTR for every coupon of every bond whose ex-date falls in the window (ex-coupon
    bonds, the gilts: ex-date seven UK business days before the coupon, record date the business
    day before; others: both the coupon date), the coupon per 100 by the bond's day count (an
    ACT/360 quarter of 92 days pays rate x 92 / 360), and REDM at maturity (100 per 100 nominal). Pay date: the coupon date rolled forward on
    the currency's payment calendar (and to a session of the date grid)."""
    secs = world.securities()
    fin = world.dates[-1]
    events = []
    for sid, sec in secs[secs["asset_class"].isin(["government_bond", "corporate_bond"])].iterrows():
        maturity = dt.date.fromisoformat(sec["maturity_date"])
        if maturity <= world.opening_date:
            continue
        freq = int(sec["coupon_frequency"])
        exdays = int(sec["ex_coupon_days"] or 0)
        pay_cal = conventions.payment_calendar(sec["currency"])
        start, coupon = conventions.coupon_period(world.opening_date + dt.timedelta(days=1), maturity, freq)
        while True:
            ex, record = conventions.ex_and_record_dates(coupon, sec["currency"], exdays)
            if ex > fin:
                break
            pay = world.roll_to_session(coupon, pay_cal)
            common = {"security_id": sid, "isin": sec["isin"], "announcement_date": _announcement(world, ex), "ex_date": ex,
                      "record_date": record, "pay_date": pay, "currency": sec["currency"]}
            if ex > world.opening_date:
                events.append({"event_id": f"CI{coupon:%y%m%d}{sid}", "event_type": "INTR", **common,
                               "gross_rate": round(conventions.coupon_amount(100.0, float(sec["coupon_rate"]), start, coupon, sec["day_count"], freq), 10),
                               "ratio_new": np.nan, "ratio_old": np.nan, "event_status": "CONF"})
            if coupon >= maturity:
                events.append({"event_id": f"CR{coupon:%y%m%d}{sid}", "event_type": "REDM", **{**common, "ex_date": coupon, "record_date": coupon},
                               "gross_rate": 100.0, "ratio_new": np.nan, "ratio_old": np.nan, "event_status": "CONF"})
                break
            start, coupon = conventions.coupon_period(coupon + dt.timedelta(days=1), maturity, freq)
    return events


# ---------------------------------------------------------------------------------------------
# seeded and scheduled trades: settlement fails of several reasons and ages (resolved in earlier
# episodes), the 5% crossings, the unmatched bond purchase, the maturing note

FAIL_SCENARIOS = [
    # role, fund, side, quantity, reason, age in business days at the anchor, settled quantity
    ("fail_lack_us", "USEQ", "SELL", 2_000.0, "LACK", 12, 0.0),
    ("fail_clac_eu", "MAHF", "BUY", 1_500.0, "CLAC", 8, 0.0),
    ("fail_mony_eu", "MAHF", "BUY", 800.0, "MONY", 5, 0.0),
    ("fail_lack_bond", "GLBD", "SELL", 500_000.0, "LACK", 3, 0.0),
    ("fail_cmon_us", "USEQ", "SELL", 3_000.0, "CMON", 2, 0.0),
    ("fail_partial_sme", "MAHF", "SELL", 10_000.0, "LACK", 1, 6_000.0),
]
CROSSING_SHARES_PCT = 0.5  # of shares outstanding, bought (and in a later quarter sold) by the equity fund


def plan_seeded_trades(world: World) -> None:
    """The OMS trades of the stories and schedules (no random draws): ``world.seeded_trades`` and
    ``world.fails``. Sells never exceed half the fund's holding at the trade date; in an earlier
    episode a failed sell is bought back the day after it settles (the desk restores the position,
    so every episode can tell the same story)."""
    secs = world.securities()
    funds = {f["fund_code"]: f for f in world.universe.funds}
    closures = world.universe.closures
    roles = world.universe.roles
    d = world.dates
    fin = len(d) - 1
    on_grid = set(d)
    holdings: dict[tuple[str, str], float] = {}
    for r in world.opening_positions.itertuples():
        holdings[(r.fund, r.security_id)] = holdings.get((r.fund, r.security_id), 0.0) + r.quantity
    seeded, fails = [], []

    def add(trade: dict) -> dict:
        key = (trade["fund"], trade["security_id"])
        held = holdings.get(key, 0.0)
        if trade["side"] == "SELL" and trade["quantity"] > held:
            raise RuntimeError(f"sample world: scheduled sell {trade['trade_id']} of {trade['quantity']:,.0f} exceeds the holding {held:,.0f}")
        holdings[key] = held + (trade["quantity"] if trade["side"] == "BUY" else -trade["quantity"])
        seeded.append(trade)
        return trade

    def price_at(day: dt.date, sid: str, factor: float = 1.0) -> float:
        return round(float(world.prices.at[day, sid]) * factor, 4)

    untraded = _untraded(roles)
    for ep in world.episodes:
        a = ep.anchor
        for n, (role, fund_code, side, qty, reason, age, settled_qty) in enumerate(FAIL_SCENARIOS, start=1):
            if fund_code not in funds:
                continue
            sec = secs.loc[roles[role]]
            cal = conventions.settlement_calendar(sec["mic"], sec["currency"], closures)
            used_age = age
            while True:  # both dates on the grid (older by a day when a holiday is in the way)
                isd = cal.add_business_days(d[a], -used_age)
                cycle = conventions.settlement_cycle(isd, sec["mic"], sec["asset_class"], sec["currency"])
                trade_date = cal.add_business_days(isd, -cycle)
                if trade_date in on_grid and world.session.is_business_day(isd):
                    break
                used_age += 1
            if side == "SELL":  # never sell more than half the holding (these securities are not traded at random)
                if sec["security_id"] not in untraded:
                    raise RuntimeError(f"sample world: the failing sell of {role} needs a security not traded at random")
                held = holdings.get((fund_code, sec["security_id"]), 0.0)
                lot = 10_000.0 if sec["asset_class"].endswith("bond") else 100.0
                capped = float(np.floor(held * 0.5 / lot) * lot)
                if capped < qty:
                    settled_qty = float(np.floor(capped * settled_qty / qty / lot) * lot) if settled_qty else 0.0
                    qty = capped
                if qty <= 0:
                    raise RuntimeError(f"sample world: {fund_code} holds too little {sec['security_id']} for the {role} story")
            trade = add(make_trade(funds[fund_code], sec, side, qty, price_at(trade_date, sec["security_id"], 1.0005), trade_date, 900 + n,
                                   _broker_for(sec, np.random.default_rng(n)), closures))
            assert trade["settlement_date"] == isd, (role, trade["settlement_date"], isd)
            # an earlier episode's fail settles on the next settlement day after its anchor
            settled_on = None if ep.final else world.roll_to_session(d[a] + dt.timedelta(days=1), cal)
            fails.append({"trade_id": trade["trade_id"], "reason_code": reason, "settled_quantity": settled_qty,
                          "age_business_days": used_age, "intended_settlement_date": isd, "role": role,
                          "episode": a, "settled_on": settled_on})
            if side == "SELL" and settled_on is not None and d.index(settled_on) + 1 <= fin:
                day = d[d.index(settled_on) + 1]
                add(make_trade(funds[fund_code], sec, "BUY", qty, price_at(day, sec["security_id"], 1.0005), day, 930 + n,
                               _broker_for(sec, np.random.default_rng(n)), closures, settle=seeded_settlement_date(world, day, sec, closures)))
        # a bond purchase on the anchor whose counterparty has not instructed yet (unmatched that day)
        if "GLBD" in funds:
            sec = secs.loc[roles["unmatched_bond"]]
            add(make_trade(funds["GLBD"], sec, "BUY", 250_000.0, price_at(d[a], sec["security_id"]), d[a], 960, "BRK-NOR", closures,
                           settle=seeded_settlement_date(world, d[a], sec, closures)))
    # the buy that takes the firm over 5% of the small-cap's shares outstanding, and (in a later
    # quarter, when the window reaches it) the sell that takes it back below
    if "USEQ" in funds:
        sec = secs.loc[roles["threshold_crossing"]]
        qty = float(np.round(float(sec["shares_outstanding"]) * CROSSING_SHARES_PCT / 100))
        for i, side, seq in ((CROSSING_UP_INDEX, "BUY", 950), (CROSSING_DOWN_INDEX, "SELL", 951)):
            if i <= fin:
                add(make_trade(funds["USEQ"], sec, side, qty, price_at(d[i], sec["security_id"]), d[i], seq, "BRK-GSX", closures,
                               settle=seeded_settlement_date(world, d[i], sec, closures)))
    # the bond fund buys the maturing note and holds it to maturity (when the window reaches it)
    redm = world.corporate_actions[(world.corporate_actions["security_id"] == MATURING_BOND_ID) & (world.corporate_actions["event_type"] == "REDM")]
    if "GLBD" in funds and len(redm) and MATURING_BOND_BUY_INDEX <= fin and redm["pay_date"].iloc[0] <= d[fin]:
        sec = secs.loc[MATURING_BOND_ID]
        day = d[MATURING_BOND_BUY_INDEX]
        add(make_trade(funds["GLBD"], sec, "BUY", MATURING_BOND_NOMINAL, price_at(day, MATURING_BOND_ID), day, 970, "BRK-NOR", closures,
                       settle=seeded_settlement_date(world, day, sec, closures)))
    world.seeded_trades = pd.DataFrame(seeded)
    world.fails = pd.DataFrame(fails)


# ---------------------------------------------------------------------------------------------
# NAV and capital activity (what the administrator computes and deals at)

SETTLEMENT_DAYS_CAPITAL = {"USEQ": 1, "GLBD": 2, "MAHF": 3}
PLATFORMS = {"USEQ": ["NOM-PLATFORM-01", "NOM-PLATFORM-02", "NOM-PLATFORM-03"], "GLBD": ["NOM-EU-01", "NOM-EU-02"]}


def _orders_for_day(rng: np.random.Generator, fund: dict, d: dt.date, i: int, dates: list[dt.date], classes: dict,
                    anchors: set[int]) -> list[dict]:
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
        if kind == "USEQ" and i + 1 in anchors:
            # two identical, legitimate subscriptions from one platform on one day (not a duplicate)
            orders += [("NOM-PLATFORM-02", "A", "SUB", 250_000.0, None), ("NOM-PLATFORM-02", "A", "SUB", 250_000.0, None)]
        if kind == "GLBD" and i in anchors:
            orders = [o for o in orders if o[1] != "I"]  # the administrator's NAV error day: keep dealing out of it
    return [{"investor_id": inv, "share_class": sc, "order_type": t, "amount": amt, "units": u} for inv, sc, t, amt, u in orders]


def settled_holding(world: World, fund: str, security_id: str, on: dt.date) -> float:
    """The fund's holding of a security settled by the close of ``on`` (the register's view): the
    opening position plus every trade whose settlement date is on or before it."""
    op = world.opening_positions
    qty = float(op.loc[(op["fund"] == fund) & (op["security_id"] == security_id), "quantity"].sum())
    t = world.trades
    t = t[(t["fund"] == fund) & (t["security_id"] == security_id) & (t["settlement_date"] <= on)]
    return qty + float((np.where(t["side"] == "BUY", 1, -1) * t["quantity"]).sum())


def coupon_holder_of_record(world: World, fund: str, ev) -> float | None:
    """A bond with an ex-coupon period (the gilts) trades ex by settlement date: a trade settling on
    or after the ex-date carries no coupon, so the coupon is the holder of record's, the settled
    holding at the record date. None for any other event (entitled on the holding before the ex-date)."""
    if ev.event_type != "INTR" or ev.record_date == ev.ex_date:
        return None
    return settled_holding(world, fund, ev.security_id, ev.record_date)


def _fees_accrued_to(valuation_day: dt.date, next_valuation_day: dt.date) -> dt.date:
    """The administrator accrues fees for every calendar day of a month in that month: the last
    valuation of a month accrues through the month's last day (the weekend after a Friday 30th)."""
    if (next_valuation_day.year, next_valuation_day.month) == (valuation_day.year, valuation_day.month):
        return valuation_day
    return (valuation_day.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)


def _last_session_of_year(world: World, d: dt.date) -> bool:
    return world.session.add_business_days(d + dt.timedelta(days=1), 0).year != d.year


def simulate_nav(rng: np.random.Generator, world: World) -> None:
    """Run each fund's books day by day the way its administrator does: trade-date positions,
    corporate actions (including the ones our books missed), coupons and redemptions, accruals,
    fees (paid on the first valuation day of a month), the performance fee crystallised on the
    year's last valuation day and paid on the next year's first, bank charges (booked the day
    after the bank takes them), dealing."""
    secs = world.securities()
    rows_of = {sid: secs.loc[sid] for sid in secs.index}
    funds = world.universe.funds
    events = pd.concat([world.corporate_actions, world.unbooked_events], ignore_index=True)
    anchors = set(world.anchors)
    charge_days = {ep.charge_booked for ep in world.episodes if ep.charge_booked is not None}
    nav_rows, order_rows, fee_rows = [], [], []
    for fund in funds:
        code, base, basis = fund["fund_code"], fund["base_currency"], fund["day_basis"]
        wht = fund["withholding_tax_pct"]
        positions = world.opening_positions[world.opening_positions["fund"] == code].groupby("security_id")["quantity"].sum().to_dict()
        cash = {r.currency: r.balance for r in world.opening_cash[world.opening_cash["fund"] == code].itertuples()}
        sc_params = {sc["code"]: sc for sc in fund["share_classes"]}
        classes = {}
        for r in world.opening_classes[world.opening_classes["fund"] == code].itertuples():
            classes[r.share_class] = {"A": r.net_assets + r.performance_fee_accrued, "L_mgmt": 0.0, "L_perf": r.performance_fee_accrued,
                                      "units": r.units_outstanding, "hwm": r.high_water_mark, "na_prev": r.net_assets, "payable": 0.0}
        fund_trades = world.trades[world.trades["fund"] == code]
        trades_of_day = {day: rows for day, rows in fund_trades.groupby("trade_date", sort=False)}
        l_fixed = 0.0
        annual_fixed = sum(f["annual_amount"] for f in fund["fixed_fees"])

        def pool_value(on: dt.date) -> float:
            total = 0.0
            for sid, qty in positions.items():
                if qty == 0:
                    continue
                sec = rows_of[sid]
                mv, ai = _security_value(sec, qty, float(world.prices.at[on, sid]), on)
                total += (mv + ai) * fx_rate(world.fx, on, sec["currency"], base)
            total += sum(bal * fx_rate(world.fx, on, ccy, base) for ccy, bal in cash.items())
            return total - l_fixed

        p_prev = pool_value(world.opening_date)
        scale = p_prev / sum(c["A"] for c in classes.values())
        for c in classes.values():  # opening cash was rounded to cents: spread the difference
            c["A"] *= scale
        prev = world.opening_date
        settle_cal = conventions.settlement_calendar(fund["calendar"], base, world.universe.closures)
        for i, d in enumerate(world.dates):
            following = world.dates[i + 1] if i + 1 < len(world.dates) else world.session.add_business_days(d + dt.timedelta(days=1), 0)
            days = (_fees_accrued_to(d, following) - _fees_accrued_to(prev, d)).days
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
                    of_record = coupon_holder_of_record(world, code, ev)
                    nominal = held if of_record is None else of_record
                    cash[ev.currency] = cash.get(ev.currency, 0.0) + float(round_half_up_array(nominal * ev.gross_rate / 100, 2))
                elif ev.event_type == "REDM":  # the position goes at the ex-date, the proceeds are due
                    cash[ev.currency] = cash.get(ev.currency, 0.0) + float(round_half_up_array(held * ev.gross_rate / 100, 2))
                    positions[ev.security_id] = 0.0
            # trades of the day (trade-date accounting)
            for t in trades_of_day[d].itertuples() if d in trades_of_day else ():
                sign = 1 if t.side == "BUY" else -1
                positions[t.security_id] = positions.get(t.security_id, 0.0) + sign * t.quantity
                cash[t.currency] = cash.get(t.currency, 0.0) - sign * t.net_amount
            if code == "USEQ" and i in charge_days:  # the bank's charge, booked the day after it shows on the statement
                cash["USD"] = cash.get("USD", 0.0) - BANK_CHARGE
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
                if d.year != prev.year:  # the performance fee crystallised at the year end is paid
                    for sc, c in classes.items():
                        amount = float(round_half_up_array(c["payable"], 2))
                        if amount:
                            fee_rows.append({"fund": code, "share_class": sc, "fee_type": "performance", "amount": amount, "currency": base, "pay_date": d})
                            cash[base] -= amount
                            c["A"] -= amount
                            c["payable"] = 0.0
                            paid_class_total += amount
            l_fixed += annual_fixed * days / basis
            p_now = pool_value(d)
            pnl = p_now - (p_prev - paid_class_total)
            total_a = sum(c["A"] - c["payable"] for c in classes.values())
            for sc, c in classes.items():
                c["A"] += pnl * (c["A"] - c["payable"]) / total_a
            for sc, c in classes.items():
                c["L_mgmt"] += sc_params[sc]["management_fee_pct"] / 100 * c["na_prev"] * days / basis
                perf = sc_params[sc].get("performance_fee")
                if perf and c["hwm"] is not None:
                    gross_nps = (c["A"] - c["L_mgmt"] - c["payable"]) / c["units"]
                    c["L_perf"] = perf["rate_pct"] / 100 * max(0.0, gross_nps - c["hwm"]) * c["units"]
                net = c["A"] - c["L_mgmt"] - c["L_perf"] - c["payable"]
                c["nps"] = float(round_half_up_array(net / c["units"], fund["nav_decimals"]))
            # dealing at the day's official NAV per share
            net_capital = 0.0
            day_seq = 0
            for o in _orders_for_day(rng, fund, d, i, world.dates, classes, anchors):
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
                settles = world.roll_to_session(settle_cal.add_business_days(d, SETTLEMENT_DAYS_CAPITAL.get(code[:4], 2)), settle_cal)
                order_rows.append({
                    "order_id": f"O{d:%y%m%d}{code}{day_seq:03d}", "fund": code, "share_class": o["share_class"],
                    "investor_id": o["investor_id"], "order_type": o["order_type"], "dealing_date": d,
                    "settlement_date": settles,
                    "currency": sc_params[o["share_class"]]["currency"], "amount": amount, "units": units, "nav_per_share": c["nps"], "status": "DEALT",
                })
            # the year's last valuation: the accrued performance fee becomes a payable, the high-water
            # mark steps up to the day's NAV per share (which the crystallisation itself leaves alone)
            if _last_session_of_year(world, d):
                for sc, c in classes.items():
                    perf = sc_params[sc].get("performance_fee")
                    if perf and perf.get("crystallisation") == "annual" and c["hwm"] is not None and c["L_perf"] > 0:
                        c["payable"] += float(round_half_up_array(c["L_perf"], 2))
                        c["L_perf"] = 0.0
                        c["hwm"] = c["nps"]
            for sc, c in classes.items():
                c["na_prev"] = c["A"] - c["L_mgmt"] - c["L_perf"] - c["payable"]
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
            overdrawn = {ccy: round(bal, 2) for ccy, bal in cash.items() if bal < 0}
            if overdrawn:
                raise RuntimeError(f"sample world: the administrator's cash of {code} is overdrawn on {d}: {overdrawn}")
    world.nav = pd.DataFrame(nav_rows)
    world.capital_activity = pd.DataFrame(order_rows)
    world.fee_payments = pd.DataFrame(fee_rows)


def seed_price_stories(world: World) -> None:
    """True prices behind the stale and missing price stories, per episode: an illiquid name that
    does not trade for the five business days up to the anchor, and a name whose price nobody
    delivers on the anchor (the administrator carries the previous close forward). After an
    earlier episode the path carries on from the flat level (no catch-up jump)."""
    r = world.universe.roles
    px = world.prices
    repeats = set()  # (column, row) where an unchanged true price is the story
    for ep in world.episodes:
        row = ep.anchor + 1  # price rows start with the opening date
        for sid, first in ((r["stale_price"], row - 4), (r["missing_price"], row - 1)):
            col = px.columns.get_loc(sid)
            level = px.iat[first, col]
            after = px.iat[row, col]
            px.iloc[first:row + 1, col] = level
            if row + 1 < len(px):
                px.iloc[row + 1:, col] = (px.iloc[row + 1:, col] * (level / after)).round(4)
            repeats |= {(sid, k) for k in range(first + 1, row + 1)}
    # rescaled paths must still never repeat a close by accident
    values = px.to_numpy()
    for j, sid in enumerate(px.columns):
        for k in range(1, len(values)):
            if values[k, j] == values[k - 1, j] and (sid, k) not in repeats:
                values[k, j] = round(values[k, j] + 0.0001, 4)
    world.prices = pd.DataFrame(values, index=px.index, columns=px.columns)
