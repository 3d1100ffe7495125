"""The sample world's own conventions (bo_lib.data.sample_world.conventions), against hand-worked
values from public facts: FINRA holiday settlement schedules, the Federal Reserve / TARGET2 / UK /
Japanese holiday rules, the ISDA and SIA day-count rules and the UK gilt ex-dividend convention."""

from __future__ import annotations

import ast
import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bo_lib.data.sample_world import conventions as cv
from bo_lib.data.sample_world.conventions import (
    Calendar,
    accrued_interest,
    coupon_amount,
    coupon_period,
    coupon_schedule,
    day_count_30_360,
    ex_and_record_dates,
    exchange_sessions,
    pay_date,
    payment_calendar,
    settlement_calendar,
    settlement_cycle,
    settlement_date,
    settlement_dates,
    year_fraction,
)

D = dt.date


# --------------------------------------------------------------------------------------------- #
# Independence: the world's conventions do not come from the workbench
# --------------------------------------------------------------------------------------------- #
def test_module_imports_nothing_from_the_workbench():
    tree = ast.parse(Path(cv.__file__).read_text(encoding="utf-8"))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add(node.module or "")
    assert not {m for m in imported if m.split(".")[0] in ("bo_lib", "QuantLib")}, imported


# --------------------------------------------------------------------------------------------- #
# Calendar arithmetic
# --------------------------------------------------------------------------------------------- #
def test_calendar_rolls_a_non_business_day_forward_before_shifting():
    cal = Calendar("weekends only")
    sat = D(2026, 10, 10)
    assert cal.add_business_days(sat, 0) == D(2026, 10, 12)
    assert cal.add_business_days(sat, -1) == D(2026, 10, 9)
    assert cal.add_business_days(sat, 1) == D(2026, 10, 13)
    assert cal.roll_forward(sat) == D(2026, 10, 12)
    assert cal.previous_business_day(D(2026, 10, 12)) == D(2026, 10, 9)
    assert cal.next_business_day(D(2026, 10, 9)) == D(2026, 10, 12)


def test_business_days_between_counts_the_half_open_interval():
    cal = payment_calendar("USD")
    # (Fri 10-09, Wed 10-14]: Mon 12 is Columbus Day -> Tue 13, Wed 14
    assert cal.business_days_between(D(2026, 10, 9), D(2026, 10, 14)) == 2
    assert cal.business_days_between(D(2026, 10, 14), D(2026, 10, 9)) == -2
    assert cal.business_days_between(D(2026, 10, 9), D(2026, 10, 9)) == 0
    assert cal.business_days(D(2026, 10, 9), D(2026, 10, 14)) == [D(2026, 10, 9), D(2026, 10, 13), D(2026, 10, 14)]


def test_dates_outside_the_calendar_range_raise():
    with pytest.raises(ValueError, match="outside"):
        payment_calendar("USD").is_business_day(D(2041, 1, 2))
    with pytest.raises(ValueError, match="outside"):
        payment_calendar("EUR").is_business_day(D(1998, 6, 1))  # no euro, no TARGET


def test_vectorised_offsets_match_the_scalar_ones_and_keep_nat():
    cal = payment_calendar("GBP")
    days = np.array(["2026-05-22", "2026-05-23", "NaT", "2026-12-24"], dtype="datetime64[D]")
    out = cal.offset_array(days, 1)
    assert out[0] == np.datetime64("2026-05-26") and out[1] == np.datetime64("2026-05-27")
    assert np.isnat(out[2])
    assert out[3].astype(object) == cal.add_business_days(D(2026, 12, 24), 1) == D(2026, 12, 29)


