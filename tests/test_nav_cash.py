"""Two accounting rules of the NAV report: the cash in the NAV against the bank (each reconciling
item classified with its NAV effect, book cash - items = bank balance per account), and a NAV struck
at a price its own control flagged (red, not approvable, the period close refuses it until a manual
price override resolves it). Hand-worked cases first (every expected figure written out), then the
sample world's seeded stories on its final date."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from bo_lib.books.periods import PeriodError, close_books, locked_through
from bo_lib.books.roll import roll_books
from bo_lib.data.ingest import ingest
from bo_lib.nav.cash import (
    FAILED_TRADE,
    UNBOOKED_CHARGE,
    UNEXPLAINED,
    WHT_EXCESS,
    cash_in_nav,
    summary_line,
)
from bo_lib.nav.daily import nav_report
from bo_lib.nav.inputs import gather_nav
from bo_lib.nav.pricing import flagged_line, flagged_prices, price_exceptions
from tests.conftest import PARAMETERS
from tests.commands import bo

FINAL = dt.date(2026, 11, 6)
DAY = dt.date(2026, 11, 20)
TS = pd.Timestamp(DAY)
FUNDS = ("USEQ", "GLBD", "MAHF")


# --- hand-made worlds -------------------------------------------------------------------------

def _classes() -> pd.DataFrame:
    """Class A: 600,000.00 before dealing over 6,000 units; class B: 400,000.00 over 2,000 units.
    One unit of base is 0.6 / 6,000 = 0.0001 per share of A and 0.4 / 2,000 = 0.0002 per share of B."""
    return pd.DataFrame({"nav_date": [TS, TS], "share_class": ["A", "B"], "units_outstanding": [6000.0, 2000.0],
                         "net_assets_before_dealing": [600000.0, 400000.0]})


def _ledger(*rows) -> pd.DataFrame:
    return pd.DataFrame([{"account": a, "currency": c, "value_date": pd.Timestamp(d), "amount": x, "movement_type": m, "reference": r,
                          "description": t, "delivery_date": pd.Timestamp(d)} for a, c, d, x, m, r, t in rows],
                        columns=["account", "currency", "value_date", "amount", "movement_type", "reference", "description", "delivery_date"])


def _entries(*rows) -> pd.DataFrame:
    return pd.DataFrame([{"account": a, "currency": c, "statement_id": f"{a}-{d}", "value_date": pd.Timestamp(d), "amount": x,
                          "transaction_code": code, "customer_reference": cref, "bank_reference": bref, "description": t,
                          "delivery_date": pd.Timestamp(d)} for a, c, d, x, code, cref, bref, t in rows],
                        columns=["account", "currency", "statement_id", "value_date", "amount", "transaction_code", "customer_reference",
                                 "bank_reference", "description", "delivery_date"])


def _statements(*rows) -> pd.DataFrame:
    return pd.DataFrame([{"account": a, "currency": c, "statement_id": f"{a}-{d}", "closing_date": pd.Timestamp(d), "closing_balance": x,
                          "balances": True, "delivery_date": pd.Timestamp(d)} for a, c, d, x in rows])


STATUS = pd.DataFrame({"client_reference": ["T1", "T2"], "settlement_status": ["PENF", "SETT"], "reason_code": ["LACK", ""],
                       "intended_settlement_date": [pd.Timestamp("2026-11-18")] * 2})
EVENTS = pd.DataFrame({"event_id": ["CA1"], "event_type": ["DVCA"], "security_id": ["EQDE"]})
SECURITIES = pd.DataFrame({"security_id": ["EQDE"], "country": ["DE"]})
FX = pd.DataFrame({"currency": ["USD", "EUR"], "rate_to_base": [1.0, 1.10]})
NO_INCOME = pd.DataFrame({"event_id": pd.Series(dtype="str")})


def _cash(book_cash, statements, entries, ledger, open_income=NO_INCOME):
    return cash_in_nav(pd.DataFrame(book_cash, columns=["account", "currency", "balance"]), statements, entries, ledger, STATUS, EVENTS,
                       SECURITIES, {"DE": 15.0}, open_income, FX, _classes(), business_date=DAY, base_currency="USD")


def _world():
    """USD account 111 (base): the books have 1,000,000.00. Since the window began they booked
    T1 +50,000.00 (a sale failing at the custodian), CA1 +8,500.00 (a German dividend of 10,000.00
    gross at the 15% treaty rate), T2 -20,000.00 (settled) and S1 +30,000.00 (a subscription). The
    bank moved T2 and S1 alike, paid CA1 net of 26.375%: 10,000.00 x 73.625% = 7,362.50, and
    charged 45.00 (NCHG, no reference of ours). Bank balance: 1,000,000.00 - 50,000.00 - 1,137.50
    - 45.00 = 948,817.50.

    EUR account 222 (rate 1.10): the books have 200,000.00 and booked X1 -1,000.00, which the bank
    does not have; the bank's balance is 200,995.00. Traced: X1 -1,000.00; untraced: 200,000.00 -
    200,995.00 + 1,000.00 = +5.00."""
    ledger = _ledger(("111", "USD", "2026-11-18", 50000.0, "TRADE_SETTLEMENT", "T1", "SALE 1,000 EQUS"),
                     ("111", "USD", "2026-11-19", 8500.0, "DIVIDEND", "CA1", "DIVIDEND EQDE"),
                     ("111", "USD", "2026-11-19", -20000.0, "TRADE_SETTLEMENT", "T2", "PURCHASE 100 EQUS"),
                     ("111", "USD", "2026-11-20", 30000.0, "SUBSCRIPTION", "S1", "SUBSCRIPTION A"),
                     ("222", "EUR", "2026-11-20", -1000.0, "TRADE_SETTLEMENT", "X1", "PURCHASE 10 EQFR"))
    entries = _entries(("111", "USD", "2026-11-19", 7362.50, "NDIV", "CA1", "", "DIVIDEND EQDE WHT 26.375%"),
                       ("111", "USD", "2026-11-19", -20000.0, "NSEC", "T2", "", "PURCHASE 100 EQUS"),
                       ("111", "USD", "2026-11-20", 30000.0, "NTRF", "S1", "", "SUBSCRIPTION A"),
                       ("111", "USD", "2026-11-20", -45.0, "NCHG", "NONREF", "B999", "ACCOUNT MAINTENANCE FEE"))
    statements = _statements(("111", "USD", "2026-11-19", 950000.0), ("111", "USD", "2026-11-20", 948817.50),
                             ("222", "EUR", "2026-11-20", 200995.0))
    return [("111", "USD", 1000000.0), ("222", "EUR", 200000.0)], statements, entries, ledger


def test_cash_items_classified_with_their_nav_effect_by_hand():
    cash = _cash(*_world())
    accounts = cash.accounts.set_index("account")
    usd, eur = accounts.loc["111"], accounts.loc["222"]
    # the latest statement of each account, with its date
    assert usd["bank_balance"] == 948817.50 and usd["statement_date"] == pd.Timestamp("2026-11-20")
    assert usd["difference"] == 51182.50 and usd["reconciling_items"] == 51182.50 and usd["book_cash_less_items"] == 948817.50
    assert usd["untraced"] == 0.0 and bool(usd["ties"]) and usd["rag"] == "amber"
    assert eur["difference"] == -995.0 and eur["reconciling_items"] == -1000.0 and eur["untraced"] == 5.0
    assert not bool(eur["ties"]) and eur["rag"] == "red"
    items = cash.items.set_index(["account", "reference"])
    assert sorted(items.index) == [("111", "B999"), ("111", "CA1"), ("111", "T1"), ("222", ""), ("222", "X1")]  # T2 and S1 agree
    charge = items.loc[("111", "B999")]
    assert charge["classification"] == UNBOOKED_CHARGE and charge["amount"] == 45.0 and charge["nav_effect_base"] == -45.0
    assert charge["per_share_A"] == pytest.approx(-0.0045) and charge["per_share_B"] == pytest.approx(-0.009) and charge["rag"] == "amber"
    fail = items.loc[("111", "T1")]
    assert fail["classification"] == FAILED_TRADE and fail["amount"] == 50000.0 and fail["nav_effect_base"] == 0.0 and fail["rag"] == "green"
    assert "PENF" in fail["detail"] and "2026-11-18" in fail["detail"]
    wht = items.loc[("111", "CA1")]
    # 1,137.50 withheld above the treaty rate: reclaimable, so no NAV effect, but the books hold it as cash: amber until
    # it is booked as a reclaim receivable
    assert wht["classification"] == WHT_EXCESS and wht["amount"] == 1137.50 and wht["nav_effect_base"] == 0.0 and wht["rag"] == "amber"
    assert wht["per_share_A"] == 0.0 and wht["per_share_B"] == 0.0
    assert "26.375% withholding" in wht["detail"] and "15% treaty rate" in wht["detail"] and "reclaim receivable" in wht["detail"]
    other = items.loc[("222", "X1")]
    assert other["classification"] == UNEXPLAINED and other["amount"] == -1000.0 and other["nav_effect"] == 1000.0
    assert other["nav_effect_base"] == 1100.0 and other["rag"] == "red"  # EUR at 1.10
    untraced = items.loc[("222", "")]
    assert untraced["classification"] == UNEXPLAINED and untraced["amount"] == 5.0 and untraced["nav_effect_base"] == -5.50
    # the items add up to each account's difference
    assert cash.items.groupby("account")["amount"].sum().round(2).to_dict() == {"111": 51182.50, "222": -995.0}
    assert cash.nav_effect_base == pytest.approx(-45.0 + 1100.0 - 5.50)
    line = summary_line(cash, "USD")
    assert line["rag"] == "red" and line["count"] == 5 and "does not tie" in line["detail"]


def test_withholding_held_as_a_receivable_has_no_nav_effect():
    book_cash, statements, entries, ledger = _world()
    cash = _cash(book_cash, statements, entries, ledger, open_income=pd.DataFrame({"event_id": ["CA1"]}))
    wht = cash.items.set_index("reference").loc["CA1"]
    assert wht["classification"] == WHT_EXCESS and wht["nav_effect_base"] == 0.0 and wht["rag"] == "green"
    assert "hold it as a receivable" in wht["detail"]


def test_cash_control_green_amber_red():
    book_cash, _, entries, ledger = _world()
    usd = [book_cash[0]]
    agreed = _cash(usd, _statements(("111", "USD", "2026-11-20", 1000000.0)), entries.iloc[0:0], ledger.iloc[0:0])
    assert agreed.items.empty and bool(agreed.accounts["ties"].iloc[0])
    assert summary_line(agreed, "USD")["rag"] == "green"
    # a failing trade alone is a timing item: listed, no NAV effect, the line stays green
    only_fail = _cash(usd, _statements(("111", "USD", "2026-11-20", 950000.0)), entries.iloc[0:0], ledger[ledger["reference"].eq("T1")])
    assert only_fail.items["classification"].tolist() == [FAILED_TRADE]
    assert summary_line(only_fail, "USD")["rag"] == "green"
    # the unbooked charge: amber, NAV effect -45.00
    charge = _cash(usd, _statements(("111", "USD", "2026-11-20", 999955.0)), entries[entries["bank_reference"].eq("B999")], ledger.iloc[0:0])
    line = summary_line(charge, "USD")
    assert line["rag"] == "amber" and "1 unbooked bank charge" in line["detail"] and "NAV effect -45.00 USD" in line["detail"]
    # the whole world: red for the unexplained items of the EUR account
    assert summary_line(_cash(*_world()), "USD")["rag"] == "red"


def _exceptions(**override):
    """Hand-made holdings on 2026-11-20 of a USD fund:
    - EQ1, equity in EUR (FX 1.10): 1,000 shares at 112.00 after 100.00, the secondary source at 100.00 (flat):
      a jump; market value 112.00 x 1,000 x 1 x 1.10 = 123,200.00 USD; the fallback's effect
      (100.00 - 112.00) x 1,000 x 1 x 1.10 = -13,200.00 USD, per share -13,200 x 0.0001 = -1.32 (A), x 0.0002 = -2.64 (B);
    - BD1, bond per 100 (multiplier 0.01) in USD: 2,000,000 nominal at 101.50 after 100.20, the secondary at 100.25 (after 100.20):
      +1.30% beyond 1%, a jump; (100.25 - 101.50) x 2,000,000 x 0.01 = -25,000.00 USD, per share -2.50 (A), -5.00 (B);
    - EQ2: carried forward (no source today), no fallback: effect unknown."""
    rows = [("EQ1", 112.0, 100.0, 1000.0, 123200.0, False), ("BD1", 101.5, 100.25, 2_000_000.0, 2_030_000.0, False),
            ("EQ2", 50.0, float("nan"), 100.0, 5000.0, True)]
    valued = pd.DataFrame([{"price_date": TS, "security_id": s, "price": p, "secondary_price": sp, "quantity": q, "market_value_base": mv,
                            "carried_forward": cf, "price_as_of": TS - pd.Timedelta(days=1 if cf else 0), "is_override": override.get(s, False),
                            "source": "MANUAL" if override.get(s) else "BLOOMBERG"} for s, p, sp, q, mv, cf in rows])
    before = TS - pd.Timedelta(days=1)
    chosen = pd.DataFrame([{"price_date": before, "security_id": "EQ1", "price": 100.0, "secondary_price": 100.0},
                           {"price_date": before, "security_id": "BD1", "price": 100.20, "secondary_price": 100.20},
                           {"price_date": before, "security_id": "EQ2", "price": 50.0, "secondary_price": 50.0},
                           {"price_date": TS, "security_id": "EQ1", "price": 112.0, "secondary_price": 100.0},
                           {"price_date": TS, "security_id": "BD1", "price": 101.5, "secondary_price": 100.25}])
    securities = pd.DataFrame({"security_id": ["EQ1", "BD1", "EQ2"], "asset_class": ["equity", "corporate_bond", "equity"],
                               "isin": ["DE0000000001", "US0000000002", "US0000000003"], "name": ["Example AG", "Example 4% 2030", "Other Inc"]})
    return price_exceptions(valued, chosen, securities, DAY, 5, {"equity": 5.0, "corporate_bond": 1.0})


def test_fallback_source_effect_of_each_flagged_holding_by_hand():
    flagged = flagged_prices(_exceptions(), _classes(), DAY, "USD").set_index("security_id")
    assert sorted(flagged.index) == ["BD1", "EQ1", "EQ2"] and (flagged["rag"] == "red").all()
    eq = flagged.loc["EQ1"]
    assert eq["exception"] == "price_jump" and eq["fallback_price"] == 100.0 and eq["fallback_effect_base"] == -13200.0
    assert eq["per_share_A"] == pytest.approx(-1.32) and eq["per_share_B"] == pytest.approx(-2.64)
    bond = flagged.loc["BD1"]
    assert bond["exception"] == "price_jump" and bond["fallback_effect_base"] == -25000.0
    assert bond["per_share_A"] == pytest.approx(-2.5) and bond["per_share_B"] == pytest.approx(-5.0)
    carried = flagged.loc["EQ2"]
    assert carried["exception"] == "price_missing" and pd.isna(carried["fallback_effect_base"]) and "unknown" in carried["detail"]
    assert eq["reason"].startswith("EQ1 (Example AG) jump: BLOOMBERG moved +12.00%")
    line = flagged_line(flagged.reset_index(), DAY)
    assert line["rag"] == "red" and line["count"] == 3 and "not approvable" in line["detail"] and "EQ2 (Other Inc) missing" in line["detail"]


def test_a_manual_override_resolves_a_flagged_price():
    exceptions = _exceptions(EQ1=True, BD1=True, EQ2=True)  # each valued at an approved manual price
    assert set(exceptions["exception"]) >= {"price_override"}
    flagged = flagged_prices(exceptions, _classes(), DAY, "USD")
    assert flagged.empty and flagged_line(flagged, DAY)["rag"] == "green"


def test_close_refuses_a_nav_struck_at_a_flagged_price(store_copy):
    with pytest.raises(PeriodError, match=r"struck at 1 price\(s\) its own control flagged and cannot be closed: EQ1 \(Example AG\) jump"):
        close_books(store_copy, "GLBD", FINAL, "m.ellison", price_flags=["EQ1 (Example AG) jump: BLOOMBERG moved +12.00%"])
    assert locked_through(store_copy, "GLBD") is None


# --- the sample world ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def reports(funds, sample_store):
    return {code: nav_report(gather_nav(sample_store, funds[code], FINAL)) for code in FUNDS}


def _expected_cash_items(ground_truth) -> set[tuple]:
    """(fund, reference, amount = books - bank, classification) of each cash story open on the final date."""
    out = set()
    for x in ground_truth["exceptions"]:
        if x["area"] != "cash" or not (x["first_date"] <= FINAL.isoformat() <= x["last_date"]) or x.get("expected_exception") is False:
            continue
        if x["type"] == "cash_missing_at_bank" and x["cause"] == "settlement_fail":
            out.add((x["fund"], x["trade_id"], x["amount"], FAILED_TRADE))
        elif x["type"] == "cash_missing_in_books" and x["transaction_code"] == "NCHG":
            out.add((x["fund"], x["bank_reference"], -x["amount"], UNBOOKED_CHARGE))
        elif x["type"] == "cash_amount_difference":
            out.add((x["fund"], x["customer_reference"], None, WHT_EXCESS))  # the excess withholding: its amount below
        else:
            raise AssertionError(f"a cash story the test does not know: {x}")
    return out


def test_the_seeded_cash_stories_are_the_reconciling_items_and_nothing_else(reports, ground_truth):
    found = set()
    for code, report in reports.items():
        for r in report.cash_items.itertuples():
            found.add((code, r.reference, None if r.classification == WHT_EXCESS else round(r.amount, 2), r.classification))
        # every account ties: book cash - reconciling items = the latest statement's closing balance, of the day
        accounts = report.cash_accounts
        assert accounts["ties"].all() and (accounts["untraced"] == 0).all(), code
        assert (accounts["statement_date"] == pd.Timestamp(FINAL)).all(), code
        assert (accounts["book_cash_less_items"] - accounts["bank_balance"]).abs().max() < 0.005
    assert found == _expected_cash_items(ground_truth)
    items = {(code, r.reference): r for code, report in reports.items() for r in report.cash_items.itertuples()}
    # the German dividend: paid net of 26.375%, the books at the 15% treaty rate; the excess is 11.375 / 85 of the books' amount
    wht = items[("MAHF", "CA2026100003")]
    assert wht.amount == pytest.approx(wht.books_amount * 11.375 / 85, abs=0.02) and "26.375% withholding" in wht.detail
    assert wht.nav_effect == 0.0 and wht.rag == "amber"  # held as cash: a reclaim receivable to book, no NAV effect
    charge = items[("USEQ", "B2611060269999")]
    assert charge.amount == 45.0 and charge.nav_effect_base == -45.0
    assert all(r.nav_effect_base == 0 for r in items.values() if r.classification == FAILED_TRADE)


def test_sample_summary_lines_for_cash_and_flagged_prices(reports):
    lines = {code: report.summary.set_index("check") for code, report in reports.items()}
    assert [lines[c].at["cash in the NAV", "rag"] for c in FUNDS] == ["amber", "green", "amber"]
    assert "1 unbooked bank charge (45.00 USD; NAV effect -45.00 USD); 2 failed-trade cash" in lines["USEQ"].at["cash in the NAV", "detail"]
    assert "1 withholding tax above treaty" in lines["MAHF"].at["cash in the NAV", "detail"]
    assert [lines[c].at["NAV at a flagged price", "rag"] for c in FUNDS] == ["red", "green", "green"]
    useq = reports["USEQ"]
    assert not useq.approvable and reports["GLBD"].approvable
    flagged = useq.flagged_prices.set_index("security_id")
    assert flagged["exception"].to_dict() == {"EQ00014": "price_jump", "EQ00012": "price_missing", "EQ00008": "price_stale"}
    detail = lines["USEQ"].at["NAV at a flagged price", "detail"]
    assert "EQ00014 (Brightwater Health Inc) jump" in detail and "EQ00012 (Pioneer Valley Foods Inc) missing" in detail
    # the jump's fallback effect is the exception's impact, and per share what the shadow comparison explains by it
    jump = useq.price_exceptions.set_index("exception").loc["price_jump"]
    assert flagged.at["EQ00014", "fallback_effect_base"] == pytest.approx(-jump["impact_base"], abs=0.01)
    shadow = useq.shadow_vs_administrator
    explained = shadow[shadow["nav_date"].eq(pd.Timestamp(FINAL))].set_index("share_class")["explained_per_share"]
    for share_class, value in explained.items():
        assert flagged.at["EQ00014", f"per_share_{share_class}"] == pytest.approx(value, abs=1e-6)
    assert flagged.at["EQ00008", "fallback_effect_base"] == 0.0  # both vendors repeat the same close
    figures = useq.key_figures()
    assert figures["flagged_prices"] == 3 and figures["cash_items"] == 3 and figures["cash_nav_effect_base"] == -45.0




def test_bo_close_refuses_the_flagged_nav_until_overrides_resolve_it(store_copy, data_copy, funds):
    args = ("--fund", "USEQ", "--date", FINAL.isoformat(), "--by", "m.ellison", "--data", str(data_copy), "--parameters", str(PARAMETERS),
            "--store", str(store_copy))
    code, _, err = bo("close", *args)
    assert code == 2 and "struck at 3 price(s) its own control flagged and cannot be closed" in err and "EQ00014 (Brightwater Health Inc) jump" in err
    # the pricing team approves a price for each: the day's input changed, so the close waits for the books to strike it again
    (data_copy / "overrides").mkdir()
    (data_copy / "overrides" / "prices.csv").write_text(
        "price_date,security_id,price,reason,approved_by\n"
        "2026-11-06,EQ00014,194.0843,primary vendor error: the secondary source's close,j.doe\n"
        "2026-11-06,EQ00012,272.0211,no close delivered: the previous close confirmed with the exchange,j.doe\n"
        "2026-11-06,EQ00008,187.5302,unchanged close confirmed with the exchange,j.doe\n")
    ingest(data_copy, store_copy, funds, dates=[FINAL])
    code, _, err = bo("close", *args)
    assert code == 2 and "changed since the books were struck" in err
    assert roll_books(store_copy, funds["USEQ"], FINAL).struck == [FINAL]
    report = nav_report(gather_nav(store_copy, funds["USEQ"], FINAL))
    assert report.approvable and report.summary.set_index("check").at["NAV at a flagged price", "rag"] == "green"
    assert set(report.price_exceptions.loc[report.price_exceptions["exception"].eq("price_override"), "security_id"]) == {
        "EQ00014", "EQ00012", "EQ00008"}
    code, out, err = bo("close", *args)
    assert code == 0 and "closed USEQ through 2026-11-06" in out, err
