"""Equalisation by credit and depreciation deposit (``bo_lib.investor_services.equalisation``), on
a worked example with every figure written out by hand. Class: performance fee 20% of the gain
above the high-water mark, units to 3 decimals.

Period 1, high-water mark 100.00:
* investor A holds 1,000 units since the mark was set (subscription GAV 100.00);
* the GAV per share rises to 110.00: the class accrues 20% x (110 - 100) = 2.00 per share, NAV 108.00;
  investor B subscribes 500 units at 108.00 + an equalisation credit of 2.00 = 110.00 each
  (54,000.00 + 1,000.00 = 55,000.00 paid);
* the GAV per share falls to 95.00 (no fee accrued, NAV 95.00): investor C subscribes 200 units at
  95.00, below the mark: a depreciation deposit is due on C's gain up to the mark;
* at the period end the GAV per share is 120.00: the class's fee 20% x 20 = 4.00 per share,
  NAV per share 116.00, 1,700 units x 4.00 = 6,800.00 charged through the NAV.

Each lot at crystallisation:
* A: class fee 4,000.00; no credit, no deposit: bears 4,000.00 = 20% x (120 - 100) x 1,000;
* B: class fee 500 x 4.00 = 2,000.00; credit 20% x (min(120, 110) - 100) x 500 = 1,000.00 returned
  as 1,000.00 / 116.00 = 8.62069 -> 8.621 units; bears 1,000.00 = 20% x (120 - 110) x 500;
* C: class fee 200 x 4.00 = 800.00; deposit 20% x (min(120, 100) - 95) x 200 = 200.00 collected by
  redeeming 200.00 / 116.00 = 1.72414 -> 1.724 units; bears 1,000.00 = 20% x (120 - 95) x 200.
Fees the manager receives: 6,800.00 - 1,000.00 + 200.00 = 6,000.00 = 4,000 + 1,000 + 1,000.

Had the GAV ended at 105.00 instead (NAV 104.00, class fee 1.00 per share): B's credit shrinks to
20% x (min(105, 110) - 100) = 1.00 per unit, 500.00, and B bears 500.00 - 500.00 = 0 (no gain since
entry); C's deposit is 20% x (100 - 95) = 1.00 per unit, 200.00, and C bears 200.00 + 200.00 =
400.00 = 20% x (105 - 95) x 200.
"""

from __future__ import annotations

from decimal import Decimal as D

import pandas as pd
import pytest

from bo_lib.investor_services import equalisation as eq

LOTS = pd.DataFrame([("A", "A-1", 1_000, "100.00"), ("B", "B-1", 500, "110.00"), ("C", "C-1", 200, "95.00")], columns=eq.LOT_COLUMNS)
RATE, HWM = D("20"), D("100.00")


def test_a_subscription_above_the_mark_pays_the_accrued_fee_as_a_credit():
    assert eq.subscription_price(D("108.00"), D("110.00"), HWM, RATE) == (D("110.00"), D("2.00"))
    assert eq.subscription_price(D("95.00"), D("95.00"), HWM, RATE) == (D("95.00"), D("0"))


def test_crystallisation_returns_the_credit_collects_the_deposit_and_each_lot_bears_its_own_gain():
    out = eq.settle_lots(LOTS, D("120.00"), HWM, RATE, D("116.00"), 3).set_index("investor")
    assert out["class_fee"].tolist() == [D("4000.00"), D("2000.00"), D("800.00")]
    assert out["credit"].tolist() == [D("0.00"), D("1000.00"), D("0.00")]
    assert out["deposit"].tolist() == [D("0.00"), D("0.00"), D("200.00")]
    assert out["fee_borne"].tolist() == [D("4000.00"), D("1000.00"), D("1000.00")]
    assert out["units_credited"].tolist() == [D("0.000"), D("8.621"), D("0.000")]
    assert out["units_redeemed"].tolist() == [D("0.000"), D("0.000"), D("1.724")]
    assert out["units_after"].tolist() == [D("1000.000"), D("508.621"), D("198.276")]
    assert sum(out["fee_borne"]) == D("6000.00")


def test_a_fall_after_entry_shrinks_the_credit_and_the_deposit_follows_the_gain_to_the_mark():
    out = eq.settle_lots(LOTS, D("105.00"), HWM, RATE, D("104.00"), 3).set_index("investor")
    assert out["credit"]["B"] == D("500.00") and out["fee_borne"]["B"] == D("0.00")
    assert out["deposit"]["C"] == D("200.00") and out["fee_borne"]["C"] == D("400.00")
    assert out["fee_borne"]["A"] == D("1000.00")


@pytest.mark.parametrize("gav", ["90", "100", "104.5", "110", "133.33"])
def test_the_fee_a_lot_bears_is_the_rate_on_its_gain_since_entry(gav):
    fee = eq.class_fee_per_share(D(gav), HWM, RATE)
    for start in ("95.00", "100.00", "110.00"):
        borne = fee - eq.equalisation_credit(D(start), D(gav), HWM, RATE) + eq.depreciation_deposit(D(start), D(gav), HWM, RATE)
        assert borne == D("0.20") * max(D(0), D(gav) - D(start))