# --------------------------------------------------------------------------------------------- #
# Payment systems
# --------------------------------------------------------------------------------------------- #
@pytest.mark.parametrize("day, open_", [
    (D(2026, 10, 12), False),  # Columbus Day
    (D(2026, 11, 11), False),  # Veterans Day
    (D(2026, 11, 26), False),  # Thanksgiving
    (D(2026, 6, 19), False),   # Juneteenth (Friday)
    (D(2022, 6, 20), False),   # Juneteenth on Sunday 2022-06-19: observed Monday
    (D(2027, 7, 5), False),    # Independence Day on Sunday 2027-07-04: observed Monday
    (D(2021, 12, 31), True),   # New Year's Day 2022 on a Saturday: the Fed is open the Friday
    (D(2023, 11, 10), True),   # Veterans Day 2023 on a Saturday: open the Friday
    (D(2026, 7, 3), True),     # Independence Day 2026 on a Saturday: open the Friday (NYSE is not)
    (D(2026, 4, 3), True),     # Good Friday is no Fed holiday
])
def test_usd_follows_the_federal_reserve(day, open_):
    assert payment_calendar("USD").is_business_day(day) is open_


@pytest.mark.parametrize("ccy, day, open_", [
    ("EUR", D(2026, 5, 1), False),    # TARGET2: Labour Day
    ("EUR", D(2026, 4, 3), False),    # Good Friday
    ("EUR", D(2026, 4, 6), False),    # Easter Monday
    ("EUR", D(2026, 5, 25), True),    # Whit Monday: TARGET2 is open
    ("EUR", D(2025, 12, 26), False),  # 26 December
    ("EUR", D(2026, 12, 24), True),
    ("GBP", D(2026, 5, 4), False),    # Early May bank holiday
    ("GBP", D(2026, 5, 25), False),   # Spring bank holiday
    ("GBP", D(2026, 8, 31), False),   # Summer bank holiday
    ("GBP", D(2026, 12, 28), False),  # Boxing Day (Sat 26th) substitute
    ("GBP", D(2022, 9, 19), False),   # State funeral of Queen Elizabeth II
    ("GBP", D(2026, 5, 1), True),
    ("JPY", D(2026, 12, 31), False),  # bank closure 31 Dec
    ("JPY", D(2026, 1, 2), False),    # bank closure 2 Jan
    ("JPY", D(2026, 1, 5), True),
    ("JPY", D(2026, 5, 6), False),    # substitute holiday (Constitution Day on Sunday)
    ("JPY", D(2027, 1, 4), True),
    ("CHF", D(2026, 1, 2), False),    # Berchtold's Day
    ("CHF", D(2026, 5, 14), False),   # Ascension
    ("CHF", D(2026, 5, 25), False),   # Whit Monday
    ("CHF", D(2026, 5, 1), False),    # Labour Day (Zurich)
])
def test_payment_calendars(ccy, day, open_):
    assert payment_calendar(ccy).is_business_day(day) is open_


def test_unknown_currency_raises():
    with pytest.raises(ValueError, match="no payment calendar"):
        payment_calendar("XAU")


# --------------------------------------------------------------------------------------------- #
# Exchange sessions and settlement calendars
# --------------------------------------------------------------------------------------------- #
def test_exchange_sessions():
    nyse = exchange_sessions("XNYS")
    assert nyse.is_business_day(D(2026, 10, 12))       # Columbus Day: NYSE trades
    assert not nyse.is_business_day(D(2026, 7, 3))     # Independence Day observed on the Friday
    assert not nyse.is_business_day(D(2026, 4, 3))     # Good Friday
    assert not nyse.is_business_day(D(2025, 1, 9))     # National Day of Mourning (President Carter)
    assert exchange_sessions("XCBO").is_business_day(D(2026, 10, 12))
    assert not exchange_sessions("XLON").is_business_day(D(2026, 12, 28))
    assert exchange_sessions("XSWX").is_business_day(D(2026, 10, 12))  # any exchange_calendars code
    with pytest.raises(ValueError, match="OTC"):
        exchange_sessions("XOFF")


