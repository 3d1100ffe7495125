"""The three recons on the sample world, every date (reconciled day by day from the books' closing
states and what each day's cash recon left open): each seeded position, cash and trade break is
found on every date it lives with the right classification, and nothing else is reported. A trade
break lives until a matching confirmation arrives: the settlement-date difference of 11-05 (SX029)
is still open on 11-06, since no corrected confirmation came."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from bo_lib.recon.control import run_recons
from bo_lib.recon.inputs import gather_recon_day
from tests.conftest import DATA

FINAL = dt.date(2026, 11, 6)
FUNDS = ("USEQ", "GLBD", "MAHF")
TRADE_TYPES = {"trade_settlement_date_difference": "settlement date difference", "trade_price_difference": "price/amount difference",
               "trade_quantity_difference": "quantity difference", "trade_net_amount_difference": "price/amount difference",
               "trade_unconfirmed": "unconfirmed", "confirm_without_trade": "missing in books"}
POSITION_TYPES = {"position_quantity_difference": "quantity difference", "corporate_action_not_booked": "event applied by the custodian, not booked",
                  "position_missing_at_custodian": "missing at custodian", "position_missing_in_books": "missing in books"}


@pytest.fixture(scope="module")
def daily(sample_days):
    """Every fund's recons on every delivered date: {(fund, date): DailyRecon}."""
    for (fund, day), (inputs, _) in sample_days.recon.items():
        assert inputs.violations == [], (fund, day)
    return {key: recons for key, (_, recons) in sample_days.recon.items()}


def _expected(ground_truth, daily) -> set[tuple]:
    """(fund, date, recon, item, classification) for every seeded break on every date it lives."""
    dates = sorted({d for _, d in daily})
    securities = pd.read_csv(DATA / "reference" / "securities.csv", dtype=str).set_index("security_id")
    expected = set()
    for item in ground_truth["exceptions"]:
        first = dt.date.fromisoformat(item["first_date"])
        last = dt.date.fromisoformat(item["last_date"])
        alive = [d for d in dates if first <= d <= last]
        kind = item["type"]
        if kind == "settlement_fail":  # the unsettled quantity is a settled-position difference the fail explains
            rows = [("positions", item["isin"], "timing")]
        elif kind == "cash_missing_at_bank":
            rows = [("cash", item["trade_id"], "timing")]
        elif kind in POSITION_TYPES:
            rows = [("positions", item["isin"], POSITION_TYPES[kind])]
        elif kind == "cash_amount_difference":
            rows = [("cash", item["customer_reference"], "price/amount difference")]
        elif kind == "cash_missing_in_books":
            rows = [("cash", item["bank_reference"], "missing in books")]  # no reference of ours: keyed by the bank's own
        elif kind in TRADE_TYPES:
            rows = [("trades", item.get("trade_id") or item["client_reference"], TRADE_TYPES[kind])]
        else:
            continue
        expected |= {(item["fund"], d, recon, ref, cls) for d in alive for recon, ref, cls in rows}
    assert securities is not None
    return expected


def _found(daily) -> set[tuple]:
    found = set()
    for (fund, day), recon in daily.items():
        for row in recon.breaks().itertuples():
            found.add((fund, day, row.recon, row.item, row.classification))
    return found


def test_every_seeded_break_is_found_on_every_date_it_lives_and_nothing_else(ground_truth, daily):
    expected, found = _expected(ground_truth, daily), _found(daily)
    assert found - expected == set(), "reported but not seeded"
    assert expected - found == set(), "seeded but not found"
    assert len(expected) > 80  # 27 dates x 3 funds: fails alone make dozens of (date, break) pairs


def test_final_date_figures_a_user_checks(daily):
    useq = daily[("USEQ", FINAL)]
    p = useq.positions.breaks.set_index("isin")
    assert p.loc["US2095851083", "quantity_diff"] == -250.0
    books_qty, custodian_qty, ratio = p.loc["US4201171034", ["quantity_left", "quantity_right", "ratio"]].tolist()
    assert ratio == "105:100" and books_qty > 0 and custodian_qty == np.floor(books_qty * 105 / 100)  # the unbooked 5% stock dividend
    assert p.loc["US4201171034", "detail"].endswith("event applied by the custodian, not booked: event CA2026100005 (DVSE, paid 2026-11-04)")
    mahf_positions = daily[("MAHF", FINAL)].positions  # options sit at the clearing broker: no custodian feed, left out
    assert len(mahf_positions.options_excluded) > 0 and mahf_positions.options_excluded["account"].str.endswith("-OPT").all()
    assert not mahf_positions.table["account"].str.endswith("-OPT").any()
    cash = useq.cash.breaks.set_index("reference")
    fee = cash[cash["classification"].eq("missing in books")].iloc[0]
    assert (fee["amount_right"], fee["account"]) == (-45.0, "0012345679") and fee.name.startswith("B261106")  # the bank's own reference
    # two identical 250,000.00 subscriptions on the final date: two bank entries, each matched to its own order
    subs = useq.cash.match.right[(useq.cash.match.right["amount"] == 250000.0) & (useq.cash.match.right["value_date"] == pd.Timestamp(FINAL))]
    assert len(subs) == 2 and subs["group_status"].eq("matched").all() and subs["group_id"].nunique() == 2
    trades = useq.trades.breaks.set_index("reference")
    assert trades.loc["T261106USEQ001", "price_diff"] == pytest.approx(0.05)
    assert trades.loc["T261106USEQ002", "quantity_diff"] == -100.0
    assert trades.loc["T261106USEQ003", ["fields", "net_amount_diff"]].tolist() == ["net_amount", pytest.approx(25.0)]
    assert trades.loc["T261106USEQ977", "confirm_id"] == "C261106NOR7731"
    # the settlement-date difference of 11-05 (SX029): no corrected confirmation came on 11-06, so it is still open
    late = trades.loc["T261105USEQ004"]
    assert (late["classification"], late["carried"], late["trade_date"]) == ("settlement date difference", True, pd.Timestamp("2026-11-05"))
    assert late["detail"].endswith("(traded 2026-11-05, still open)")
    assert (trades["carried"].sum(), len(useq.trades.resolved)) == (1, 0)
    mahf = daily[("MAHF", FINAL)].cash.breaks.set_index("reference")
    partial = mahf.loc["T261103MAHF906"]  # 6,000 of 10,000 settled: the bank moved that part
    assert (partial["amount_left"], partial["amount_right"], partial["amount_diff"]) == pytest.approx((2846565.92, 1707939.55, -1138626.37))
    dividend = mahf.loc["CA2026100003"]
    # books expect the 15% treaty rate, the paying agent withheld 26.375%
    assert dividend["amount_right"] / dividend["amount_left"] == pytest.approx((1 - 0.26375) / (1 - 0.15), rel=1e-6)
    assert dividend["amount_diff"] < 0


