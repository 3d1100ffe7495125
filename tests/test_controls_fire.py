"""Every control fires: for each function that gives a red / amber / green (or a break status), a
small hand-made input on which it must say RED or AMBER, with the exact status and figure. A
control that cannot fail is a defect; these tests are the proof that each one can.

Grouped by domain (NAV, pricing, reconciliation, settlement, regulatory, intake, books). The
inventory of every control and its firing test (here or elsewhere) is ``docs/controls.md``; those
here are the ones that had none on hand-made input (several fired only on the sample world's seeded
exceptions, some never)."""

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


def test_day_move_beyond_the_tolerance_is_red():
    from bo_lib.nav.controls import day_moves

    nav = _class_nav([(D0, "A", 10.0, 1.0), (D1, "A", 10.3, 1.0), (D0, "B", 20.0, 1.0), (D1, "B", 20.2, 1.0)])
    out = day_moves(nav, day_move_pct=2.0).set_index("share_class")
    assert (out.at["A", "rag"], out.at["A", "move_pct"]) == (RED, pytest.approx(3.0))
    assert (out.at["B", "rag"], out.at["B", "move_pct"]) == (GREEN, pytest.approx(1.0))


def test_shadow_vs_administrator_nav_per_share_immaterial_amber_material_red():
    from bo_lib.nav.controls import shadow_vs_administrator

    books = _class_nav([(D1, "A", 10.0, 100.0), (D1, "B", 10.0, 100.0), (D1, "C", 10.0, 100.0)])
    admin = _admin([(D1, "A", 10.01, 100.0), (D1, "B", 10.1, 100.0), (D1, "C", 10.0005, 100.0)])
    out = shadow_vs_administrator(books, admin, materiality_pct=0.5, unit_decimals=3).set_index("share_class")
    assert (out.at["A", "status"], out.at["A", "rag"], out.at["A", "difference_pct"]) == ("immaterial", AMBER, pytest.approx(0.1))
    assert (out.at["B", "status"], out.at["B", "rag"], out.at["B", "error_value"]) == ("material", RED, pytest.approx(10.0))
    assert (out.at["C", "status"], out.at["C", "rag"]) == ("agrees", GREEN)  # 0.005% is within AGREEMENT_PCT


def test_position_exceptions_no_price_negative_position_negative_cash():
    from bo_lib.nav.controls import position_exceptions

    valuation = pd.DataFrame({"nav_date": D1, "account": "0012345678", "security_id": ["EQ1", "EQ2", "OP1", "EQ3"],
                              "asset_class": ["equity", "equity", "option", "equity"], "currency": "USD",
                              "quantity": [100.0, -50.0, -10.0, 10.0], "price": [np.nan, 20.0, 3.0, 5.0]})
    cash = pd.DataFrame({"nav_date": [D1, D1, D0], "currency": ["USD", "EUR", "GBP"], "cash_at_bank": [-125.5, -0.004, -9.0]})
    out = position_exceptions(valuation, cash, D1.date())
    assert out[["exception", "security_id", "currency", "amount"]].values.tolist() == [
        ["no_price", "EQ1", "USD", 100.0], ["negative_position", "EQ2", "USD", -50.0], ["negative_cash", "", "USD", -125.5]]
    assert (out["rag"] == RED).all()  # a written option is short by design; half a cent and yesterday's GBP are not today's overdraft


def test_a_coupon_date_without_a_coupon_event_is_amber():
    from bo_lib.nav.controls import coupons_without_event

    securities = pd.DataFrame({"security_id": ["BD1", "EQ1"], "asset_class": ["corporate_bond", "equity"], "maturity_date": ["2030-11-05", None],
                               "coupon_frequency": [2, None], "coupon_rate": [4.0, None], "currency": ["USD", "USD"],
                               "day_count": ["30/360 US", None]})
    valuation = pd.DataFrame({"nav_date": [pd.Timestamp("2026-11-04"), D1], "security_id": "BD1", "quantity": 1_000_000.0})
    # 30/360 US, 5 May -> 5 Nov 2026 = 180/360: 1,000,000 x 4% x 0.5 = 20,000.00
    none = pd.DataFrame(columns=["event_id", "event_type", "security_id", "ex_date", "pay_date"])
    out = coupons_without_event(valuation, securities, none, [dt.date(2026, 11, 4), D1.date()])
    assert out[["security_id", "coupon_date", "nominal", "coupon_amount", "currency", "rag"]].values.tolist() == [
        ["BD1", pd.Timestamp("2026-11-05"), 1_000_000.0, 20_000.0, "USD", AMBER]]
    booked = pd.DataFrame({"event_id": ["CA1"], "event_type": ["INTR"], "security_id": ["BD1"], "ex_date": [pd.Timestamp("2026-11-04")],
                           "pay_date": [pd.Timestamp("2026-11-05")]})
    assert coupons_without_event(valuation, securities, booked, [dt.date(2026, 11, 4), D1.date()]).empty