def test_settlement_calendar_is_sessions_and_payment_days_less_closures():
    xnys = settlement_calendar("XNYS", "USD")
    assert not xnys.is_business_day(D(2026, 10, 12))   # Fed closed
    assert not xnys.is_business_day(D(2026, 7, 3))     # NYSE closed
    assert not xnys.is_business_day(D(2026, 4, 3))     # NYSE closed (Good Friday)
    assert not settlement_calendar("XETR", "EUR").is_business_day(D(2026, 5, 1))
    assert settlement_calendar("XOFF", "EUR").is_business_day(D(2026, 5, 25))
    assert settlement_calendar("XNYS") is xnys          # currency defaults to the market's; cached

    closures = pd.DataFrame({"market": ["XNYS", "XETR"], "closure_date": ["2026-10-14", "2026-10-15"]})
    with_closure = settlement_calendar("XNYS", "USD", closures)
    assert not with_closure.is_business_day(D(2026, 10, 14))
    assert with_closure.is_business_day(D(2026, 10, 15))
    assert not settlement_calendar("XCBO", "USD", closures).is_business_day(D(2026, 10, 14))  # trades on NYSE days
    assert not exchange_sessions("XNYS", closures).is_business_day(D(2026, 10, 14))
    assert settlement_date(D(2026, 10, 13), "XNYS", "equity", "USD", closures) == D(2026, 10, 15)
    as_timestamps = closures.assign(closure_date=pd.to_datetime(closures["closure_date"]))
    assert settlement_calendar("XNYS", "USD", as_timestamps) is with_closure
    assert settlement_date(D(2026, 10, 13), "XNYS", "equity", "USD", as_timestamps) == D(2026, 10, 15)

    with pytest.raises(ValueError, match="needs a currency"):
        settlement_calendar("XOFF")
    with pytest.raises(ValueError, match="unknown market"):
        settlement_calendar("XBAD", "USD")


# --------------------------------------------------------------------------------------------- #
# Settlement dates
# --------------------------------------------------------------------------------------------- #
# FINRA (NASD) Notice to Members 95-77, Columbus Day Mon 1995-10-09, T+3 regular way: "Transactions
# made on Monday, October 9, will be combined with transactions made on the previous business day,
# October 6, for settlement on October 12."
FINRA_95_77 = [(D(1995, 10, 2), D(1995, 10, 5)), (D(1995, 10, 3), D(1995, 10, 6)), (D(1995, 10, 4), D(1995, 10, 10)),
               (D(1995, 10, 5), D(1995, 10, 11)), (D(1995, 10, 6), D(1995, 10, 12)), (D(1995, 10, 9), D(1995, 10, 12)),
               (D(1995, 10, 10), D(1995, 10, 13))]
# FINRA (NASD) Notice to Members 99-83, Columbus Day Mon 1999-10-11, T+3.
FINRA_99_83 = [(D(1999, 10, 5), D(1999, 10, 8)), (D(1999, 10, 6), D(1999, 10, 12)), (D(1999, 10, 7), D(1999, 10, 13)),
               (D(1999, 10, 8), D(1999, 10, 14)), (D(1999, 10, 11), D(1999, 10, 14)), (D(1999, 10, 12), D(1999, 10, 15))]


@pytest.mark.parametrize("trade, settle", FINRA_95_77 + FINRA_99_83)
def test_finra_published_columbus_day_schedules(trade, settle):
    assert settlement_date(trade, "XNYS", "equity", "USD") == settle


@pytest.mark.parametrize("trade, settle", [
    # Columbus Day Mon 2026-10-12, T+1: the Monday's trades are combined with the Friday's
    (D(2026, 10, 9), D(2026, 10, 13)),
    (D(2026, 10, 12), D(2026, 10, 13)),
    (D(2026, 10, 13), D(2026, 10, 14)),
    (D(2026, 10, 10), D(2026, 10, 13)),   # Saturday: counts as Monday's, so as Friday's
    # Veterans Day Wed 2026-11-11: not a settlement day; its trades are combined with Tuesday's
    (D(2026, 11, 10), D(2026, 11, 12)),
    (D(2026, 11, 11), D(2026, 11, 12)),
    (D(2026, 11, 12), D(2026, 11, 13)),
    # Veterans Day 2023 on a Saturday: the Fed is open Friday 11-10, which counts (T+2 then)
    (D(2023, 11, 9), D(2023, 11, 13)),
    (D(2023, 11, 10), D(2023, 11, 14)),
    # Thanksgiving Thu 2026-11-26: markets closed; a trade booked that day counts from Friday
    (D(2026, 11, 25), D(2026, 11, 27)),
    (D(2026, 11, 26), D(2026, 11, 30)),
    (D(2026, 11, 27), D(2026, 11, 30)),
    # Independence Day Sat 2026-07-04: NYSE closed Fri 07-03 (the Fed is open, but nothing settles)
    (D(2026, 7, 2), D(2026, 7, 6)),
    # The US T+1 switch: Fri 2024-05-24 (T+2, Memorial Day between) and Tue 2024-05-28 (T+1)
    # both settled on Wed 2024-05-29
    (D(2024, 5, 24), D(2024, 5, 29)),
    (D(2024, 5, 28), D(2024, 5, 29)),
])
def test_us_equity_settlement(trade, settle):
    assert settlement_date(trade, "XNYS", "equity", "USD") == settle


