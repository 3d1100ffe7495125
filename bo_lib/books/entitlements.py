"""The entitlements of corporate actions: what each fund and account receives from an event and
each of its options, on the holding of record and on the market claims of the trades crossing the
record date, and what the book of record must book for it. Pure functions over DataFrames, no I/O.

Inputs of ``entitlements``:

* ``events``: the golden record, one row per event: ``event_id``, ``event_type`` (ISO 15022 CAEV,
  one of ``codes.ENTITLEMENT_EVENT_TYPES``), ``mandatory_voluntary`` (MAND, CHOS, VOLU),
  ``security_id``, ``isin``, ``currency``, ``ex_date``, ``record_date``, ``pay_date``; optional
  ``event_status`` (a cancelled event, CANC, gives nothing).
* ``options``: one row per option of an event: ``event_id``, ``option_number`` ("001"...),
  ``option_type`` (``codes.CA_OPTION_TYPES``), ``is_default``, ``currency``, ``gross_rate`` (cash
  per unit held; INTR per 100 nominal, REDM and MCAL the redemption price per 100 nominal; RHTS
  sell: the proceeds per unit held), ``ratio_new`` / ``ratio_old`` (new securities per old held:
  SPLF 2/1, BONU 1/10, SOFF 1/5, MRGR 0.5/1), ``new_security_id``, ``price`` (RHTS subscription,
  TEND offer, DRIP reinvestment price per new unit), ``cash_in_lieu_price`` (per whole new unit;
  NaN: ``price``, then the new security's price in ``prices``), ``cost_allocation_pct`` (SOFF, MRGR:
  the share of the old cost carried to the new security; NaN: by relative market value).
* ``holdings``: the settled holding at the record date: ``fund``, ``account``, ``security_id``,
  ``quantity``, ``cost`` (book cost in the security's currency).
* ``pending``: the trades made before the ex-date and settling after the record date (the caller
  selects them): ``trade_id``, ``fund``, ``account``, ``security_id``, ``side``, ``quantity``,
  ``counterparty``; optional ``cost`` (the trade's consideration) and ``settlement_date``.
* ``elections``: ``fund``, ``account``, ``event_id``, ``option_number``, ``quantity`` elected.
* ``securities`` (``security_id``, ``country``, ``ex_coupon_days``, ``price_multiplier``),
  ``prices`` (``security_id``, ``price``: the first ex price) and ``withholding_tax_pct`` (the
  fund's treaty rate by the issuer's country).

The rules, in the trade's words:

* **Who is entitled.** The issuer pays the holder of record; the buyer of a trade made cum is
  entitled. So an event gives a ``holding`` row on the settled holding at the record date and a
  ``market claim`` row per pending trade (a BUY of ours: claimed from the counterparty, positive;
  a SELL: owed to it, negative): together they are the trade-date entitlement. No claim on a
  voluntary event (the holder's instruction decides, a buyer's protection is not modelled) nor on
  a bond trading ex by settlement date (``ex_coupon_days`` > 0: the trade was priced ex). On a
  reorganisation (split, merger, redemption) the claim row stands for the transformation a CSD
  makes of the pending trade: the units, cash and cost the trade-date holder gains or gives up.
* **Which option.** Units elected take their option; the rest of the holding, and every claim,
  take the default option (a single option is the default); without one they take no action.
  Elections count against the holding of record; a claim cannot elect (buyer protection).
* **New securities** are ``held x ratio_new / ratio_old``, floored to whole units; the fraction
  is paid as cash in lieu at the cash-in-lieu price (RHTS: a fraction is not subscribed, and is
  paid only at a stated cash-in-lieu price). SPLF, SPLR and MRGR *replace* the holding (ISO NEWO);
  BONU, DVSE, SOFF, the stock of DVOP and DRIP and the RHTS subscription are *added* to it (ADEX).
  So a bonus of 1 per 10 is ``1/10`` here, where the books' corporate-actions feed (``positions``)
  carries the new holding over the old (a 5% stock dividend is 105/100 there, 5/100 here).
* **Cost.** Replaced: the old cost is removed, the share carried to the new security (all of it
  for a split; for a merger the stated percentage or the new shares' value over the new shares'
  and the cash's) goes to the whole new units, the fractions' part and the rest are realised
  against the cash. SOFF moves the carried share (stated, or the new security's value over the new
  and the old's) off the old line. Bonus and stock dividends cost nothing; subscribed and
  reinvested units cost what was paid; a redemption or tender removes the cost of the units given.
* **Cash** per unit held (INTR, REDM, MCAL per 100 nominal), rounded half-up to the cent per row.
  Dividends (DVCA, the cash of DVOP and DRIP) are paid net of the treaty rate for the issuer's
  country: net = half-up(held x rate x (1 - rate %)), tax = gross - net. Coupons, redemptions,
  tenders, merger cash, rights sold and cash in lieu are paid gross. DRIP reinvests the net
  dividend in whole units at the reinvestment price; the rest stays as cash.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal

import numpy as np
import pandas as pd

from bo_lib.books.accruals import MARKET_CLAIM
from bo_lib.codes import (CANCELLED_EVENT, CA_OPTION_TYPES, ENTITLEMENT_EVENT_TYPES, INCOME_EVENTS, PER_100_NOMINAL_EVENTS,
                          REPLACING_EVENTS, VOLUNTARY_EVENT, WITHHOLDING_EVENTS)
from bo_lib.money import round_half_up

HOLDING = "holding"
NO_ACTION = ("NOAC", "LAPS")
ENTITLEMENT_COLUMNS = ["fund", "account", "event_id", "event_type", "option_number", "option_type", "kind", "trade_id", "counterparty",
                       "security_id", "eligible_quantity", "currency", "cash_gross", "withholding_pct", "withholding_tax", "cash_net",
                       "new_security_id", "new_quantity", "fraction", "cash_in_lieu", "subscription_cost", "old_quantity_removed",
                       "cost_removed", "cost_to_new", "ex_date", "pay_date"]
POSITION_COLUMNS = ["fund", "account", "event_id", "kind", "trade_id", "counterparty", "quantity", "cost", "pay_date"]
FIGURES = ["cash_gross", "withholding_pct", "withholding_tax", "cash_net", "new_quantity", "fraction", "cash_in_lieu", "subscription_cost",
           "old_quantity_removed", "cost_removed", "cost_to_new"]
ZERO = Decimal(0)
HUNDRED = Decimal(100)


# ---------------------------------------------------------------------------------------------
# who is entitled, and to which option


def live_events(events: pd.DataFrame) -> pd.DataFrame:
    """The events not cancelled; an event type without rules here is an error naming the event."""
    ev = events[events["event_status"].ne(CANCELLED_EVENT)] if "event_status" in events else events
    unknown = ev[~ev["event_type"].isin(ENTITLEMENT_EVENT_TYPES)]
    if len(unknown):
        listed = ", ".join(f"{e} ({t})" for e, t in zip(unknown["event_id"], unknown["event_type"]))
        raise ValueError(f"no entitlement rules for the event type of {listed}: known are {', '.join(ENTITLEMENT_EVENT_TYPES)}")
    return ev


def holders_of_record(events: pd.DataFrame, holdings: pd.DataFrame) -> pd.DataFrame:
    """The settled holding at the record date of each event's security: one ``holding`` row each."""
    rows = holdings.merge(events[["event_id", "security_id", "pay_date"]], on="security_id")
    return pd.DataFrame({"fund": rows["fund"], "account": rows["account"], "event_id": rows["event_id"], "kind": HOLDING, "trade_id": "",
                         "counterparty": "", "quantity": rows["quantity"].astype("float64"),
                         "cost": rows["cost"].astype("float64").fillna(0.0), "pay_date": pd.to_datetime(rows["pay_date"])})