def test_every_line_of_the_nav_summary_fires():
    from bo_lib.nav.controls import shadow_vs_administrator, summary, units_rollforward

    shadow = shadow_vs_administrator(_class_nav([(D1, "A", 10.0, 100.0)]), _admin([(D1, "A", 10.1, 100.0)]), 0.5, unit_decimals=3)
    units = units_rollforward(_class_nav([(D0, "A", 10.0, 100.0), (D1, "A", 10.0, 101.0)]), _orders([]), 3)
    dealing = pd.DataFrame({"dealing_date": [D1], "order_id": ["O1"], "share_class": ["A"], "order_type": ["SUB"], "amount": [1000.0],
                            "units": [99.0], "nav_per_share": [10.0], "register_rounding_ok": [False]})
    inputs = dict(
        price_exceptions=pd.DataFrame({"exception": ["price_stale"], "security_id": ["EQ1"], "name": ["Acme"], "detail": ["5 in a row"], "rag": [AMBER]}),
        fx_exceptions=pd.DataFrame({"detail": ["EUR/USD moved +6.00% (tolerance 5%)"], "rag": [RED]}),
        day_move=pd.DataFrame({"nav_date": [D1], "share_class": ["A"], "move_pct": [3.0], "tolerance_pct": [2.0], "rag": [RED]}),
        shadow=shadow, units=units,
        positions=pd.DataFrame({"exception": ["negative_cash"], "security_id": [""], "currency": ["USD"], "amount": [-5.0], "rag": [RED]}),
        suspense=pd.DataFrame({"amount": [12.5, 7.5]}),
        coupons=pd.DataFrame({"security_id": ["BD1"], "coupon_date": [D1], "coupon_amount": [20_000.0], "currency": ["USD"], "rag": [AMBER]}),
        explain=pd.DataFrame({"nav_date": [D1], "share_class": ["A"], "residual": [2.0], "residual_per_share": [0.02]}))
    table = summary(**inputs, nav_date=D1.date(), base_currency="USD", violations=2, dealing=dealing).set_index("check")
    expected = {"input data": (RED, 2), "pricing exceptions": (AMBER, 1), "FX fixings": (RED, 1), "NAV move": (RED, 1),
                "shadow vs administrator": (RED, 1), "units vs dealing": (RED, 1), "register rounding": (RED, 1),
                "positions and cash": (RED, 1), "suspense": (AMBER, 2), "coupons without event": (AMBER, 1), "NAV explain residual": (RED, 1)}
    assert {c: (r.rag, r["count"]) for c, r in table.iterrows()} == expected
    assert table.at["NAV move", "detail"] == "class A +3.00% (tolerance 2%)"
    assert table.at["units vs dealing", "detail"].endswith("= 100.0000 (+1.0000)")
    assert table.at["suspense", "detail"] == "2 cash-ledger movements with unknown references, total 20.00"
    assert table.at["NAV explain residual", "detail"] == "class A residual 2.00 (0.0200 per share)"
    assert "material, error value +10.00 USD" in table.at["shadow vs administrator", "detail"]


def test_the_books_lines_of_the_nav_report_fire():
    """Provisional NAV, restatement required and books reproduce red, restatements amber
    (``nav.daily.with_books_checks``) on a hand-made state."""
    from types import SimpleNamespace

    from bo_lib.nav.daily import with_books_checks

    state = SimpleNamespace(is_provisional=True, provisional=("inbound/2026-11-06/trades.csv line 3, price: not a finite number",), missing_days=(),
                            classes=pd.DataFrame({"share_class": ["A"], "nav_per_share": [10.0]}))
    required = pd.DataFrame({"business_date": [D0], "share_class": ["A"], "stored_nav_per_share": [10.0], "recomputed_nav_per_share": [10.05],
                             "difference_per_share": [0.05], "effect_net_assets": [500.0]})
    restated = pd.DataFrame({"business_date": [D0], "share_class": ["A"], "stored_nav_per_share": [9.9], "recomputed_nav_per_share": [9.95],
                             "reason": ["corrected trades.csv"]})
    inputs = SimpleNamespace(state=state, required=required, restated=restated, fund=SimpleNamespace(fund_code="USEQ", base_currency="USD"),
                             locked_through=D0.date(), business_date=D1.date(), previous=SimpleNamespace(business_date=D0.date()))
    result = SimpleNamespace(class_nav=pd.DataFrame({"nav_date": [D1], "share_class": ["A"], "nav_per_share": [10.01]}))
    empty = pd.DataFrame(columns=["check", "rag", "count", "detail"])
    table = with_books_checks(empty, inputs, result).set_index("check")
    assert {c: (r.rag, r["count"]) for c, r in table.iterrows()} == {
        "provisional NAV": (RED, 1), "restatement required": (RED, 1), "books reproduce": (RED, 1), "restatements": (AMBER, 1)}
    assert table.at["books reproduce", "detail"] == ("struck again from the previous state, the NAV differs from the books' for class(es) "
                                                     "A (10.0000 stored, 10.0100 now)")
    assert "bo reopen --fund USEQ --date 2026-11-05" in table.at["restatement required", "detail"]


# =================================================================================================
# pricing and FX (bo_lib/nav/pricing.py)


def test_price_exceptions_missing_stale_jump_and_override():
    from bo_lib.nav.pricing import price_exceptions

    securities = pd.DataFrame({"security_id": ["EQ1", "EQ2", "EQ3", "EQ4", "EQ5"], "isin": ["I1", "I2", "I3", "I4", "I5"],
                               "name": ["Missing", "Stale", "Jump", "Override", "Fine"], "asset_class": "equity"})
    days = [pd.Timestamp(f"2026-11-0{d}") for d in (2, 3, 4, 5, 6)]
    chosen = pd.DataFrame([(d, "EQ2", 50.0) for d in days] + [(d, "EQ4", 30.0 + i / 100 if d < D1 else 31.0) for i, d in enumerate(days)]
                          + [(d, "EQ3", 100.0 if d < D1 else 112.0) for d in days] + [(d, "EQ5", 10.0 + i / 100) for i, d in enumerate(days)]
                          + [(d, "EQ1", 20.0) for d in days[:-1]], columns=["price_date", "security_id", "price"])
    chosen["secondary_price"] = np.where(chosen["security_id"].eq("EQ3"), 100.5, np.nan)
    valued = pd.DataFrame({"price_date": D1, "security_id": ["EQ1", "EQ2", "EQ3", "EQ4", "EQ5"], "quantity": 100.0,
                           "price": [20.0, 50.0, 112.0, 31.0, 10.04], "source": ["BLOOMBERG", "BLOOMBERG", "BLOOMBERG", "OVERRIDE", "BLOOMBERG"],
                           "price_as_of": [D0, D1, D1, D1, D1], "carried_forward": [True, False, False, False, False],
                           "is_override": [False, False, False, True, False], "secondary_price": [np.nan, np.nan, 100.5, np.nan, np.nan]})
    valued["market_value_base"] = valued["quantity"] * valued["price"]
    out = price_exceptions(valued, chosen, securities, D1.date(), stale_days=5, jump_pct={"equity": 5.0}).set_index("exception")
    assert out["security_id"].to_dict() == {"price_missing": "EQ1", "price_jump": "EQ3", "price_override": "EQ4", "price_stale": "EQ2"}
    assert out["rag"].to_dict() == {"price_missing": RED, "price_jump": RED, "price_override": AMBER, "price_stale": AMBER}
    assert out.at["price_jump", "move_pct"] == pytest.approx(12.0) and out.at["price_jump", "secondary_move_pct"] == pytest.approx(0.0)
    assert out.at["price_jump", "impact_base"] == pytest.approx(100 * 112.0 * (1 - 100.5 / 112.0))
    assert out.at["price_stale", "unchanged_deliveries"] == 5
    assert out.at["price_missing", "detail"] == "no ranked source priced it today; valued at the BLOOMBERG price of 2026-11-05"