@pytest.mark.parametrize("trade, mic, ac, ccy, settle", [
    (D(2026, 4, 30), "XETR", "equity", "EUR", D(2026, 5, 5)),    # T+2 over TARGET2's 1 May
    (D(2026, 4, 29), "XPAR", "equity", "EUR", D(2026, 5, 4)),
    (D(2027, 10, 8), "XETR", "equity", "EUR", D(2027, 10, 12)),  # last EU T+2 trade date
    (D(2027, 10, 11), "XETR", "equity", "EUR", D(2027, 10, 12)),  # first EU T+1 trade date
    (D(2026, 5, 22), "XLON", "equity", "GBP", D(2026, 5, 27)),   # T+2 over the Spring bank holiday
    (D(2026, 8, 28), "XOFF", "government_bond", "GBP", D(2026, 9, 1)),  # gilt T+1 over the Summer bank holiday
    (D(2026, 12, 30), "XTKS", "equity", "JPY", D(2027, 1, 5)),   # TSE T+2 over the year-end closure
    (D(2026, 12, 30), "XOFF", "government_bond", "JPY", D(2027, 1, 4)),  # JGB T+1
    (D(2026, 10, 9), "XOFF", "corporate_bond", "USD", D(2026, 10, 13)),
    # OTC has no exchange: a day the Fed is closed is no trading day either, so it counts from Tuesday
    (D(2026, 10, 12), "XOFF", "corporate_bond", "USD", D(2026, 10, 14)),
    (D(2026, 10, 12), "XCBO", "option", "USD", D(2026, 10, 13)),
])
def test_settlement_elsewhere(trade, mic, ac, ccy, settle):
    assert settlement_date(trade, mic, ac, ccy) == settle


def test_settlement_cycles():
    assert settlement_cycle(D(2024, 5, 24), "XNYS") == 2
    assert settlement_cycle(D(2024, 5, 28), "XNAS") == 1
    assert settlement_cycle(D(2017, 9, 1), "XNYS") == 3
    assert settlement_cycle(D(2026, 10, 1), "XOFF", "government_bond", "GBP") == 1
    assert settlement_cycle(D(2026, 10, 1), "XLON", "equity") == 2
    assert settlement_cycle(D(2027, 10, 11), "XLON", "equity") == 1
    with pytest.raises(ValueError, match="no settlement cycle"):
        settlement_cycle(D(2026, 10, 1), "XTKS", "corporate_bond")
    with pytest.raises(ValueError, match="no settlement cycle"):
        settlement_cycle(D(2026, 10, 1), "XOFF", "corporate_bond", "CHF")  # a CHF payment calendar, but no cycle rules
    with pytest.raises(ValueError, match="no settlement region"):
        settlement_cycle(D(2026, 10, 1), "XOFF", "corporate_bond", "SEK")