def claim_positions(events: pd.DataFrame, pending: pd.DataFrame | None, securities: pd.DataFrame) -> pd.DataFrame:
    """One ``market claim`` row per trade pending across the record date: the buyer is entitled, so
    a BUY of ours is claimed from the counterparty (+) and a SELL owed to it (-). None on voluntary
    events, nor on a bond trading ex by settlement date (ex-coupon days > 0); a claim is paid on the
    pay date, or when its trade settles if that is later."""
    if pending is None or pending.empty:
        return pd.DataFrame(columns=POSITION_COLUMNS)
    ex_coupon = pd.to_numeric(securities.set_index("security_id")["ex_coupon_days"], errors="coerce").fillna(0)
    claimed = events[events["mandatory_voluntary"].ne(VOLUNTARY_EVENT) & ~events["security_id"].map(ex_coupon).fillna(0).gt(0)]
    rows = pending.merge(claimed[["event_id", "security_id", "pay_date"]], on="security_id")
    sign = np.where(rows["side"].eq("BUY"), 1.0, -1.0)
    cost = rows["cost"].astype("float64").fillna(0.0) if "cost" in rows else 0.0
    pay = pd.to_datetime(rows["pay_date"])
    if "settlement_date" in rows:
        settles = pd.to_datetime(rows["settlement_date"])
        pay = pay.where(pay.ge(settles) | settles.isna(), settles)
    return pd.DataFrame({"fund": rows["fund"], "account": rows["account"], "event_id": rows["event_id"], "kind": MARKET_CLAIM,
                         "trade_id": rows["trade_id"], "counterparty": rows["counterparty"].fillna(""),
                         "quantity": sign * rows["quantity"].astype("float64"), "cost": sign * cost, "pay_date": pay})