def test_fx_exceptions_red_for_a_held_currency_amber_for_another():
    from bo_lib.nav.pricing import fx_exceptions

    fx = pd.DataFrame({"rate_date": [D0, D0, D0, D1, D1], "from_currency": ["EUR", "CHF", "GBP", "EUR", "CHF"], "to_currency": "USD",
                       "rate": [1.08, 1.13, 1.29, 1.08 * 1.06, 1.13 * 1.09]})
    out = fx_exceptions(fx, D1.date(), move_pct=5.0, fund_currencies=["USD", "EUR", "GBP"]).set_index("currency")
    assert out["exception"].to_dict() == {"CHF": "fx_move", "EUR": "fx_move", "GBP": "fx_missing"}
    assert out["rag"].to_dict() == {"CHF": AMBER, "EUR": RED, "GBP": RED}
    assert out.at["EUR", "move_pct"] == pytest.approx(6.0) and out.at["CHF", "detail"].endswith("no NAV impact, a feed exception")


# =================================================================================================
# reconciliation (bo_lib/recon/*)

def _tolerances():
    """A fund's tolerances, as the recons read them."""
    from types import SimpleNamespace

    return SimpleNamespace(position_quantity=0.0, market_value_abs=1.0, market_value_rel=0.0, trade_price_rel=0.0001, trade_net_amount=0.01,
                           cash_amount=0.01)


NO_FX = pd.DataFrame({"from_currency": pd.Series(dtype="str"), "to_currency": pd.Series(dtype="str"), "rate": pd.Series(dtype="float64")})


def _position_recon():
    """Books against the custodian: every classification once."""
    from bo_lib.recon.positions import reconcile_positions

    ids = ["S1", "S2", "S3", "S4", "S5", "S6", "S7"]
    securities = pd.DataFrame({"security_id": ids, "isin": [f"US000000000{i}" for i in range(1, 8)], "name": ids, "currency": "USD",
                               "price_multiplier": 1.0, "asset_class": "equity"})
    isin = dict(zip(securities["security_id"], securities["isin"]))
    books = pd.DataFrame({"fund": "F", "account": "A1", "security_id": ["S1", "S2", "S3", "S5", "S6", "S7"],
                          "quantity": [1000.0, 1000.0, 500.0, 300.0, 100.0, 10.0]})
    custodian = pd.DataFrame({"account": "A1", "isin": [isin[s] for s in ("S1", "S2", "S4", "S5", "S6", "S7")],
                              "quantity": [750.0, 1050.0, 200.0, 200.0, 100.0, 10.0], "price": 10.0,
                              "market_value": [7500.0, 10500.0, 2000.0, 2000.0, 1100.0, 100.0]})
    status = pd.DataFrame({"client_reference": ["T5"], "account": ["A1"], "settlement_status": ["PENF"], "intended_settlement_date": [D1], "movement": ["RVP"],
                           "quantity": [100.0], "settled_quantity": [0.0]})
    trades = pd.DataFrame({"trade_id": ["T5"], "security_id": ["S5"]})
    prices = pd.DataFrame(columns=["price_date", "security_id", "source", "price"])
    return reconcile_positions(books, custodian, securities, status, trades, prices, NO_FX, business_date=D1.date(), base_currency="USD",
                               tolerances=_tolerances()), isin


def test_position_recon_classifies_every_kind_of_break():
    recon, isin = _position_recon()
    table = recon.table.set_index("security_id")
    assert table["classification"].to_dict() == {
        "S1": "quantity difference", "S2": "corporate action suspected", "S3": "missing at custodian", "S4": "missing in books",
        "S5": "timing", "S6": "price/amount difference", "S7": ""}
    assert table.at["S1", "quantity_diff"] == -250.0 and table.at["S2", "ratio"] == "105:100" and table.at["S5", "trades"] == "T5"
    assert table.at["S6", "break_value_base"] == 100.0 and table.at["S4", "break_value_base"] == 2000.0