def test_vectorised_settlement_dates_match_the_scalar_rule():
    days = pd.date_range("2026-09-25", "2027-01-10", freq="D")
    kinds = [("XNYS", "equity", "USD"), ("XCBO", "option", "USD"), ("XETR", "equity", "EUR"), ("XLON", "equity", "GBP"),
             ("XTKS", "equity", "JPY"), ("XOFF", "government_bond", "GBP"), ("XOFF", "corporate_bond", "USD")]
    grid = pd.DataFrame([(d, m, a, c) for d in days for m, a, c in kinds], columns=["trade_date", "market", "asset_class", "currency"])
    grid.index = grid.index * 3 + 7  # any index is kept
    closures = pd.DataFrame({"market": ["XNYS"], "closure_date": [D(2026, 12, 1)]})
    out = settlement_dates(grid, closures)
    assert out.index.equals(grid.index) and out.name == "settlement_date"
    expected = [settlement_date(r.trade_date, r.market, r.asset_class, r.currency, closures) for r in grid.itertuples()]
    assert [d.date() for d in out] == expected

    with_nat = pd.DataFrame({"trade_date": [pd.NaT, D(2026, 10, 12)], "market": ["XNYS", "XNYS"], "asset_class": ["equity"] * 2})
    res = settlement_dates(with_nat)
    assert pd.isna(res.iloc[0]) and res.iloc[1].date() == D(2026, 10, 13)


# --------------------------------------------------------------------------------------------- #
# Day counts
# --------------------------------------------------------------------------------------------- #
@pytest.mark.parametrize("start, end, conv, days", [
    # from the last day of February to the 31st of March
    (D(2026, 2, 28), D(2026, 3, 31), "30/360 BOND BASIS", 33),  # D1 = 28 < 30, so D2 stays 31
    (D(2026, 2, 28), D(2026, 3, 31), "30E/360", 32),            # D2 31 -> 30
    (D(2026, 2, 28), D(2026, 3, 31), "30E/360 ISDA", 30),       # D1 end of Feb -> 30, D2 -> 30
    (D(2026, 2, 28), D(2026, 3, 31), "30/360 US", 30),          # EOM: D1 -> 30, then D2 31 -> 30
    # from the 31st of January to the end of February
    (D(2026, 1, 31), D(2026, 2, 28), "30/360 BOND BASIS", 28),
    (D(2026, 1, 31), D(2026, 2, 28), "30E/360", 28),
    (D(2026, 1, 31), D(2026, 2, 28), "30E/360 ISDA", 30),       # D2 end of Feb -> 30 (not the maturity)
    (D(2026, 1, 31), D(2026, 2, 28), "30/360 US", 28),
    # an end-of-month half year, and February to February over a leap year
    (D(2026, 2, 28), D(2026, 8, 31), "30/360 US", 180),
    (D(2026, 2, 28), D(2026, 8, 31), "30/360 BOND BASIS", 183),
    (D(2027, 2, 28), D(2028, 2, 29), "30/360 US", 360),         # both ends of February: D2 -> 30
    (D(2027, 2, 28), D(2028, 2, 29), "30/360 BOND BASIS", 361),
    (D(2026, 3, 15), D(2026, 9, 15), "30/360 US", 180),
    (D(2026, 3, 31), D(2026, 9, 30), "30E/360", 180),
])
def test_thirty_360_day_counts(start, end, conv, days):
    assert day_count_30_360(start, end, conv) == days
    assert year_fraction(start, end, conv, eom=True) == pytest.approx(days / 360)


def test_thirty_360_exceptions():
    # 30E/360 ISDA: the last day of February is not moved when it is the termination date
    assert day_count_30_360(D(2026, 1, 31), D(2026, 2, 28), "30E/360 ISDA", termination_date=D(2026, 2, 28)) == 28
    # 30/360 US without the end-of-month rule (a bond paying on the 28th): only the 31st rules
    assert day_count_30_360(D(2026, 2, 28), D(2026, 3, 31), "30/360 US", eom=False) == 33
    # by default the EOM flag follows the coupon period's end
    assert year_fraction(D(2026, 2, 28), D(2026, 3, 31), "30/360 US", D(2026, 2, 28), D(2026, 8, 28), 2) == pytest.approx(33 / 360)
    assert year_fraction(D(2026, 2, 28), D(2026, 3, 31), "30/360 US", D(2026, 2, 28), D(2026, 8, 31), 2) == pytest.approx(30 / 360)