def default_options(options: pd.DataFrame) -> pd.Series:
    """The option unelected units take, per event: the one marked default, or the only option;
    ``""`` (no action) when there is neither. Two defaults are an error naming the event."""
    marked = options[options["is_default"].fillna(False).astype(bool)]
    twice = marked["event_id"][marked["event_id"].duplicated()]
    if len(twice):
        raise ValueError(f"more than one default option on event(s) {', '.join(sorted(set(twice)))}")
    only = options.groupby("event_id").filter(lambda g: len(g) == 1)
    chosen = pd.concat([marked, only[~only["event_id"].isin(marked["event_id"])]])
    return chosen.set_index("event_id")["option_number"].reindex(options["event_id"].unique()).fillna("")


def option_quantities(positions: pd.DataFrame, options: pd.DataFrame, elections: pd.DataFrame | None) -> pd.DataFrame:
    """Each position split over the options: the units elected into each option (holdings only),
    the rest into the default option. Electing more than is held, or for no holding, or into an
    option the event does not have, is an error naming the fund, account and event."""
    keys = ["fund", "account", "event_id"]
    elected = pd.DataFrame(columns=keys + ["option_number", "quantity"]) if elections is None else elections
    elected = elected.groupby(keys + ["option_number"], as_index=False)["quantity"].sum()
    unknown = elected.merge(options[["event_id", "option_number"]], how="left", indicator=True).query("_merge == 'left_only'")
    held = positions[positions["kind"].eq(HOLDING)]
    total = elected.groupby(keys)["quantity"].sum().rename("elected").reset_index().merge(held[keys + ["quantity"]], on=keys, how="left")
    over = total[total["elected"].gt(total["quantity"].fillna(0.0) + 1e-9)]
    for bad, why in ((unknown, "an option the event does not have"), (over, "more units than are held at the record date")):
        if len(bad):
            listed = "; ".join("/".join(str(v) for v in r) for r in bad[keys].itertuples(index=False))
            raise ValueError(f"elections into {why}: {listed}")
    chosen = held.merge(elected.rename(columns={"quantity": "elected"}), on=keys)
    chosen = chosen.assign(cost=chosen["cost"] * chosen["elected"] / chosen["quantity"], quantity=chosen["elected"]).drop(columns="elected")
    taken = chosen.groupby(keys, as_index=False)[["quantity", "cost"]].sum().rename(columns={"quantity": "taken", "cost": "taken_cost"})
    rest = positions.merge(taken, on=keys, how="left")
    on_holding = rest["kind"].eq(HOLDING)
    rest = rest.assign(quantity=rest["quantity"] - rest["taken"].fillna(0.0).where(on_holding, 0.0),
                       cost=rest["cost"] - rest["taken_cost"].fillna(0.0).where(on_holding, 0.0),
                       option_number=rest["event_id"].map(default_options(options)).fillna(""))
    rows = pd.concat([chosen, rest.drop(columns=["taken", "taken_cost"])], ignore_index=True)
    return rows[rows["quantity"].abs().gt(1e-9)].reset_index(drop=True)