def test_a_position_break_a_notified_event_explains_names_the_event():
    from bo_lib.recon.positions import reconcile_positions

    _recon, isin = _position_recon()
    books = pd.DataFrame({"fund": "F", "account": "A1", "security_id": ["S2"], "quantity": [1000.0]})
    custodian = pd.DataFrame({"account": "A1", "isin": [isin["S2"]], "quantity": [1050.0], "price": 10.0, "market_value": [10500.0]})
    securities = pd.DataFrame({"security_id": ["S2"], "isin": [isin["S2"]], "name": "s2", "currency": "USD", "price_multiplier": 1.0, "asset_class": "equity"})
    # the custodian notified a 5-per-100 stock dividend paid on D1: 1,000 x 1.05 = 1,050, what it holds
    notified = pd.DataFrame({"account": ["A1"], "isin": [isin["S2"]], "event_id": ["CA9"], "event_type": ["DVSE"], "factor": [1.05], "pay_date": [D1]})
    empty_status = pd.DataFrame(columns=["client_reference", "account", "settlement_status", "intended_settlement_date", "movement", "quantity",
                                         "settled_quantity"])
    prices = pd.DataFrame(columns=["price_date", "security_id", "source", "price"])
    recon = reconcile_positions(books, custodian, securities, empty_status, pd.DataFrame(columns=["trade_id", "security_id"]), prices, NO_FX,
                                business_date=D1.date(), base_currency="USD", tolerances=_tolerances(), notified_events=notified)
    row = recon.table.iloc[0]
    assert row["classification"] == "event applied by the custodian, not booked"
    assert row["detail"] == "custodian +50: event applied by the custodian, not booked: event CA9 (DVSE, paid 2026-11-06)"


def _cash_recon(statements=None):
    from bo_lib.recon.cash import reconcile_cash

    ledger = pd.DataFrame({"account": "C1", "currency": "USD", "reference": ["R1", "R2", "R4", "T5"], "value_date": D1,
                           "amount": [1000.0, 500.0, 850.0, 300.0], "movement_type": "TRADE_SETTLEMENT", "description": ["r1", "r2", "r4", "t5"]})
    entries = pd.DataFrame({"account": "C1", "currency": "USD", "value_date": D1, "booking_date": D1, "amount": [1000.0, -45.0, 700.0],
                            "transaction_code": "NTRF", "customer_reference": ["R1", "NONREF", "R4"], "bank_reference": ["B0", "B1", "B4"],
                            "description": ["r1", "charge", "r4"], "statement_id": "S-1", "delivery_date": D1})
    if statements is None:
        statements = pd.DataFrame({"account": ["C1"], "currency": ["USD"], "statement_id": ["S-1"], "opening_balance": [0.0], "entries": [3],
                                   "entries_total": [1655.0], "closing_date": [D1], "closing_balance": [1655.0], "delivery_date": [D1]})
    status = pd.DataFrame({"client_reference": ["T5"], "settlement_status": ["PENF"], "reason_code": ["LACK"], "intended_settlement_date": [D1],
                           "quantity": [10.0], "settled_quantity": [0.0], "settled_amount": [0.0]})
    return reconcile_cash(ledger, entries, statements, status, NO_FX, business_date=D1.date(), base_currency="USD", amount_tolerance=0.01,
                          opening_date=D0.date())


def test_cash_recon_classifies_every_kind_of_break():
    recon = _cash_recon()
    groups = recon.groups.set_index("reference")
    assert groups["classification"].to_dict() == {"B1": "missing in books", "R1": "", "R2": "missing at bank", "R4": "price/amount difference",
                                                  "T5": "timing"}
    assert groups.at["R4", "amount_diff"] == -150.0 and groups.at["B1", "break_value_base"] == 45.0
    assert (recon.integrity["integrity"] == "ok").all()


def test_statement_integrity_fires_on_an_unbalanced_statement_and_a_broken_chain():
    from bo_lib.data.formats.statement import statement_integrity

    statements = pd.DataFrame({"account": ["C1", "C1", "C2"], "statement_id": ["S-1", "S-2", "S-9"], "opening_balance": [0.0, 1655.0, 50.0],
                               "entries_total": [1655.0, 10.0, 0.0], "closing_balance": [1655.0, 1675.0, 50.0]})
    out = statement_integrity(statements, previous_closing={"C2": 40.0}).set_index("statement_id")
    assert out["integrity"].to_dict() == {"S-1": "ok", "S-2": "does not balance", "S-9": "chain broken"}
    assert out["rag"].to_dict() == {"S-1": GREEN, "S-2": RED, "S-9": RED}
    assert (out.at["S-2", "difference"], out.at["S-9", "chain_difference"]) == (10.0, 10.0)


def test_trade_recon_classifies_every_kind_of_break():
    from bo_lib.recon.trades import reconcile_trades

    def trade(tid, **changes):
        row = {"trade_id": tid, "account": "A1", "isin": "US0000000001", "currency": "USD", "broker_id": "BRK", "side": "BUY", "quantity": 100.0,
               "price": 10.0, "net_amount": 1000.0, "trade_date": D1, "settlement_date": D1 + pd.Timedelta(days=1)}
        return row | changes

    def confirm(tid, **changes):
        row = trade(tid, **changes)
        return {"confirm_id": f"C{tid}", "client_reference": row.pop("trade_id"), **row}

    trades = pd.DataFrame([trade("T1"), trade("T2"), trade("T3"), trade("T4"), trade("T5"), trade("T6")])
    confirms = pd.DataFrame([confirm("T1"), confirm("T2", side="SELL"), confirm("T3", quantity=90.0, net_amount=900.0), confirm("T4", price=10.5),
                             confirm("T5", settlement_date=D1 + pd.Timedelta(days=4)), confirm("T9")])
    recon = reconcile_trades(trades, confirms, NO_FX, business_date=D1.date(), base_currency="USD", tolerances=_tolerances())
    table = recon.table.set_index("reference")
    assert table["classification"].to_dict() == {"T1": "", "T2": "side difference", "T3": "quantity difference", "T4": "price/amount difference",
                                                 "T5": "settlement date difference", "T6": "unconfirmed", "T9": "missing in books"}
    assert table.at["T4", "fields"] == "price" and table.at["T3", "fields"] == "quantity, net_amount"
    assert table.at["T3", "break_value_base"] == 100.0 and table.at["T6", "break_value_base"] == 1000.0
    # what the next day starts from: the five open trades and the four confirmations they differ from, not the orphan
    trades_open, confirms_open = recon.open_items()
    assert sorted(trades_open["trade_id"]) == ["T2", "T3", "T4", "T5", "T6"] and sorted(confirms_open["client_reference"]) == ["T2", "T3", "T4", "T5"]