def test_actual_day_counts():
    # ISDA, "EMU and market conventions" (1998), the standard example 2003-11-01 .. 2004-05-01:
    # ACT/ACT ISDA = 61/365 + 121/366; ACT/ACT ICMA for a semi-annual bond = 182 / (2 x 182) = 0.5
    assert year_fraction(D(2003, 11, 1), D(2004, 5, 1), "ACT/ACT ISDA") == pytest.approx(61 / 365 + 121 / 366)
    assert year_fraction(D(2003, 11, 1), D(2004, 5, 1), "ACT/ACT ICMA", D(2003, 11, 1), D(2004, 5, 1), 2) == pytest.approx(0.5)
    assert year_fraction(D(2027, 11, 15), D(2028, 5, 15), "ACT/ACT ISDA") == pytest.approx(47 / 365 + 135 / 366)
    assert year_fraction(D(2026, 2, 15), D(2026, 5, 15), "ACT/ACT ICMA", D(2026, 2, 15), D(2026, 8, 15), 2) == pytest.approx(89 / 362)
    assert year_fraction(D(2026, 5, 15), D(2026, 11, 15), "ACT/360") == pytest.approx(184 / 360)
    assert year_fraction(D(2026, 5, 15), D(2026, 11, 15), "ACT/365F") == pytest.approx(184 / 365)
    assert year_fraction(D(2026, 11, 15), D(2026, 5, 15), "ACT/360") == pytest.approx(-184 / 360)
    with pytest.raises(ValueError, match="reference coupon period"):
        year_fraction(D(2026, 2, 15), D(2026, 5, 15), "ACT/ACT ICMA")
    with pytest.raises(ValueError, match="not inside"):
        year_fraction(D(2026, 2, 15), D(2026, 9, 15), "ACT/ACT ICMA", D(2026, 2, 15), D(2026, 8, 15), 2)
    with pytest.raises(ValueError, match="unknown day-count"):
        year_fraction(D(2026, 2, 15), D(2026, 5, 15), "BUS/252")


# --------------------------------------------------------------------------------------------- #
# Coupons
# --------------------------------------------------------------------------------------------- #
def test_coupon_amounts_are_the_year_fraction_of_the_whole_period():
    # ACT/360 at 5% on 1,000,000 for 2026-05-15..2026-11-15: 184/360 x 50,000, not 50,000 / 2
    assert round(coupon_amount(1_000_000, 5.0, D(2026, 5, 15), D(2026, 11, 15), "ACT/360", 2), 2) == 25_555.56
    assert round(coupon_amount(1_000_000, 5.0, D(2026, 5, 15), D(2026, 11, 15), "ACT/365F", 2), 2) == 25_205.48
    # ICMA and regular 30/360 periods pay rate / frequency
    assert coupon_amount(1_000_000, 5.0, D(2026, 5, 15), D(2026, 11, 15), "ACT/ACT ICMA", 2) == pytest.approx(25_000)
    assert coupon_amount(1_000_000, 5.0, D(2026, 11, 15), D(2027, 5, 15), "ACT/ACT ICMA", 2) == pytest.approx(25_000)
    assert coupon_amount(1_000_000, 2.5, D(2026, 2, 15), D(2027, 2, 15), "ACT/ACT ICMA", 1) == pytest.approx(25_000)
    assert coupon_amount(1_000_000, 5.1, D(2026, 3, 15), D(2026, 9, 15), "30/360 US", 2) == pytest.approx(25_500)
    assert coupon_amount(1_000_000, 4.6, D(2026, 2, 1), D(2026, 8, 1), "30/360 US", 2) == pytest.approx(23_000)
    # a quarterly ACT/360 note, 2026-01-20..2026-04-20 (90 days) at 4.1%
    assert round(coupon_amount(1_000_000, 4.1, D(2026, 1, 20), D(2026, 4, 20), "ACT/360", 4), 2) == 10_250.00