# ---------------------------------------------------------------------------------------------
# the rules, one per event type, on the units of one option (quantities and cost as magnitudes)


@dataclass(frozen=True)
class Market:
    """What the rules look up: each security's unit value (price x price multiplier) and the
    treaty rate of withholding tax for each issuer's country."""

    unit_value: pd.Series
    country: pd.Series
    treaty: dict[str, float]

    @classmethod
    def of(cls, securities: pd.DataFrame, prices: pd.DataFrame | None, treaty: dict[str, float] | None) -> Market:
        sec = securities.set_index("security_id")
        multiplier = pd.to_numeric(sec["price_multiplier"], errors="coerce") if "price_multiplier" in sec else pd.Series(1.0, index=sec.index)
        price = (prices if prices is not None else pd.DataFrame(columns=["security_id", "price"])).set_index("security_id")["price"].astype("float64")
        return cls(price * multiplier.reindex(price.index).fillna(1.0), sec["country"], dict(treaty or {}))

    def value(self, security_id: str, event_id: str) -> Decimal:
        value = self.unit_value.get(security_id)
        if value is None or pd.isna(value):
            raise ValueError(f"event {event_id}: no price for {security_id}, needed for its cash in lieu or its cost allocation")
        return _dec(value)

    def withholding_pct(self, security_id: str) -> Decimal:
        return _dec(self.treaty.get(self.country.get(security_id), 0.0))


@dataclass(frozen=True)
class Held:
    """The units of one holding or claim in one option, with the option's terms."""

    event_id: str
    event_type: str
    option_number: str
    option_type: str
    security_id: str
    new_security_id: str
    quantity: Decimal
    cost: Decimal
    terms: dict

    def term(self, name: str) -> Decimal | None:
        return _dec(self.terms.get(name))

    def required(self, name: str) -> Decimal:
        value = self.term(name)
        if value is None:
            raise ValueError(f"event {self.event_id} option {self.option_number} ({self.option_type}): no {name}")
        return value


def _dec(value) -> Decimal | None:
    """A float as the decimal it shows (its shortest repr); None for a missing value."""
    if value is None or (not isinstance(value, Decimal) and pd.isna(value)):
        return None
    return value if isinstance(value, Decimal) else Decimal(repr(float(value)))


def cents(amount: Decimal) -> Decimal:
    return round_half_up(amount, 2)


def cash_per_unit(h: Held) -> Decimal:
    """The option's cash per unit held: ``gross_rate``, per 100 of nominal for coupons and redemptions."""
    rate = h.required("gross_rate")
    return rate / HUNDRED if h.event_type in PER_100_NOMINAL_EVENTS else rate


def capital_cash(gross: Decimal) -> dict:
    """Cash paid gross: coupons, redemptions, tenders, merger cash, rights sold."""
    return {"cash_gross": cents(gross), "cash_net": cents(gross)}