def test_a_trade_break_of_an_earlier_day_ages_in_the_break_history(sample_store, funds):
    from bo_lib.recon.breaks import load_breaks
    from bo_lib.recon.control import valuation_calendar

    history = load_breaks(sample_store, "USEQ", FINAL, valuation_calendar(funds["USEQ"])).set_index("item")
    late = history.loc["T261105USEQ004"]
    assert (late["status"], late["first_seen"], late["last_seen"], late["age_business_days"]) == ("open", pd.Timestamp("2026-11-05"),
                                                                                                  pd.Timestamp(FINAL), 1)


def test_statement_integrity_unbalanced_then_broken_chain(daily, ground_truth):
    seeded = next(i for i in ground_truth["exceptions"] if i["type"] == "statement_unbalanced")
    flagged = {(f, d): r.cash.integrity.loc[r.cash.integrity["integrity"] != "ok"] for (f, d), r in daily.items()}
    flagged = {k: v for k, v in flagged.items() if len(v)}
    assert set(flagged) == {("GLBD", dt.date(2026, 10, 30)), ("GLBD", dt.date(2026, 11, 2))}
    bad = flagged[("GLBD", dt.date(2026, 10, 30))].iloc[0]
    assert (bad["account"], bad["integrity"], bad["statement_id"]) == (seeded["account"], "does not balance", seeded["statement_id"])
    assert (bad["opening_balance"], bad["closing_balance"]) == pytest.approx((seeded["opening_balance"], seeded["reported_closing"]))
    assert bad["difference"] == pytest.approx(seeded["difference"])
    chain = flagged[("GLBD", dt.date(2026, 11, 2))].iloc[0]
    assert chain["account"] == seeded["account"] and chain["integrity"] == "chain broken"
    assert chain["chain_difference"] == pytest.approx(-seeded["difference"])  # opens from the true balance, 100.00 below the reported close


def test_unreadable_input_is_held_out_not_turned_into_breaks(funds, data_copy, store_copy, daily):
    """A custodian row with a non-numeric quantity and an unreadable camt.053 statement: the recons
    keep those items out for the day and say so, instead of reporting fake breaks."""
    from bo_lib.data.ingest import ingest
    from bo_lib.recon.breaks import HISTORY_COLUMNS
    from bo_lib.recon.control import summarise

    positions = data_copy / "inbound/2026-11-06/custodian_positions.csv"
    lines = positions.read_text().splitlines()
    n = next(i for i, line in enumerate(lines) if ",0000456789," in line)  # a MAHF custody row
    parts = lines[n].split(",")
    parts[5] = "abc"
    lines[n] = ",".join(parts)
    positions.write_text("\n".join(lines) + "\n")
    statement = data_copy / "inbound/2026-11-06/statements/DE89370400440532013000.camt053.xml"
    statement.write_text(statement.read_text().replace("</Ntry>", "", 1))
    report = ingest(data_copy, store_copy, funds, dates=[FINAL])
    assert {s["path"] for s in report.superseded} == {"inbound/2026-11-06/custodian_positions.csv",
                                                        "inbound/2026-11-06/statements/DE89370400440532013000.camt053.xml"}
    for code, isin in (("MAHF", parts[3]), ("GLBD", None)):
        inputs = gather_recon_day(store_copy, funds[code], FINAL)
        today = run_recons(inputs)
        clean = daily[(code, FINAL)]
        # no break that the clean world does not have
        assert set(today.positions.breaks["isin"]) <= set(clean.positions.breaks["isin"]), code
        assert len(today.cash.breaks) <= len(clean.cash.breaks), code
        held = inputs.held_out
        no_history = pd.DataFrame(columns=HISTORY_COLUMNS).astype({"age_business_days": "int64"})
        line = summarise(today, no_history, inputs.violations_table, inputs.held_out)
        assert line.set_index("check").loc["Input data", "rag"] == "red", code
        detail = line.set_index("check").loc["Not reconciled today"]
        assert detail["rag"] == "red" and "held out until the input is corrected" in detail["detail"], code
        if isin:
            assert held[["recon", "account", "isin"]].values.tolist() == [["positions", "0000456789", isin]]
        else:
            assert held[["recon", "account"]].values.tolist() == [["cash", "DE89370400440532013000"]]