def test_coupon_schedule_rolls_back_from_maturity_by_whole_months():
    assert coupon_schedule(D(2032, 11, 7), 2, D(2026, 1, 1), D(2026, 12, 31)) == [D(2026, 5, 7), D(2026, 11, 7)]
    assert coupon_schedule(D(2029, 1, 20), 4, D(2026, 1, 1), D(2026, 12, 31)) == [D(2026, 1, 20), D(2026, 4, 20), D(2026, 7, 20), D(2026, 10, 20)]
    # a month-end maturity keeps month ends (Feb 28, Feb 29 in a leap year)
    assert coupon_schedule(D(2030, 8, 31), 2, D(2026, 1, 1), D(2026, 12, 31)) == [D(2026, 2, 28), D(2026, 8, 31)]
    assert coupon_schedule(D(2030, 8, 31), 2, D(2028, 1, 1), D(2028, 12, 31)) == [D(2028, 2, 29), D(2028, 8, 31)]
    # a 30th is capped in February and back to the 30th after (each date from the maturity)
    assert coupon_schedule(D(2031, 8, 30), 2, D(2027, 1, 1), D(2027, 12, 31)) == [D(2027, 2, 28), D(2027, 8, 30)]
    # bounds are inclusive; the schedule stops at maturity
    assert coupon_schedule(D(2026, 12, 15), 2, D(2026, 6, 15), D(2030, 1, 1)) == [D(2026, 6, 15), D(2026, 12, 15)]
    with pytest.raises(ValueError, match="frequency"):
        coupon_schedule(D(2030, 1, 1), 3, D(2026, 1, 1))


def test_coupon_period_holds_the_coupon_date_in_the_period_it_ends():
    assert coupon_period(D(2026, 11, 7), D(2032, 11, 7), 2) == (D(2026, 5, 7), D(2026, 11, 7))
    assert coupon_period(D(2026, 11, 8), D(2032, 11, 7), 2) == (D(2026, 11, 7), D(2027, 5, 7))
    assert coupon_period(D(2026, 10, 1), D(2034, 2, 15), 1) == (D(2026, 2, 15), D(2027, 2, 15))
    with pytest.raises(ValueError, match="after the bond's maturity"):
        coupon_period(D(2027, 1, 1), D(2026, 12, 15), 2)


GILT = {"coupon_rate": 4.25, "coupon_frequency": 2.0, "day_count": "ACT/ACT ICMA", "maturity_date": "2032-11-07",
        "issue_date": "2023-11-07", "ex_coupon_days": 7.0, "currency": "GBP"}


def test_gilt_accrued_interest_turns_negative_on_the_ex_dividend_date():
    # period 2026-05-07..2026-11-07 = 184 days; half-year coupon 21,250 on 1,000,000
    assert accrued_interest(D(2026, 10, 28), 1_000_000, GILT) == pytest.approx(42_500 * 174 / 368)   # record date: cum
    assert accrued_interest(D(2026, 10, 29), 1_000_000, GILT) == pytest.approx(-42_500 * 9 / 368)    # ex-dividend date
    assert accrued_interest(D(2026, 11, 6), 1_000_000, GILT) == pytest.approx(-42_500 * 1 / 368)
    assert accrued_interest(D(2026, 11, 7), 1_000_000, GILT) == 0.0
    assert accrued_interest(D(2026, 11, 9), 1_000_000, GILT) == pytest.approx(42_500 * 2 / (2 * 181))
    # an explicit ex-date wins
    assert accrued_interest(D(2026, 10, 28), 1_000_000, GILT, ex_date=D(2026, 10, 27)) == pytest.approx(-42_500 * 10 / 368)
    # a pandas row of the securities master works as well
    assert accrued_interest(D(2026, 10, 28), 1_000_000, pd.Series(GILT)) == pytest.approx(42_500 * 174 / 368)