def dividend_cash(gross: Decimal, pct: Decimal) -> dict:
    """A dividend net of the treaty rate: net = half-up(gross x (1 - rate %)), tax = gross - net."""
    net = cents(gross * (1 - pct / HUNDRED))
    return {"cash_gross": cents(gross), "withholding_pct": pct, "withholding_tax": cents(gross) - net, "cash_net": net}


def whole_units(h: Held) -> tuple[Decimal, Decimal]:
    """New securities for the units held: held x ratio_new / ratio_old, floored; and the fraction."""
    entitled = h.quantity * h.required("ratio_new") / h.required("ratio_old")
    whole = entitled.to_integral_value(rounding=ROUND_FLOOR)
    return whole, entitled - whole


def cash_in_lieu(h: Held, fraction: Decimal, market: Market) -> Decimal:
    """The fraction of a new unit paid in cash at the cash-in-lieu price, else the option's price,
    else the new security's price."""
    if not fraction:
        return ZERO
    price = next((p for p in (h.term("cash_in_lieu_price"), h.term("price")) if p is not None), None)
    if price is None:
        price = market.value(h.new_security_id, h.event_id)
    return cents(fraction * price)


def new_securities(h: Held, market: Market, carried: Decimal) -> dict:
    """New securities by the ratio, with cash in lieu of the fraction. ``carried``: the share of the
    old cost carried to the new security, spread over the whole units (the fraction's part is
    realised against its cash). A replacing event (``codes.REPLACING_EVENTS``) removes the old
    units and all their cost."""
    whole, fraction = whole_units(h)
    replace = h.event_type in REPLACING_EVENTS
    carried_cost = h.cost * carried
    return {"new_quantity": whole, "fraction": fraction, "cash_in_lieu": cash_in_lieu(h, fraction, market),
            "cost_to_new": cents(carried_cost * whole / (whole + fraction)) if whole + fraction else ZERO,
            "old_quantity_removed": h.quantity if replace else ZERO, "cost_removed": cents(h.cost if replace else carried_cost)}


def cash_dividend(h: Held, market: Market) -> dict:
    """DVCA (and the cash of DVOP and DRIP): held x rate per share, net of withholding tax."""
    return dividend_cash(h.quantity * h.required("gross_rate"), market.withholding_pct(h.security_id))


def dividend_option(h: Held, market: Market) -> dict:
    """DVOP: the cash dividend, or new shares by the ratio added at no cost (a stock dividend)."""
    return cash_dividend(h, market) if h.option_type == "CASH" else new_securities(h, market, ZERO)


def reinvestment(h: Held, market: Market) -> dict:
    """DRIP: the net dividend reinvested in whole new units at the reinvestment price; they cost
    what was paid for them; the rest of the dividend stays as cash."""
    dividend = cash_dividend(h, market)
    if h.option_type == "CASH":
        return dividend
    price = h.required("price")
    bought = dividend["cash_net"] / price
    whole = bought.to_integral_value(rounding=ROUND_FLOOR)
    paid = cents(whole * price)
    return {**dividend, "new_quantity": whole, "fraction": bought - whole, "subscription_cost": paid, "cost_to_new": paid}


def split(h: Held, market: Market) -> dict:
    """SPLF, SPLR: the new units replace the old and carry all of their cost."""
    return new_securities(h, market, Decimal(1))


def stock_distribution(h: Held, market: Market) -> dict:
    """BONU, DVSE: new units added to the holding at no cost (the old cost is spread over more)."""
    return new_securities(h, market, ZERO)


def _allocated(h: Held, other_value: Decimal, market: Market) -> Decimal:
    """The share of the old cost carried to the new security: the stated percentage, else the new
    units' value over theirs and ``other_value`` (the old units kept, or the cash)."""
    pct = h.term("cost_allocation_pct")
    if pct is not None:
        return pct / HUNDRED
    new_value = h.quantity * h.required("ratio_new") / h.required("ratio_old") * market.value(h.new_security_id, h.event_id)
    return new_value / (new_value + other_value)


