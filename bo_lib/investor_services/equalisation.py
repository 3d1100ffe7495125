"""Fair performance fees between investors: equalisation by **equalisation credit and depreciation
deposit**, per lot of units (a subscription), so each investor bears the fee on their own gains
above the high-water mark, and only those. Pure functions over Decimals and DataFrames.

Why this method and not series accounting: series accounting issues each dealing day's
subscriptions as a new series with its own NAV per share and high-water mark, rolled into the lead
series after each crystallisation; a class then has as many prices as dealing days in the period,
and every report that reads one NAV per class (the register, the administrator's NAV file, the
regulatory filings, the investors' statements) must carry series. Equalisation keeps one published
NAV per share per class and puts the fairness in the register, lot by lot, which is where the
transfer agent keeps it anyway.

The rules, per unit, with the class's performance fee rate ``r`` (% of the gain above the
high-water mark ``HWM``), the gross asset value per share before the performance fee ``GAV``
(NAV per share + the fee accrued per share), and the lot's subscription GAV ``S``:

* the class accrues ``r x max(0, GAV - HWM)`` per share, on every unit alike, and the NAV per
  share is struck after it;
* a lot subscribed **above** the high-water mark (``S > HWM``) paid, on top of the NAV per share,
  an **equalisation credit** of the fee accrued then, ``r x (S - HWM)`` per unit: it is the
  investor's, at risk; it is worth ``r x max(0, min(GAV, S) - HWM)`` now (it shrinks if the GAV
  falls back below ``S``) and is returned at crystallisation as units at the NAV per share;
* a lot subscribed **below** the high-water mark (``S < HWM``) would ride from ``S`` to the
  high-water mark fee-free: it owes a **depreciation deposit** of ``r x max(0, min(GAV, HWM) - S)``
  per unit, the fee on its own gain up to the mark, collected at crystallisation by redeeming units
  at the NAV per share and paid to the manager;
* so the fee a lot bears = the class's fee - its credit + its deposit = ``r x max(0, GAV - S)``
  in every case: the fee on its own gain since it came in, whatever the class's mark;
* at crystallisation (the period end, or a redemption of the lot's units) each lot settles: units
  credited = credit x units / NAV per share, units redeemed = deposit x units / NAV per share,
  rounded half up at the class's unit decimals; the lot starts the next period at the new
  high-water mark with neither.

Amounts are Decimals rounded half up at the cent; per-unit figures are kept unrounded.
"""

from __future__ import annotations

from decimal import Decimal

import pandas as pd

from bo_lib.money import round_half_up

HUNDRED = Decimal(100)
ZERO = Decimal(0)
LOT_COLUMNS = ["investor", "lot", "units", "subscription_gav"]
SETTLEMENT_COLUMNS = ["investor", "lot", "units", "subscription_gav", "class_fee", "credit", "deposit", "fee_borne", "units_credited",
                      "units_redeemed", "units_after"]


def _d(value) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


def class_fee_per_share(gav: Decimal, hwm: Decimal, rate_pct: Decimal) -> Decimal:
    """The performance fee the class accrues per share: ``r x max(0, GAV - HWM)``."""
    return _d(rate_pct) / HUNDRED * max(ZERO, _d(gav) - _d(hwm))


def equalisation_credit(subscription_gav: Decimal, gav: Decimal, hwm: Decimal, rate_pct: Decimal) -> Decimal:
    """A lot's equalisation credit per unit now: ``r x max(0, min(GAV, S) - HWM)``."""
    return _d(rate_pct) / HUNDRED * max(ZERO, min(_d(gav), _d(subscription_gav)) - _d(hwm))


def depreciation_deposit(subscription_gav: Decimal, gav: Decimal, hwm: Decimal, rate_pct: Decimal) -> Decimal:
    """A lot's depreciation deposit per unit now: ``r x max(0, min(GAV, HWM) - S)``."""
    return _d(rate_pct) / HUNDRED * max(ZERO, min(_d(gav), _d(hwm)) - _d(subscription_gav))


def subscription_price(nav_per_share: Decimal, gav: Decimal, hwm: Decimal, rate_pct: Decimal) -> tuple[Decimal, Decimal]:
    """(price per unit paid, of which equalisation credit): the NAV per share plus the fee accrued
    per share when the class is above its mark (the subscriber pre-pays it, and gets it back at
    crystallisation if the gain holds)."""
    credit = class_fee_per_share(gav, hwm, rate_pct)
    return _d(nav_per_share) + credit, credit


def settle_lots(lots: pd.DataFrame, gav: Decimal, hwm: Decimal, rate_pct: Decimal, nav_per_share: Decimal, unit_decimals: int) -> pd.DataFrame:
    """Each lot at crystallisation (``LOT_COLUMNS`` in, ``SETTLEMENT_COLUMNS`` out): the class fee it
    was charged through the NAV, its credit returned and its deposit collected (amounts at the
    cent), the fee it bore, and its units after the units credited and redeemed."""
    fee = class_fee_per_share(gav, hwm, rate_pct)
    rows = []
    for lot in lots.itertuples(index=False):
        units, start = _d(lot.units), _d(lot.subscription_gav)
        credit = round_half_up(equalisation_credit(start, gav, hwm, rate_pct) * units, 2)
        deposit = round_half_up(depreciation_deposit(start, gav, hwm, rate_pct) * units, 2)
        class_fee = round_half_up(fee * units, 2)
        credited = round_half_up(credit / _d(nav_per_share), unit_decimals)
        redeemed = round_half_up(deposit / _d(nav_per_share), unit_decimals)
        rows.append({"investor": lot.investor, "lot": lot.lot, "units": units, "subscription_gav": start, "class_fee": class_fee,
                     "credit": credit, "deposit": deposit, "fee_borne": class_fee - credit + deposit, "units_credited": credited,
                     "units_redeemed": redeemed, "units_after": units + credited - redeemed})
    return pd.DataFrame(rows, columns=SETTLEMENT_COLUMNS)