def test_accrued_interest_of_other_bonds():
    note = {"coupon_rate": 3.25, "coupon_frequency": 2, "day_count": "30/360 US", "maturity_date": "2026-12-15",
            "ex_coupon_days": 0, "currency": "USD"}
    assert accrued_interest(D(2026, 10, 12), 1_000_000, note) == pytest.approx(32_500 * 117 / 360)  # 06-15 .. 10-12
    assert accrued_interest(D(2026, 12, 14), 1_000_000, note) == pytest.approx(32_500 * 179 / 360)  # no ex period
    frn = {"coupon_rate": 4.1, "coupon_frequency": 4, "day_count": "ACT/360", "maturity_date": "2029-01-20", "ex_coupon_days": float("nan")}
    assert accrued_interest(D(2026, 10, 30), 1_000_000, frn) == pytest.approx(41_000 * 10 / 360)
    bund = {"coupon_rate": 2.5, "coupon_frequency": 1, "day_count": "ACT/ACT ICMA", "maturity_date": "2034-02-15", "issue_date": "2024-02-15"}
    assert accrued_interest(D(2026, 9, 30), 1_000_000, bund) == pytest.approx(25_000 * 227 / 365)
    # before issue nothing has accrued; the first period accrues from the issue date
    assert accrued_interest(D(2024, 2, 10), 1_000_000, bund) == 0.0


# --------------------------------------------------------------------------------------------- #
# Gilt ex-dividend and record dates: seven UK business days before the coupon date
# --------------------------------------------------------------------------------------------- #
@pytest.mark.parametrize("coupon, ex, record", [
    (D(2026, 11, 7), D(2026, 10, 29), D(2026, 10, 28)),   # Saturday coupon: counted back from Monday's eve
    (D(2026, 5, 7), D(2026, 4, 27), D(2026, 4, 24)),      # the Early May bank holiday (05-04) is skipped
    (D(2026, 6, 1), D(2026, 5, 20), D(2026, 5, 19)),      # a Monday after the Spring bank holiday week
    (D(2026, 4, 13), D(2026, 3, 31), D(2026, 3, 30)),     # the Monday after Easter week (Good Friday, Easter Monday)
    (D(2026, 5, 26), D(2026, 5, 14), D(2026, 5, 13)),     # the Tuesday after the Spring bank holiday
    (D(2026, 8, 31), D(2026, 8, 20), D(2026, 8, 19)),     # a coupon on the Summer bank holiday itself
    (D(2026, 12, 28), D(2026, 12, 16), D(2026, 12, 15)),  # on the Boxing Day substitute, after Christmas
    # public: 4% Treasury Gilt 2063 went ex-dividend on 2023-10-12 for its coupon of Sunday 2023-10-22
    (D(2023, 10, 22), D(2023, 10, 12), D(2023, 10, 11)),
])
def test_gilt_ex_and_record_dates(coupon, ex, record):
    assert ex_and_record_dates(coupon, "GBP", 7) == (ex, record)
    cal = payment_calendar("GBP")
    assert cal.business_days_between(ex, cal.roll_forward(coupon)) == 7  # seven business days, the pay day included
    assert cal.previous_business_day(ex) == record


def test_bonds_without_ex_days_go_ex_on_the_coupon_date():
    assert ex_and_record_dates(D(2026, 11, 15), "EUR", 0) == (D(2026, 11, 15), D(2026, 11, 15))
    assert ex_and_record_dates(D(2026, 11, 15), "USD") == (D(2026, 11, 15), D(2026, 11, 15))


def test_pay_date_rolls_the_coupon_forward_on_the_payment_calendar():
    assert pay_date(D(2026, 11, 7), "GBP") == D(2026, 11, 9)
    assert pay_date(D(2026, 10, 12), "USD") == D(2026, 10, 13)
    assert pay_date(D(2026, 5, 1), "EUR") == D(2026, 5, 4)
    assert pay_date(D(2026, 11, 16), "USD") == D(2026, 11, 16)


def test_the_worlds_own_half_up_rounding():
    from bo_lib.data.sample_world.conventions import round_half_up_array

    assert float(round_half_up_array(2.675, 2)) == 2.68  # stored as 2.67499999...
    assert float(round_half_up_array(-2.675, 2)) == -2.68  # a tie goes away from zero
    assert float(round_half_up_array(56_050 * 266.9693, 2)) == 14_963_629.27  # the product is exactly ...629.265
    assert float(round_half_up_array(1.00004999, 4)) == 1.0000
    assert list(round_half_up_array(pd.Series([0.125, 0.135]), 2)) == [0.13, 0.14]