def spin_off(h: Held, market: Market) -> dict:
    """SOFF: the new company's shares added; the carried share of the cost moves off the old line."""
    carried = _allocated(h, h.quantity * market.value(h.security_id, h.event_id), market)
    return new_securities(h, market, carried)


def merger(h: Held, market: Market) -> dict:
    """MRGR: the acquirer's shares, cash, or both replace the holding; with both, the carried share
    of the cost goes to the new shares and the rest is realised against the cash."""
    if h.option_type == "CASH":
        return {**capital_cash(h.quantity * h.required("gross_rate")), "old_quantity_removed": h.quantity, "cost_removed": cents(h.cost)}
    if h.option_type == "SECU":
        return new_securities(h, market, Decimal(1))
    cash = h.quantity * h.required("gross_rate")
    return {**new_securities(h, market, _allocated(h, cash, market)), **capital_cash(cash)}


def rights(h: Held, market: Market) -> dict:
    """RHTS: exercise subscribes whole new units at the subscription price (a fraction is not
    subscribed; cash for it only at a stated cash-in-lieu price), which cost what was paid; sell
    pays the rights' proceeds per unit held; lapse gives nothing."""
    if h.option_type == "SLLE":
        return capital_cash(h.quantity * h.required("gross_rate"))
    whole, fraction = whole_units(h)
    paid = cents(whole * h.required("price"))
    lieu = h.term("cash_in_lieu_price")
    return {"new_quantity": whole, "fraction": fraction, "cash_in_lieu": cents(fraction * lieu) if lieu is not None else ZERO,
            "subscription_cost": paid, "cost_to_new": paid}


def tender(h: Held, market: Market) -> dict:
    """TEND: the units tendered are bought at the offer price and leave with their cost."""
    price = h.term("price") if h.term("price") is not None else h.required("gross_rate")
    return {**capital_cash(h.quantity * price), "old_quantity_removed": h.quantity, "cost_removed": cents(h.cost)}


def coupon(h: Held, market: Market) -> dict:
    """INTR: nominal x rate per 100 of nominal, paid gross."""
    return capital_cash(h.quantity * cash_per_unit(h))


def redemption(h: Held, market: Market) -> dict:
    """REDM, MCAL: nominal x redemption price per 100; the bond leaves with its cost."""
    return {**capital_cash(h.quantity * cash_per_unit(h)), "old_quantity_removed": h.quantity, "cost_removed": cents(h.cost)}


#: each event type's rule and the option types it pays on (NOAC and LAPS give nothing on any event)
RULES = {"DVCA": (cash_dividend, ("CASH",)), "DVOP": (dividend_option, ("CASH", "SECU")), "DRIP": (reinvestment, ("CASH", "SECU")),
         "SPLF": (split, ("SECU",)), "SPLR": (split, ("SECU",)), "BONU": (stock_distribution, ("SECU",)),
         "DVSE": (stock_distribution, ("SECU",)), "SOFF": (spin_off, ("SECU",)), "MRGR": (merger, ("SECU", "CASH", "CASE")),
         "RHTS": (rights, ("EXER", "SLLE")), "TEND": (tender, ("CASH",)), "INTR": (coupon, ("CASH",)),
         "REDM": (redemption, ("CASH",)), "MCAL": (redemption, ("CASH",))}
assert set(RULES) == set(ENTITLEMENT_EVENT_TYPES)


