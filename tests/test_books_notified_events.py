"""Events the book of record books from the custodians' notifications (``bo_lib.books.notified``),
struck by ``strike_day`` from hand-made frames, every figure worked out below by hand.

Fund HANDN (EUR, one class of 1,000 units, no fees), at its custodian account SEC1, opened
13 Oct 2026 with 1,000 EQFR at an average cost of 40.00 (book cost 40,000.00), priced 50.00, and
EUR 10,000.00 cash: net assets 1,000 x 50 + 10,000 = 60,000.00, NAV per share 60.0000. The treaty
rate for France is 15%.

Two events notified by MT564, neither in the books' own event feed:

* **DVOP CA26DVOP0001** (a choice): ex 15 Oct, record 16 Oct, pay 20 Oct; option 001 CASH EUR
  1.00 per share (the default), option 002 SECU 1 new share per 50. The fund's MT565 elects 300
  shares to 002; the other 700 take the default. Cash: 700 x 1.00 = 700.00 gross, tax 15% = 105.00,
  net 595.00, receivable from the ex-date. Stock: 300 x 1 / 50 = 6 new shares at no cost,
  credited on the pay date.
* **TEND CA26TEND0001** (voluntary, no ex-date): pay 16 Oct; option 001 CASH at 55.00, 002 NOAC the
  default. The fund's MT565 tenders 400 shares: proceeds 400 x 55.00 = 22,000.00, the cost released
  400 x 40.00 = 16,000.00, realised 22,000.00 - 16,000.00 = 6,000.00; the shares leave on the pay date.

EQFR is priced 50.00 on 14 Oct and 49.00 from the ex-date. The NAV:

* 14 Oct: 1,000 x 50.00 + 10,000.00 = 60,000.00 (60.0000);
* 15 Oct: 1,000 x 49.00 + 10,000.00 + 595.00 receivable = 59,595.00 (59.5950);
* 16 Oct: 600 x 49.00 + (10,000.00 + 22,000.00 paid) + 595.00 = 29,400 + 32,000 + 595 = 61,995.00 (61.9950);
* 19 Oct: unchanged, 61,995.00;
* 20 Oct: 606 x 49.00 + 32,000.00 + 595.00 paid = 29,694 + 32,595 = 62,289.00 (62.2890).

A merger whose new shares the master does not know is held back with a note, never booked.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from bo_lib.books.nav import DayInputs, strike_day
from bo_lib.books.notified import NOTIFIED
from bo_lib.books.opening import opening_state
from bo_lib.data.contracts import CONTRACTS
from bo_lib.data.formats.ca_messages import CA_MESSAGE_COLUMNS
from bo_lib.parameters import FundParameters

D = dt.date
CENT = 0.005
ISIN = "FR0000000001"
SECURITIES = pd.DataFrame([{"security_id": "EQFR", "isin": ISIN, "asset_class": "equity", "currency": "EUR", "country": "FR",
                            "price_multiplier": 1.0, "coupon_rate": np.nan, "coupon_frequency": np.nan, "day_count": None,
                            "maturity_date": pd.NaT, "ex_coupon_days": np.nan, "mic": "XPAR"}])


def _frame(dataset: str, rows: list[tuple]) -> pd.DataFrame:
    columns = CONTRACTS[dataset].column_names
    return pd.DataFrame(rows, columns=columns) if rows else pd.DataFrame({c: pd.Series(dtype="object") for c in columns})


def _fund() -> FundParameters:
    return FundParameters.model_validate({
        "fund_code": "HANDN", "name": "hand-worked fund HANDN", "fund_type": "equity", "base_currency": "EUR", "management_company": "HAND",
        "administrator": "ADM", "calendar": "XPAR", "inception_date": "2026-09-01", "day_basis": 365, "nav_decimals": 4, "unit_decimals": 3,
        "withholding_tax_pct": {"FR": 15.0},
        "securities_accounts": [{"account": "SEC1", "custodian": "CUST"}],
        "cash_accounts": [{"account": "CASHEUR", "bank": "BANK", "currency": "EUR", "statement_format": "camt053"}],
        "share_classes": [{"code": "A", "name": "class A", "currency": "EUR", "management_fee_pct": 0.0}],
        "nav_thresholds": {"materiality_pct": 0.5, "day_move_pct": 1.5},
        "pricing": {"hierarchy": {"equity": ["SRC"]}},
    })


def _message(kind: str, corp: str, seme: str, delivered: str, option: dict, **terms) -> dict:
    """One message row as ingest stores it (one per option)."""
    row = {c: None for c in CA_MESSAGE_COLUMNS}
    row.update({"message_type": kind, "sender": "CUSTFRPPXXX", "receiver": "HANDFRPPXXX", "corporate_reference": corp, "sender_reference": seme,
                "previous_reference": "", "related_reference": "", "function": "NEWM", "processing_status": "COMP", "isin": ISIN, "cusip": "",
                "security_description": "EQFR", "account": "SEC1", "balance_type": "UNIT", "price_currency": "", "new_isin": "",
                "fraction_disposition": "", "narrative": "", "file": f"{seme}.mt{kind}", "source_line": 1,
                "delivery_date": pd.Timestamp(delivered), "is_default": False, "currency": "EUR", "eligible_balance": 1_000.0})
    row.update(terms)
    row.update(option)
    for column in ("ex_date", "record_date", "pay_date", "market_deadline", "announcement_date"):
        row[column] = pd.Timestamp(row[column]) if row[column] else pd.NaT
    return row


DVOP = dict(event_type="DVOP", mandatory_voluntary="CHOS", ex_date="2026-10-15", record_date="2026-10-16", pay_date="2026-10-20",
            market_deadline="2026-10-14", announcement_date="2026-10-01")
TEND = dict(event_type="TEND", mandatory_voluntary="VOLU", pay_date="2026-10-16", market_deadline="2026-10-14", announcement_date="2026-10-01")
MESSAGES = pd.DataFrame([
    _message("564", "CA26DVOP0001", "N1", "2026-10-13", {"option_number": "001", "option_type": "CASH", "is_default": True, "gross_rate": 1.0}, **DVOP),
    _message("564", "CA26DVOP0001", "N1", "2026-10-13", {"option_number": "002", "option_type": "SECU", "ratio_new": 1.0, "ratio_old": 50.0}, **DVOP),
    _message("564", "CA26TEND0001", "N2", "2026-10-13", {"option_number": "001", "option_type": "CASH", "price": 55.0}, **TEND),
    _message("564", "CA26TEND0001", "N2", "2026-10-13", {"option_number": "002", "option_type": "NOAC", "is_default": True}, **TEND),
    _message("565", "CA26DVOP0001", "I1", "2026-10-14", {"option_number": "002", "option_type": "SECU", "instructed_quantity": 300.0},
             event_type="DVOP", mandatory_voluntary=None),
    _message("565", "CA26TEND0001", "I2", "2026-10-14", {"option_number": "001", "option_type": "CASH", "instructed_quantity": 400.0},
             event_type="TEND", mandatory_voluntary=None),
])
PRICES = {"2026-10-14": 50.0, "2026-10-15": 49.0, "2026-10-16": 49.0, "2026-10-19": 49.0, "2026-10-20": 49.0}
LEDGER = {"2026-10-16": [("HANDN", "CASHEUR", "EUR", "2026-10-16", 22_000.00, "OTHER", "CA26TEND0001", "TENDER PROCEEDS 400 EQFR")],
          "2026-10-20": [("HANDN", "CASHEUR", "EUR", "2026-10-20", 595.00, "DIVIDEND", "CA26DVOP0001", "DIVIDEND EQFR 700")]}
NAV = {D(2026, 10, 14): 60_000.00, D(2026, 10, 15): 59_595.00, D(2026, 10, 16): 61_995.00, D(2026, 10, 19): 61_995.00, D(2026, 10, 20): 62_289.00}
NPS = {D(2026, 10, 14): 60.0, D(2026, 10, 15): 59.595, D(2026, 10, 16): 61.995, D(2026, 10, 19): 61.995, D(2026, 10, 20): 62.289}


def _strike(messages: pd.DataFrame, ledger: dict = LEDGER, trades: dict | None = None) -> dict:
    fund = _fund()
    opening = {
        "opening_positions": _frame("opening_positions", [("HANDN", "SEC1", "EQFR", ISIN, 1_000.0, 40.0, "EUR")]),
        "opening_cash": _frame("opening_cash", [("HANDN", "CASHEUR", "EUR", 10_000.00)]),
        "opening_share_classes": _frame("opening_share_classes", [("HANDN", "A", "EUR", 1_000.0, 60.0, 60_000.00, None, 0.0, "2026-10-13")]),
        "opening_prices": _frame("prices", [("2026-10-13", "EQFR", ISIN, "SRC", 50.0, "EUR", "CLOSE")]),
        "opening_fx_rates": _frame("fx_rates", [("2026-10-13", "EUR", "USD", 1.25, "ECB")]),
    }
    state = opening_state(fund, opening, D(2026, 10, 13), SECURITIES)
    days = list(PRICES)
    out = {}
    for i, day in enumerate(days):
        date = D.fromisoformat(day)
        following = D.fromisoformat(days[i + 1]) if i + 1 < len(days) else D(2026, 10, 21)
        inputs = DayInputs(business_date=date, trades=_frame("trades", (trades or {}).get(day, [])), corporate_actions=_frame("corporate_actions", []),
                           capital_activity=_frame("capital_activity", []), cash_ledger=_frame("cash_ledger", ledger.get(day, [])),
                           prices=_frame("prices", [(day, "EQFR", ISIN, "SRC", PRICES[day], "EUR", "CLOSE")]),
                           fx_rates=_frame("fx_rates", [(day, "EUR", "USD", 1.25, "ECB")]), admin_nav=_frame("admin_nav", []),
                           ca_messages=messages[messages["delivery_date"] <= pd.Timestamp(date)].reset_index(drop=True))
        state, result = strike_day(state, inputs, fund, SECURITIES, following)
        out[date] = (state, result)
    return out


@pytest.fixture(scope="module")
def books():
    return _strike(MESSAGES)


def _held(state, security_id: str = "EQFR", settled: bool = False) -> float:
    frame = state.settled_positions if settled else state.positions
    return float(frame.loc[frame["security_id"].eq(security_id), "quantity"].sum())


@pytest.mark.parametrize("day", list(NAV))
def test_net_assets_and_nav_per_share_follow_both_events(books, day):
    state, result = books[day]
    row = result.class_nav[result.class_nav["nav_date"].eq(pd.Timestamp(day))].iloc[0]
    assert row["net_assets"] == pytest.approx(NAV[day], abs=CENT)
    assert row["nav_per_share"] == pytest.approx(NPS[day], abs=1e-9)


def test_the_cash_dividend_of_the_default_option_is_receivable_from_the_ex_date(books):
    _, result = books[D(2026, 10, 15)]
    income = result.income[result.income["event_id"].eq("CA26DVOP0001")].iloc[0]
    assert (income["holding"], income["gross_amount"], income["withholding_tax"], income["net_amount"]) == (700.0, 700.00, 105.00, 595.00)
    sheet = result.balance_sheet
    assert float(sheet.loc[sheet["nav_date"].eq(pd.Timestamp("2026-10-15")) & sheet["line"].eq("income_receivable"), "amount_base"].iloc[0]) == \
        pytest.approx(595.00, abs=CENT)
    state, _ = books[D(2026, 10, 20)]
    assert state.open_income.empty  # paid on 20 Oct


def test_the_tender_removes_the_units_and_their_cost_and_realises_the_gain(books):
    before, _ = books[D(2026, 10, 15)]
    after, result = books[D(2026, 10, 16)]
    assert (_held(before), _held(after), _held(after, settled=True)) == (1_000.0, 600.0, 600.0)
    cost = after.cost_basis.set_index("security_id").loc["EQFR"]
    assert (cost["quantity"], cost["book_cost"], cost["realised_pnl"]) == pytest.approx((600.0, 24_000.00, 6_000.00))
    assert result.ledger_suspense.empty  # the proceeds are attributed to the event


def test_the_elected_stock_is_credited_on_the_pay_date_at_no_cost(books):
    assert _held(books[D(2026, 10, 19)][0]) == 600.0
    state, result = books[D(2026, 10, 20)]
    assert (_held(state), _held(state, settled=True)) == (606.0, 606.0)
    cost = state.cost_basis.set_index("security_id").loc["EQFR"]
    assert (cost["quantity"], cost["book_cost"]) == pytest.approx((606.0, 24_000.00))
    assert state.event_bookings.empty and result.ledger_suspense.empty


def test_each_event_is_booked_once_from_the_notifications(books):
    booked = {d: set(r.booked_events.loc[r.booked_events["basis"].eq(NOTIFIED), "event_id"]) for d, (_, r) in books.items()}
    assert booked == {D(2026, 10, 14): set(), D(2026, 10, 15): {"CA26DVOP0001"}, D(2026, 10, 16): {"CA26TEND0001"},
                      D(2026, 10, 19): set(), D(2026, 10, 20): set()}
    pending = books[D(2026, 10, 15)][0].event_bookings  # the stock credit waits for the pay date, on both bases
    assert sorted(zip(pending["basis"], pending["booked_on"].dt.strftime("%Y-%m-%d"), pending["quantity"])) == [
        ("settlement", "2026-10-20", 6.0), ("trade", "2026-10-20", 6.0)]


def test_without_elections_the_defaults_apply():
    books = _strike(MESSAGES[MESSAGES["message_type"].eq("564")])
    state, result = books[D(2026, 10, 20)]
    # all 1,000 take cash: 1,000.00 gross, 150.00 tax, 850.00 net; no tender (NOAC); no new shares
    income = books[D(2026, 10, 15)][1].income
    assert income.loc[income["event_id"].eq("CA26DVOP0001"), "net_amount"].tolist() == [850.00]
    assert _held(state) == 1_000.0


def test_a_merger_into_a_security_the_master_does_not_know_is_held_back():
    merger = dict(event_type="MRGR", mandatory_voluntary="MAND", ex_date="2026-10-15", record_date="2026-10-16", pay_date="2026-10-20",
                  announcement_date="2026-10-01")
    messages = pd.DataFrame([_message("564", "CA26MRGR0001", "N3", "2026-10-13", {"option_number": "001", "option_type": "SECU", "is_default": True,
                                                                                  "ratio_new": 1.0, "ratio_old": 2.0, "new_isin": "FR0000000002"},
                                      **merger)])
    books = _strike(messages)
    state, result = books[D(2026, 10, 15)]
    assert _held(state) == 1_000.0 and state.applied_events.empty


def test_a_preliminary_notification_is_not_booked_until_completed():
    """The DVOP notified PREU on 13 Oct and completed (REPL, COMP) on 16 Oct, after its ex-date:
    the books book it on 16 Oct (noted late), on the holding at the close of 15 Oct (1,000: the
    tender leaves on 16 Oct), so the same 595.00 net dividend."""
    preliminary = MESSAGES.copy()
    dvop = preliminary["corporate_reference"].eq("CA26DVOP0001") & preliminary["message_type"].eq("564")
    preliminary.loc[dvop, "processing_status"] = "PREU"
    complete = MESSAGES[dvop].assign(sender_reference="N9", function="REPL", previous_reference="N1", delivery_date=pd.Timestamp("2026-10-16"),
                                     file="N9.mt564")
    books = _strike(pd.concat([preliminary, complete], ignore_index=True))
    assert books[D(2026, 10, 15)][0].open_income.empty
    _, result = books[D(2026, 10, 16)]
    assert sorted(result.booked_events.loc[result.booked_events["basis"].eq(NOTIFIED), "event_id"]) == ["CA26DVOP0001", "CA26TEND0001"]
    income = result.income[result.income["event_id"].eq("CA26DVOP0001")]
    assert income["net_amount"].tolist() == [595.00]
    assert any("CA26DVOP0001" in note and "first delivered to the books after its ex-date" in note for note in result.notes)


def _nav(books, day) -> float:
    _, result = books[day]
    return float(result.class_nav.loc[result.class_nav["nav_date"].eq(pd.Timestamp(day)), "net_assets"].iloc[0])


def _merger(corp: str, **dates) -> pd.DataFrame:
    terms = dict(event_type="MRGR", mandatory_voluntary="MAND", announcement_date="2026-10-01", **dates)
    return pd.DataFrame([_message("564", corp, "N5", "2026-10-13", {"option_number": "001", "option_type": "CASH", "is_default": True,
                                                                    "gross_rate": 60.0}, **terms)])


def test_a_cash_merger_without_an_ex_date_leaves_the_books_on_its_pay_date():
    """1,000 EQFR taken over for EUR 60.00 cash each, paid 16 Oct (no ex-date notified): on 16 Oct
    the shares leave both bases, 1,000 x 60.00 = 60,000.00 is received, the cost 40,000.00 released,
    20,000.00 realised; NAV 10,000.00 + 60,000.00 = 70,000.00."""
    ledger = {"2026-10-16": [("HANDN", "CASHEUR", "EUR", "2026-10-16", 60_000.00, "OTHER", "CA26MRGR0001", "MERGER CASH 1,000 EQFR")]}
    books = _strike(_merger("CA26MRGR0001", pay_date="2026-10-16"), ledger)
    assert _nav(books, D(2026, 10, 15)) == pytest.approx(59_000.00, abs=CENT)  # 1,000 x 49.00 + 10,000.00
    state, result = books[D(2026, 10, 16)]
    assert (_held(state), _held(state, settled=True)) == (0.0, 0.0)
    assert _nav(books, D(2026, 10, 16)) == pytest.approx(70_000.00, abs=CENT)
    cost = state.cost_basis.set_index("security_id").loc["EQFR"]
    assert (cost["quantity"], cost["book_cost"], cost["realised_pnl"]) == pytest.approx((0.0, 0.0, 20_000.00))
    assert result.ledger_suspense.empty and state.event_bookings.empty


def test_a_sale_pending_across_the_record_date_gives_up_its_merger_cash_and_its_cost():
    """Sold 100 EQFR at 50.00 on 14 Oct, settling 19 Oct, across a cash merger at 60.00 (ex 15 Oct,
    record 16 Oct, paid 19 Oct). The custodian pays the holder of record, 1,000 x 60.00 = 60,000.00;
    the fund owes the buyer the claim on 100, 6,000.00. Trade-date holding after the sale 900 at a
    cost of 36,000.00: the holding gives up 1,000 units and 40,000.00 of cost, the claim takes back
    100 and 4,000.00, so nothing is left. Realised: the sale 100 x (50 - 40) = 1,000.00, the merger
    54,000.00 - 36,000.00 = 18,000.00, 19,000.00 in all. NAV: 14 Oct 900 x 50 + 5,000 receivable +
    10,000 = 60,000.00; 15 Oct 54,000 + 5,000 + 10,000 = 69,000.00; 19 Oct paid: 69,000.00."""
    sale = ("T261014HANDN01", "HANDN", "SEC1", "EQFR", ISIN, "SELL", 100.0, 50.0, "EUR", 5_000.00, 0.0, 0.0, 0.0, 5_000.00,
            "2026-10-14", "2026-10-19", "BRK")
    ledger = {"2026-10-19": [("HANDN", "CASHEUR", "EUR", "2026-10-19", 60_000.00, "OTHER", "CA26MRGR0002", "MERGER CASH 1,000 EQFR"),
                             ("HANDN", "CASHEUR", "EUR", "2026-10-19", -6_000.00, "OTHER", "CA26MRGR0002", "MARKET CLAIM 100 EQFR"),
                             ("HANDN", "CASHEUR", "EUR", "2026-10-19", 5_000.00, "TRADE_SETTLEMENT", sale[0], "SALE 100 EQFR")]}
    books = _strike(_merger("CA26MRGR0002", ex_date="2026-10-15", record_date="2026-10-16", pay_date="2026-10-19"), ledger,
                    {"2026-10-14": [sale]})
    assert [_nav(books, d) for d in (D(2026, 10, 14), D(2026, 10, 15), D(2026, 10, 19))] == pytest.approx([60_000.00, 69_000.00, 69_000.00], abs=CENT)
    state, result = books[D(2026, 10, 19)]
    cost = state.cost_basis.set_index("security_id").loc["EQFR"]
    assert (cost["quantity"], cost["book_cost"], cost["realised_pnl"]) == pytest.approx((0.0, 0.0, 19_000.00))
    assert (_held(books[D(2026, 10, 15)][0]), _held(state, settled=True)) == (0.0, 0.0)
    assert result.ledger_suspense.empty