def test_a_day_with_no_trades_and_no_confirmations_reconciles_to_nothing():
    """The trade recon of a day without books (nothing read): empty typed frames, no break, no crash."""
    from bo_lib.data.catalogue import _empty
    from bo_lib.recon.carried import nothing_carried
    from bo_lib.recon.trades import reconcile_trades

    carried = nothing_carried()
    recon = reconcile_trades(_empty("trades"), _empty("broker_confirms"), NO_FX, business_date=D1.date(), base_currency="USD",
                             tolerances=_tolerances(), carried_trades=carried.trades, carried_confirms=carried.confirms)
    assert recon.table.empty and recon.resolved.empty and all(frame.empty for frame in recon.open_items())


def _daily_recon():
    from bo_lib.recon.control import DailyRecon
    from bo_lib.recon.trades import reconcile_trades

    positions, _ = _position_recon()
    empty_trades = pd.DataFrame(columns=["trade_id", "account", "isin", "currency", "broker_id", "side", "quantity", "price", "net_amount",
                                         "trade_date", "settlement_date"])
    confirms = pd.DataFrame([{"confirm_id": "C9", "client_reference": "T9", "account": "A1", "isin": "US0000000001", "currency": "USD",
                              "broker_id": "BRK", "side": "BUY", "quantity": 5.0, "price": 10.0, "net_amount": 50.0, "trade_date": D1,
                              "settlement_date": D1}])
    trades = reconcile_trades(empty_trades, confirms, NO_FX, business_date=D1.date(), base_currency="USD", tolerances=_tolerances())
    unbalanced = pd.DataFrame({"account": ["C1"], "currency": ["USD"], "statement_id": ["S-1"], "opening_balance": [0.0], "entries": [3],
                               "entries_total": [1655.0], "closing_date": [D1], "closing_balance": [1665.0], "delivery_date": [D1]})
    return DailyRecon("F", D1.date(), "USD", positions, _cash_recon(unbalanced), trades)


def test_every_line_of_the_recon_summary_fires():
    from bo_lib.recon.breaks import HISTORY_COLUMNS
    from bo_lib.recon.control import summarise

    today = _daily_recon()
    history = pd.DataFrame([dict.fromkeys(HISTORY_COLUMNS, "") | {"break_id": "POS-1", "recon": "positions", "item": "US0000000001",
                                                                 "status": "open", "age_business_days": 7, "first_seen": D0, "value_base": 0.0}])
    violations = pd.DataFrame({"file": ["inbound/2026-11-06/trades.csv"], "line": [3]})
    held = pd.DataFrame({"recon": ["cash"], "delivery_date": [D1], "account": ["C2"], "isin": [""], "reason": ["statement unreadable"]})
    table = summarise(today, history, violations, held, problems=["no books for 2026-11-06"]).set_index("check")
    assert {c: (r.rag, r["count"]) for c, r in table.iterrows()} == {
        "Input data": (RED, 1), "Not reconciled today": (RED, 1), "Books": (RED, 1), "Bank statement integrity": (RED, 1),
        "Positions recon": (RED, 6), "Cash recon": (RED, 4), "Trades recon": (RED, 1), "Breaks open more than 5 business days": (AMBER, 1)}
    assert table.at["Bank statement integrity", "detail"] == "C1 S-1: does not balance (difference +10.00)"
    assert table.at["Breaks open more than 5 business days", "detail"] == "positions US0000000001 (7d)"
    assert table.at["Not reconciled today", "detail"] == "held out until the input is corrected: cash C2: statement unreadable"


def test_a_recon_whose_breaks_are_all_timing_is_amber():
    from bo_lib.recon.control import DailyRecon, summarise

    full = _daily_recon()
    timing = full.positions.table[full.positions.table["classification"].isin(["timing", ""])].reset_index(drop=True)
    positions = type(full.positions)(full.positions.business_date, full.positions.result, timing, full.positions.options_excluded)
    today = DailyRecon("F", D1.date(), "USD", positions, full.cash, full.trades)
    no_history = pd.DataFrame(columns=["status", "age_business_days", "recon", "item", "break_id"])
    line = summarise(today, no_history, pd.DataFrame(columns=["file"])).set_index("check").loc["Positions recon"]
    assert (line["rag"], line["count"]) == (AMBER, 1) and line["detail"].startswith("timing: 1 (USD 1,000.00)")


# =================================================================================================
# settlement (bo_lib/settlement/*)


def test_settlement_report_failing_not_reported_and_not_in_our_books():
    from bo_lib.settlement import status

    securities = pd.DataFrame({"security_id": ["EQ1"], "name": ["Acme"], "asset_class": ["equity"], "mic": ["XNYS"], "csdr_category": [None],
                               "price_multiplier": [1.0]})
    trades = pd.DataFrame({"trade_id": ["T1", "T2"], "account": "A1", "broker_id": "BRK", "security_id": "EQ1", "isin": "US0000000001",
                           "currency": "USD", "side": ["SELL", "BUY"], "quantity": 100.0, "net_amount": [1000.0, 2000.0],
                           "trade_date": pd.Timestamp("2026-11-02"), "settlement_date": [pd.Timestamp("2026-11-03"), D1]})
    feed = pd.DataFrame({"status_date": D1, "account": "A1", "client_reference": ["T1", "T8"], "isin": "US0000000001", "movement": ["DVP", "RVP"],
                         "quantity": 100.0, "settlement_amount": [1000.0, 500.0], "currency": "USD", "trade_date": pd.Timestamp("2026-11-02"),
                         "intended_settlement_date": pd.Timestamp("2026-11-03"), "match_status": "MACH", "settlement_status": ["PENF", "PEND"],
                         "reason_code": ["LACK", ""], "settled_quantity": 0.0, "settled_amount": 0.0, "effective_settlement_date": pd.NaT})
    report = status.settlement_report(status.custody_instructions(trades, securities), feed, D1.date()).set_index("trade_id")
    assert report["state"].to_dict() == {"T8": status.NOT_IN_BOOKS, "T2": status.NOT_REPORTED, "T1": status.FAILING}
    assert (report.at["T1", "age_business_days"], report.at["T1", "age_bucket"], report.at["T1", "reason"]) == (3, "2-3", "lack of securities (our side)")
    assert report.at["T1", "unsettled_amount"] == 1000.0