def option_figures(row: dict, market: Market) -> dict:
    """The figures of one row (one holding or claim in one option): the event's rule on the units'
    magnitude, then signed as the row (a claim owed to a counterparty is negative)."""
    rule, paying = RULES[row["event_type"]]
    option_type = row["option_type"]
    if option_type not in CA_OPTION_TYPES or (option_type not in paying and option_type not in NO_ACTION):
        raise ValueError(f"event {row['event_id']} option {row['option_number']}: option type {option_type} "
                         f"is not one the rules pay on a {row['event_type']} ({', '.join(paying + NO_ACTION)})")
    quantity, cost = _dec(row["quantity"]), _dec(row["cost"]) or ZERO
    held = Held(row["event_id"], row["event_type"], row["option_number"], option_type, row["security_id"], row["new_security_id"],
                abs(quantity), abs(cost), row)
    figures = {} if option_type in NO_ACTION else rule(held, market)
    sign = -1 if quantity < 0 else 1
    return {name: float(figures.get(name, ZERO)) * (1 if name == "withholding_pct" else sign) for name in FIGURES}


# ---------------------------------------------------------------------------------------------
# the entitlements, and what the books book


def entitlements(events: pd.DataFrame, options: pd.DataFrame, holdings: pd.DataFrame, pending: pd.DataFrame | None,
                 elections: pd.DataFrame | None, securities: pd.DataFrame, prices: pd.DataFrame | None,
                 withholding_tax_pct: dict[str, float] | None) -> pd.DataFrame:
    """What each fund and account is entitled to from each live event: one row per fund, account,
    event, option and kind (``holding`` on the holding of record, ``market claim`` per pending
    trade), by the rules of the module docstring. Columns ``ENTITLEMENT_COLUMNS``: the cash (gross,
    withholding rate and tax, net), the new securities (whole units, the fraction, its cash in
    lieu), the subscription paid, the old units and cost removed, the cost carried to the new
    units, the ex-date and the pay date. Cash is in the option's currency (else the event's);
    quantities and amounts of a claim owed to a counterparty are negative."""
    ev = live_events(events)
    if ev.empty:
        return pd.DataFrame(columns=ENTITLEMENT_COLUMNS)
    opts = options[options["event_id"].isin(ev["event_id"])]
    without = sorted(set(ev["event_id"]) - set(opts["event_id"]))
    if without:
        raise ValueError(f"event(s) without options in the golden record: {', '.join(without)}")
    positions = pd.concat([holders_of_record(ev, holdings), claim_positions(ev, pending, securities)], ignore_index=True)
    rows = option_quantities(positions, opts, elections)
    if rows.empty:
        return pd.DataFrame(columns=ENTITLEMENT_COLUMNS)
    rows = rows.merge(ev[["event_id", "event_type", "security_id", "currency", "ex_date"]], on="event_id")
    rows = rows.merge(opts, on=["event_id", "option_number"], how="left", suffixes=("", "_option"))
    rows = rows.assign(option_type=rows["option_type"].fillna("NOAC"), currency=rows["currency_option"].fillna(rows["currency"]),
                       new_security_id=rows["new_security_id"].fillna(rows["security_id"]), ex_date=pd.to_datetime(rows["ex_date"]))
    market = Market.of(securities, prices, withholding_tax_pct)
    figures = pd.DataFrame([option_figures(r, market) for r in rows.to_dict("records")], index=rows.index, columns=FIGURES)
    out = pd.concat([rows.drop(columns=[c for c in FIGURES if c in rows]), figures], axis=1).rename(columns={"quantity": "eligible_quantity"})
    out["new_security_id"] = out["new_security_id"].where(out["new_quantity"].ne(0) | out["cost_to_new"].ne(0), "")
    order = ["fund", "account", "event_id", "option_number", "kind", "trade_id"]
    return out.reindex(columns=ENTITLEMENT_COLUMNS).sort_values(order).reset_index(drop=True)


#: events whose positions change on the ex-date on the trade basis (the security trades ex, or as
#: the new line, from then on); the others' on the pay date (a subscription or reinvestment is
#: issued when paid for; a bond redeemed and units tendered are held until paid)
POSITION_ON_EX_DATE = ("SPLF", "SPLR", "BONU", "DVSE", "SOFF", "MRGR")
BOOKING_COLUMNS = ["fund", "account", "event_id", "event_type", "kind", "trade_id", "counterparty", "on", "movement", "security_id",
                   "currency", "quantity", "cost", "cash", "income_receivable"]


