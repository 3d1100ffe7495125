"""Every control fires: for each function that gives a red / amber / green (or a break status), a
small hand-made input on which it must say RED or AMBER, with the exact status and figure. A
control that cannot fail is a defect; these tests are the proof that each one can.

Grouped by domain (NAV, pricing, reconciliation, settlement, regulatory, intake, books). Controls
already made to fire on hand-made input elsewhere are listed in ``docs/controls.md`` with their
test; those here are the ones that had none."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from bo_lib.rag import AMBER, GREEN, RED

D0, D1 = pd.Timestamp("2026-11-05"), pd.Timestamp("2026-11-06")


def _summary_line(summary: pd.DataFrame, check: str) -> pd.Series:
    return summary.set_index("check").loc[check]


# =================================================================================================
# NAV (bo_lib/nav/controls.py)


def _class_nav(rows: list[tuple]) -> pd.DataFrame:
    """(nav_date, share_class, nav_per_share, units_outstanding) -> a class_nav frame."""
    frame = pd.DataFrame(rows, columns=["nav_date", "share_class", "nav_per_share", "units_outstanding"])
    net = frame["nav_per_share"] * frame["units_outstanding"]
    return frame.assign(net_assets_before_dealing=net, net_assets=net)


def _admin(rows: list[tuple]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["nav_date", "share_class", "nav_per_share", "units_outstanding"])
    return frame.assign(net_assets=frame["nav_per_share"] * frame["units_outstanding"])


def test_shadow_vs_administrator_units_outstanding_differ_red_with_its_own_status():
    from bo_lib.nav.controls import UNITS_DIFFER, shadow_vs_administrator

    books = _class_nav([(D1, "A", 10.0, 1000.000), (D1, "B", 20.0, 500.000), (D1, "C", 30.0, 200.000), (D1, "D", 40.0, 100.0)])
    admin = _admin([(D1, "A", 10.0, 1000.001), (D1, "B", 20.4, 499.000), (D1, "C", 30.0, 200.000 + 1e-9), (D1, "D", 40.0, 100.0004)])
    out = shadow_vs_administrator(books, admin, materiality_pct=0.5, unit_decimals=3).set_index("share_class")
    # A: the NAV per share agrees, one thousandth of a unit does not: red, its own status
    assert (out.at["A", "status"], out.at["A", "rag"]) == (UNITS_DIFFER, RED) == ("units differ", "red")
    assert out.at["A", "units_difference"] == pytest.approx(0.001)
    # B: 2% off (material) and a unit short: both said
    assert (out.at["B", "status"], out.at["B", "rag"]) == ("material; units differ", RED)
    assert out.at["B", "units_difference"] == pytest.approx(-1.0)
    # C: float noise, D: below half a unit of the third decimal: agree
    assert (out.at["C", "status"], out.at["C", "rag"]) == ("agrees", GREEN)
    assert (out.at["D", "status"], out.at["D", "rag"]) == ("agrees", GREEN)


def _orders(rows: list[tuple]) -> pd.DataFrame:
    """(order_id, share_class, order_type, units, status, dealing_date) -> capital activity."""
    frame = pd.DataFrame(rows, columns=["order_id", "share_class", "order_type", "units", "status", "dealing_date"])
    return frame.assign(amount=frame["units"] * 10.0, nav_per_share=10.0, settlement_date=frame["dealing_date"])


def test_units_against_the_dealing_fires_on_an_order_the_register_did_not_deal():
    from bo_lib.nav.controls import units_rollforward

    orders = _orders([("O1", "A", "SUB", 150.5, "DEALT", D1), ("O2", "A", "RED", 50.0, "DEALT", D1),
                      ("O3", "A", "SUB", 20.0, "CANCELLED", D1), ("O4", "B", "SUB", 7.25, "DEALT", D1)])
    # class A: the books dealt the cancelled order too (+20 units); class B: the books follow the register
    books = _class_nav([(D0, "A", 10.0, 1000.0), (D1, "A", 10.0, 1120.5), (D0, "B", 10.0, 300.0), (D1, "B", 10.0, 307.25)])
    out = units_rollforward(books, orders, unit_decimals=3).set_index("share_class")
    a = out.loc["A"]
    assert (a["prior_units"], a["orders"], a["units_subscribed"], a["units_redeemed"], a["expected_units"]) == (1000.0, 2, 150.5, 50.0, 1100.5)
    assert (a["units_outstanding"], a["difference"], a["rag"]) == (1120.5, 20.0, RED)
    assert (out.at["B", "expected_units"], out.at["B", "difference"], out.at["B", "rag"]) == (307.25, 0.0, GREEN)
    # a missed order: the books did not deal O4
    missed = units_rollforward(_class_nav([(D0, "B", 10.0, 300.0), (D1, "B", 10.0, 300.0)]), orders, unit_decimals=3)
    assert (missed["difference"].iat[0], missed["rag"].iat[0]) == (-7.25, RED)
    # a day without orders: the units must not move
    still = units_rollforward(_class_nav([(D0, "C", 10.0, 300.0), (D1, "C", 10.0, 300.001)]), orders, unit_decimals=3)
    assert (still["orders"].iat[0], still["difference"].iat[0], still["rag"].iat[0]) == (0, 0.001, RED)


def test_register_rounding_from_the_redeal_reaches_the_nav_summary():
    from bo_lib.books.nav import redeal
    from bo_lib.nav.controls import register_rounding, summary, units_rollforward

    class Fund:
        unit_decimals = 3

    capital = pd.DataFrame({"order_id": ["O1", "O2", "O3"], "share_class": "A", "investor_id": "I1", "order_type": ["SUB", "SUB", "RED"],
                            "dealing_date": D1, "settlement_date": D1, "deal_on": D1, "amount": [1000.0, 1000.0, 505.0],
                            "units": [99.999, 100.000, 50.0], "nav_per_share": 10.0})
    class_nav = pd.DataFrame({"nav_date": [D1], "share_class": ["A"], "nav_per_share": [10.0]})
    dealing = redeal(capital, class_nav, Fund())
    # O1: 1,000.00 / 10.0000 is 100.000 units, the register gave 99.999; O3: 50 units x 10 is 500.00, the register paid 505.00
    assert dealing.set_index("order_id")["register_rounding_ok"].to_dict() == {"O1": False, "O2": True, "O3": False}
    off = register_rounding(dealing)
    assert off["order_id"].tolist() == ["O1", "O3"] and (off["rag"] == RED).all()

    books = _class_nav([(D0, "A", 10.0, 1000.0), (D1, "A", 10.0, 1149.999)])
    units = units_rollforward(books, capital.assign(status="DEALT"), 3)
    table = summary(**_quiet_nav_inputs(), units=units, nav_date=D1.date(), base_currency="USD", dealing=dealing)
    line = _summary_line(table, "register rounding")
    assert (line["rag"], line["count"]) == (RED, 2)
    assert line["detail"].startswith("order O1 class A SUB 1,000.00 = 99.9990 units at 10.0000")
    assert _summary_line(table, "units vs dealing")["rag"] == GREEN  # the books follow the register's units, whatever they are
    assert table["rag"].iat[0] == RED  # worst first


def _quiet_nav_inputs() -> dict:
    """Every input of ``nav.controls.summary`` with nothing to report (keyword arguments)."""
    def empty(*cols):
        return pd.DataFrame({c: pd.Series(dtype="datetime64[ns]" if c.endswith("date") else "object") for c in cols})

    return dict(
        price_exceptions=empty("exception", "security_id", "name", "detail", "rag"), fx_exceptions=empty("detail", "rag"),
        day_move=empty("nav_date", "share_class", "move_pct", "tolerance_pct", "rag"),
        shadow=empty("nav_date", "share_class", "rag"), positions=empty("exception", "security_id", "currency", "amount", "rag"),
        suspense=empty("amount"), coupons=empty("security_id", "coupon_date", "coupon_amount", "currency", "rag"),
        explain=empty("nav_date", "share_class", "residual", "residual_per_share"))