def _settlement_result(*, fail_age: int, unmatched_due: bool, penalty: float | None, paid: float, balance: float, worst: float,
                       violations: int = 0):
    from bo_lib.settlement.control import SettlementResult

    fails = pd.DataFrame({"trade_id": ["T1"], "reason_code": ["LACK"], "age_business_days": [fail_age], "unsettled_amount_base": [1000.0],
                          "partial": [False]})
    report = pd.DataFrame({"trade_id": ["T1", "T2", "T3", "T4"], "state": ["failing", "pending", "not reported by custodian", "pending"],
                           "match_status": ["MACH", "NMAT", "MACH", "MACH"], "reason_code": ["LACK", "CMIS", "", ""],
                           "reason": ["lack of securities (our side)", "counterparty instruction missing (unmatched)", "", ""],
                           "intended_settlement_date": [D0, D1 if unmatched_due else D1 + pd.Timedelta(days=3), D0, D1]})
    ages = pd.DataFrame({"age_bucket": ["2-3" if fail_age < 4 else "6-10"], "fails": [1]})
    penalties = pd.DataFrame({"penalty": [penalty], "reference_price_carried_forward": [False], "penalty_date": [D1]})
    monthly = pd.DataFrame({"month": ["2026-11"], "currency": ["EUR"], "penalty_days": [1], "paid": [paid], "received": [0.0]})
    ladder = pd.DataFrame({"account": "C1", "currency": "USD", "day": [0, 1], "date": [D1.date(), dt.date(2026, 11, 9)],
                           "opening_balance": [100.0, 100.0], "inflows": [0.0, 0.0], "outflows": [0.0, balance - 100.0],
                           "projected_balance": [100.0, balance], "worst_case_balance": [100.0, worst]})
    ladder["overdraft"] = ladder["projected_balance"].lt(0)
    ladder["overdraft_if_fails_settle"] = ladder["worst_case_balance"].lt(0)
    empty = pd.DataFrame()
    return SettlementResult(D1.date(), "USD", report, fails, empty, empty, empty, empty, ages, empty, penalties, monthly,
                            pd.DataFrame({"account": ["C1"]}), empty, ladder, pd.DataFrame({"file": ["x"] * violations}), empty)


def test_every_line_of_the_settlement_summary_fires_red():
    from bo_lib.settlement.control import summarise

    result = _settlement_result(fail_age=7, unmatched_due=True, penalty=None, paid=12.5, balance=-50.0, worst=-80.0, violations=2)
    table = summarise(result).set_index("check")
    assert {c: (r.rag, r["count"]) for c, r in table.iterrows()} == {
        "Settlement fails": (RED, 1), "Unmatched instructions": (RED, 1), "Custodian reporting": (RED, 1), "CSDR penalties this month": (RED, 1),
        "Projected overdrafts": (RED, 1), "Input data": (RED, 2)}
    assert table.at["Settlement fails", "detail"] == ("1 failing, USD 1,000.00 unsettled; by age (business days) 6-10: 1; oldest T1 LACK 7 days")
    assert table.at["Custodian reporting", "detail"] == "T3 not reported by the custodian"
    assert table.at["CSDR penalties this month", "detail"].startswith("1 penalty day(s) without a reference price; 2026-11: paid EUR 12.50")
    assert table.at["Projected overdrafts", "detail"].startswith("C1 (USD) below zero from 2026-11-09: USD -50.00")


def test_the_settlement_summary_is_amber_for_what_is_not_late_yet():
    from bo_lib.settlement.control import summarise

    result = _settlement_result(fail_age=2, unmatched_due=False, penalty=12.5, paid=12.5, balance=50.0, worst=-80.0)
    rags = summarise(result).set_index("check")["rag"].to_dict()
    assert rags == {"Settlement fails": AMBER, "Unmatched instructions": AMBER, "Custodian reporting": RED, "CSDR penalties this month": AMBER,
                    "Projected overdrafts": AMBER, "Input data": GREEN}


def test_a_ladder_that_does_not_add_up_is_a_ladder_break():
    from bo_lib.settlement.cash_ladder import cash_ladder, ladder_breaks

    balances = pd.DataFrame({"account": ["C1"], "currency": ["USD"], "closing_date": [D1], "closing_balance": [100.0]})
    flows = pd.DataFrame({"account": ["C1"], "currency": ["USD"], "value_date": [pd.Timestamp("2026-11-09")], "amount": [-150.0]})
    risk = pd.DataFrame({"account": ["C1"], "amount": [-20.0]})
    ladder = cash_ladder(balances, flows, risk, D1.date(), days=2)
    assert ladder["overdraft"].tolist() == [False, True, True] and ladder["projected_balance"].tolist() == [100.0, -50.0, -50.0]
    assert ladder["worst_case_balance"].tolist() == [80.0, -70.0, -70.0]
    assert ladder_breaks(ladder).empty
    broken = ladder.copy()
    broken.loc[1, "inflows"] = 10.0  # opening + inflows + outflows no longer the projected balance
    broken.loc[2, "opening_balance"] = -40.0  # and the next day opens off it
    assert ladder_breaks(broken)["day"].tolist() == [1, 2]