def _booking_rows(r) -> list[dict]:
    """The bookings of one entitlement row (the rules: ``booking_movements``)."""
    base = {"fund": r.fund, "account": r.account, "event_id": r.event_id, "event_type": r.event_type, "kind": r.kind, "trade_id": r.trade_id,
            "counterparty": r.counterparty, "currency": "", "quantity": 0.0, "cost": 0.0, "cash": 0.0, "income_receivable": 0.0}
    position_on = r.ex_date if r.event_type in POSITION_ON_EX_DATE and pd.notna(r.ex_date) else r.pay_date  # no ex-date: on the pay date
    rows = []
    if r.old_quantity_removed or r.cost_removed:
        rows.append({**base, "on": position_on, "movement": "units given up", "security_id": r.security_id,
                     "quantity": -r.old_quantity_removed, "cost": -r.cost_removed})
    if r.new_quantity or r.cost_to_new:
        rows.append({**base, "on": position_on, "movement": "units credited", "security_id": r.new_security_id,
                     "quantity": r.new_quantity, "cost": r.cost_to_new})
    income = r.event_type in INCOME_EVENTS + WITHHOLDING_EVENTS
    cash = {**base, "security_id": r.security_id, "currency": r.currency}
    if income and r.cash_net:
        rows.append({**cash, "on": r.ex_date if pd.notna(r.ex_date) else r.pay_date, "movement": "income receivable",
                     "income_receivable": r.cash_net})
        rows.append({**cash, "on": r.pay_date, "movement": "income received", "income_receivable": -r.cash_net, "cash": r.cash_net})
    capital = (0.0 if income else r.cash_net) + r.cash_in_lieu - r.subscription_cost
    if capital:
        rows.append({**cash, "on": r.pay_date, "movement": "cash", "cash": capital})
    return rows


def booking_movements(entitlements: pd.DataFrame) -> pd.DataFrame:
    """What the book of record books for the entitlements, per fund, account, event and kind.

    * Positions: the units given up (``-old_quantity_removed``, ``-cost_removed``) on the event's
      security and the units credited (``new_quantity``, ``cost_to_new``) on the new security, on
      the ex-date for SPLF, SPLR, BONU, DVSE, SOFF and MRGR (the trade basis: the holding trades ex,
      as the positions roll books them; without an ex-date, the pay date), on the pay date otherwise. A split's two rows on the same
      security together come to the units added and less the cost of the fraction sold.
    * Income (DVCA, INTR and the dividends of DVOP and DRIP, net of withholding tax; a claim's is
      due from or to the counterparty): receivable on the ex-date, received in cash on the pay date.
    * Other cash on the pay date, in the option's currency: redemption, tender, merger and rights
      proceeds, plus cash in lieu, less the subscription or reinvestment paid.

    Columns ``BOOKING_COLUMNS``; ``cost`` is in the security's currency, ``cash`` and
    ``income_receivable`` in ``currency``. Rows of the same key are summed.
    """
    rows = [b for r in entitlements.itertuples(index=False) for b in _booking_rows(r)]
    if not rows:
        return pd.DataFrame(columns=BOOKING_COLUMNS)
    keys = [c for c in BOOKING_COLUMNS if c not in ("quantity", "cost", "cash", "income_receivable")]
    out = pd.DataFrame(rows).groupby(keys, as_index=False, sort=False, dropna=False)[["quantity", "cost", "cash", "income_receivable"]].sum()
    return out.reindex(columns=BOOKING_COLUMNS).sort_values(["fund", "account", "event_id", "kind", "trade_id", "on"], kind="stable").reset_index(drop=True)