# =================================================================================================
# regulatory (bo_lib/regulatory/*)


def _crossing(**changes) -> dict:
    row = {"regime": "US 13D/13G", "issuer_name": "Acme Corp", "direction": "up", "threshold_pct": 5.0, "crossing_date": pd.Timestamp("2026-10-30"),
           "before_pct": 4.8, "after_pct": 5.3, "filing": "Schedule 13G", "due_date": pd.Timestamp("2027-02-16"), "rule": "13d-1(c)"}
    return row | changes


def test_a_crossing_is_amber_while_its_filing_is_pending_and_red_when_due_or_overdue():
    from bo_lib.regulatory.thresholds import crossings_status

    crossings = pd.DataFrame([_crossing(), _crossing(issuer_name="Due", due_date=D1), _crossing(issuer_name="Late", due_date=D0)])
    out = crossings_status(crossings, D1.date()).set_index("issuer_name")
    assert out["rag"].to_dict() == {"Acme Corp": AMBER, "Due": RED, "Late": RED}
    assert out.at["Due", "business_days_to_due"] == 0 and out.at["Late", "business_days_to_due"] < 0


def test_a_filing_due_today_is_red_one_due_soon_amber():
    from bo_lib.regulatory.calendar import due_soon

    table = pd.DataFrame({"filing": ["13F-HR", "N-PORT", "FORM PF"], "business_days_to_due": [0, 7, 30]})
    assert due_soon(table, 10)[["filing", "rag"]].values.tolist() == [["13F-HR", RED], ["N-PORT", AMBER]]


def test_every_line_of_the_regulatory_summary_fires():
    from bo_lib.regulatory.control import Form13FReport, ThresholdMonitor, summarise
    from bo_lib.regulatory.thresholds import crossings_status

    report = Form13FReport(dt.date(2026, 9, 30), pd.DataFrame(), pd.DataFrame(), {"table_entry_total": 3, "table_value_total": 1000},
                           pd.DataFrame({"row": [2], "cusip": ["92606AB8"], "name_of_issuer": ["Acme"], "rule": ["cusip: 9 characters"]}),
                           None, None, None)
    crossings = crossings_status(pd.DataFrame([_crossing(), _crossing(regime="EU SSR", issuer_name="Euro AG", direction="up", threshold_pct=0.5,
                                                                      filing="net short notification and publication", due_date=D1)]), D1.date())
    still_due = crossings_status(pd.DataFrame([_crossing(issuer_name="Old Co", crossing_date=pd.Timestamp("2026-09-15"), due_date=D1)]), D1.date())
    monitor = ThresholdMonitor(dt.date(2026, 9, 30), pd.DataFrame(), pd.DataFrame(), crossings, still_due)
    due = pd.DataFrame({"filing": ["13F-HR"], "period_end": [pd.Timestamp("2026-09-30")], "due_date": [pd.Timestamp("2026-11-16")],
                        "business_days_to_due": [5], "rag": [AMBER]})
    filing_test = pd.DataFrame({"meets_threshold": [False], "value_usd": [1.0], "valuation_date": [D0], "filings_required": [""]})
    table = summarise(report, filing_test, monitor, due, pd.DataFrame({"file": ["inbound/2026-11-06/prices.csv"]})).set_index("check")
    assert {c: (r.rag, r["count"]) for c, r in table.iterrows()} == {
        "Ownership thresholds (13D/13G)": (AMBER, 1), "Filings still due from the quarter before": (RED, 1), "EU net short positions": (RED, 1),
        "Filings due in the next 10 business days": (AMBER, 1), "13F information table (2026-09-30)": (RED, 1),
        "13F filing requirement ($100M test)": (GREEN, 0), "Input data": (RED, 1)}
    assert table.at["13F information table (2026-09-30)", "detail"] == "1 holding(s) break EDGAR's rules: 92606AB8 Acme: cusip: 9 characters"
    assert table.at["Ownership thresholds (13D/13G)", "detail"] == ("Acme Corp up through 5% on 2026-10-30 (4.80% -> 5.30%): "
                                                                      "Schedule 13G due 2027-02-16")


# =================================================================================================
# intake (bo_lib/intake/control.py)


def test_file_arrival_missing_and_empty_red_a_statement_not_due_amber():
    from bo_lib.data.layout import INBOUND_FILES
    from bo_lib.intake.control import expected_files, file_arrival

    veterans_day = dt.date(2026, 11, 11)  # the NYSE trades, the Federal Reserve is closed: no USD statement is due
    expected = expected_files([{"account": "0012345679", "currency": "USD", "statement_format": "mt940"}], veterans_day)
    paths = [f"inbound/{veterans_day}/{name}" for dataset, name in INBOUND_FILES.items() if dataset != "trades"]
    delivered = pd.DataFrame({"path": paths + [f"inbound/{veterans_day}/statements/0012345679.mt940"], "sha256": "x"})
    delivered["size_bytes"] = np.where(delivered["path"].str.endswith("/prices.csv"), 0, 100)
    out = file_arrival(expected, delivered).set_index("dataset")
    assert (out.at["trades", "status"], out.at["trades", "rag"]) == ("missing", RED)
    assert (out.at["prices", "status"], out.at["prices", "rag"]) == ("empty", RED)
    assert (out.at["statement:0012345679", "status"], out.at["statement:0012345679", "rag"]) == ("not due", AMBER)
    assert out.loc[out["status"].eq("received"), "rag"].eq(GREEN).all()


def test_row_counts_empty_stable_feed_red_shrunk_amber_flows_never():
    from bo_lib.intake.control import row_counts

    out = row_counts({"prices": 0, "custodian_positions": 40, "trades": 3}, {"prices": 50, "custodian_positions": 100, "trades": 30}).set_index("dataset")
    assert out["rag"].to_dict() == {"prices": RED, "custodian_positions": AMBER, "trades": GREEN}
    assert out.at["custodian_positions", "change_pct"] == -60.0 and out.at["trades", "note"] == "flow: varies day to day"


def test_price_freshness_missing_red_stale_and_single_source_amber():
    from bo_lib.intake.control import price_freshness

    held = pd.DataFrame({"security_id": ["EQ1", "EQ2", "EQ3", "EQ4"], "isin": "I", "name": "N", "asset_class": "equity", "currency": "USD",
                         "quantity": 10.0})
    rows = []
    for i, d in enumerate(pd.Timestamp(f"2026-11-0{k}") for k in (3, 4, 5, 6)):
        rows += [(d, "EQ2", "BLOOMBERG", 50.0), (d, "EQ2", "REFINITIV", 50.0 + i), (d, "EQ3", "BLOOMBERG", 20.0 + i), (d, "EQ4", "BLOOMBERG", 30.0 + i),
                 (d, "EQ4", "REFINITIV", 30.0 + i)]
        if d < D1:
            rows.append((d, "EQ1", "BLOOMBERG", 10.0 + i))
    history = pd.DataFrame(rows, columns=["price_date", "security_id", "source", "price"])
    out = price_freshness(history, held, D1.date(), {"equity": ["BLOOMBERG", "REFINITIV"]}, stale_days=3).set_index("security_id")
    assert out["status"].to_dict() == {"EQ1": "no price today", "EQ2": "unchanged for 3+ deliveries", "EQ3": "fewer sources than the hierarchy",
                                       "EQ4": "fresh"}
    assert out["rag"].to_dict() == {"EQ1": RED, "EQ2": AMBER, "EQ3": AMBER, "EQ4": GREEN}
    assert (out.at["EQ1", "age_days"], out.at["EQ2", "unchanged_deliveries"]) == (1, 3)


def test_fx_freshness_no_fixing_red_a_big_move_amber():
    from bo_lib.intake.control import fx_freshness

    fx = pd.DataFrame({"rate_date": [D0, D0, D0, D1, D1], "from_currency": ["EUR", "GBP", "JPY", "EUR", "JPY"], "to_currency": "USD",
                       "rate": [1.08, 1.29, 0.0067, 1.08 * 1.06, 0.0067]})
    out = fx_freshness(fx, ["USD", "EUR", "GBP", "JPY"], D1.date(), move_pct=5.0).set_index("currency")
    assert out["status"].to_dict() == {"EUR": "moved more than 5%", "GBP": "no fixing today", "JPY": "fresh", "USD": "base of the quotes"}
    assert out["rag"].to_dict() == {"EUR": AMBER, "GBP": RED, "JPY": GREEN, "USD": GREEN}
    assert out.at["EUR", "move_pct"] == pytest.approx(6.0)


def test_every_line_of_the_intake_summary_fires():
    from bo_lib.intake.control import summarise

    arrival = pd.DataFrame({"dataset": ["trades", "statement:C1", "statement:C2"], "status": ["missing", "received", "received"],
                            "rag": [RED, GREEN, GREEN]})
    counts = pd.DataFrame({"dataset": ["prices"], "rows": [0], "previous_rows": [50], "rag": [RED]})
    prices = pd.DataFrame({"status": ["no price today", "fresh"], "rag": [RED, GREEN]})
    fx = pd.DataFrame({"currency": ["EUR"], "status": ["moved more than 5%"], "rag": [AMBER]})
    statements = pd.DataFrame({"account": ["C1"], "balances": [False], "difference": [10.0], "rag": [RED]})  # C2 delivered, unreadable
    violations = pd.DataFrame({"file": ["inbound/2026-11-06/trades.csv", "inbound/2026-11-06/trades.csv"]})
    table = summarise(arrival, counts, prices, fx, statements, violations, (dt.date(2026, 11, 4),)).table.set_index("check")
    assert {c: (r.rag, r["count"]) for c, r in table.iterrows()} == {
        "Delivery days": (RED, 1), "Files delivered": (RED, 1), "Validation": (RED, 2), "Row counts vs previous delivery": (RED, 1),
        "Prices": (RED, 1), "FX": (AMBER, 1), "Bank statements": (RED, 2)}
    assert table.at["Bank statements", "detail"] == ("1 statement(s) delivered but unreadable: C2 (see Validation); 1 read, "
                                                     "C1 does not balance (+10.00)")
    assert table.at["Delivery days", "detail"].startswith("no deliveries at all for business day(s) 2026-11-04")


# =================================================================================================
# books (bo_lib/books/quality.py): what makes a NAV provisional (red in the NAV report: test_the_books_lines_of_the_nav_report_fire)


def test_a_business_day_without_deliveries_is_found_and_said():
    from bo_lib import calendars
    from bo_lib.books.quality import missing_delivery_days, provisional_reasons

    calendar = calendars.trading_calendar("XNYS")
    delivered = {dt.date(2026, 11, 2), dt.date(2026, 11, 3), dt.date(2026, 11, 5)}
    gap = missing_delivery_days(calendar, delivered, after=dt.date(2026, 10, 30), up_to=D1.date())
    assert gap == [dt.date(2026, 11, 4)]
    assert provisional_reasons(["inbound/2026-11-06/trades.csv line 3, price: not a finite number"], gap) == [
        "books incomplete: no deliveries for business day(s) 2026-11-04",
        "struck on input with a violation: inbound/2026-11-06/trades.csv line 3, price: not a finite number"]
