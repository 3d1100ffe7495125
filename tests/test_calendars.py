"""Tests for bo_lib.calendars: settlement dates, cycles, business-day arithmetic."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from bo_lib import calendars as cal
from bo_lib.calendars import (
    BusinessCalendar,
    business_days_between,
    calendar_for,
    settlement_cycle,
    settlement_date,
    settlement_dates,
)

D = dt.date
_XCALS_PANDAS_WARNING = pytest.mark.filterwarnings("ignore:Series.values returning an ndarray")  # exchange_calendars vs pandas 3.1




# --------------------------------------------------------------------------- #
# Cycle switches
# --------------------------------------------------------------------------- #
def test_us_t1_switch_both_sides_settle_same_day():
    assert settlement_cycle(D(2024, 5, 24), "XNYS") == 2
    assert settlement_cycle(D(2024, 5, 28), "XNYS") == 1
    # Fri 24 May 2024, T+2 skipping Memorial Day Mon 27 May -> Wed 29 May.
    assert settlement_date(D(2024, 5, 24), "XNYS") == D(2024, 5, 29)
    # Tue 28 May 2024, T+1 -> Wed 29 May.
    assert settlement_date(D(2024, 5, 28), "XNYS") == D(2024, 5, 29)
    # Corporate bonds follow the same switch; treasuries were already T+1.
    assert settlement_date(D(2024, 5, 24), "XOFF", "corporate_bond", currency="USD") == D(2024, 5, 29)
    assert settlement_date(D(2024, 5, 24), "XOFF", "government_bond", currency="USD") == D(2024, 5, 28)
    assert settlement_date(D(2024, 5, 24), "XNYS", "option") == D(2024, 5, 28)


def test_eu_t1_switch_2027():
    assert settlement_cycle(D(2027, 10, 8), "XETR") == 2
    assert settlement_cycle(D(2027, 10, 11), "XETR") == 1
    assert settlement_date(D(2027, 10, 8), "XETR") == D(2027, 10, 12)
    assert settlement_date(D(2027, 10, 11), "XETR") == D(2027, 10, 12)


def test_uk_t1_switch_2027_and_gilts():
    assert settlement_cycle(D(2027, 10, 8), "XLON") == 2
    assert settlement_cycle(D(2027, 10, 11), "XLON") == 1
    assert settlement_date(D(2027, 10, 11), "XLON") == D(2027, 10, 12)
    # Gilts are T+1 by convention regardless of the 2027 move.
    assert settlement_date(D(2025, 3, 7), "XOFF", "government_bond", currency="GBP") == D(2025, 3, 10)


def test_jp_equity_t2_and_jgb_t1():
    # Fri 2025-03-07 T+2 -> Tue 2025-03-11.
    assert settlement_date(D(2025, 3, 7), "XTKS") == D(2025, 3, 11)
    assert settlement_date(D(2025, 3, 7), "XOFF", "government_bond", currency="JPY") == D(2025, 3, 10)


def test_jp_bank_year_end_closures():
    # Mon 2024-12-30 T+2: 31 Dec, 1-3 Jan closed, 4-5 Jan weekend -> Mon 6 Jan (1), Tue 7 Jan (2).
    assert settlement_date(D(2024, 12, 30), "XTKS") == D(2025, 1, 7)
    assert not calendar_for("XOFF", "JPY").is_business_day(D(2025, 1, 3))


# --------------------------------------------------------------------------- #
# Holidays: exchange vs payment system
# --------------------------------------------------------------------------- #
@_XCALS_PANDAS_WARNING
def test_columbus_day_fed_closed_nyse_open():
    import exchange_calendars as xcals

    assert xcals.get_calendar("XNYS").is_session("2025-10-13")  # NYSE trades
    assert not calendar_for("XNYS").is_business_day(D(2025, 10, 13))  # but the Fed is closed
    assert settlement_date(D(2025, 10, 10), "XNYS") == D(2025, 10, 14)
    # Veterans Day too (Tue 2025-11-11): Mon trade T+1 -> Wed.
    assert settlement_date(D(2025, 11, 10), "XNYS") == D(2025, 11, 12)


def test_trade_on_a_fed_holiday_the_exchange_trades_settles_as_of_the_previous_business_day():
    # FINRA's holiday schedule: trades of a day the NYSE is open and the Fed closed settle as if
    # made on the previous business day. Columbus Day Mon 2026-10-12: Fri 10-09 and Mon 10-12
    # trades both settle Tue 10-13 (T+1), Tue 10-13's on Wed 10-14.
    assert settlement_date(D(2026, 10, 9), "XNYS") == D(2026, 10, 13)
    assert settlement_date(D(2026, 10, 12), "XNYS") == D(2026, 10, 13)
    assert settlement_date(D(2026, 10, 13), "XNYS") == D(2026, 10, 14)
    # Veterans Day Wed 2026-11-11: Tue 11-10 and Wed 11-11 trades settle Thu 11-12.
    assert settlement_date(D(2026, 11, 10), "XNYS") == D(2026, 11, 12)
    assert settlement_date(D(2026, 11, 11), "XNYS") == D(2026, 11, 12)
    # options and Nasdaq follow the same rule; a weekend trade still rolls forward
    assert settlement_date(D(2026, 10, 12), "XNAS") == D(2026, 10, 13)
    assert settlement_date(D(2026, 10, 10), "XNYS") == D(2026, 10, 14)
    # US treasuries off-exchange: no exchange session on a Fed holiday, nothing to move back
    assert settlement_date(D(2026, 10, 12), "XOFF", "government_bond", currency="USD") == D(2026, 10, 14)
    # the vectorised path agrees
    trades = pd.DataFrame({"trade_date": pd.to_datetime(["2026-10-12", "2026-11-11", "2026-10-13"]),
                           "market": ["XNYS", "XNYS", "XNYS"], "asset_class": ["equity"] * 3})
    assert list(settlement_dates(trades).dt.date) == [D(2026, 10, 13), D(2026, 11, 12), D(2026, 10, 14)]


def test_fed_saturday_holiday_not_observed_on_friday():
    # Sat 2022-01-01: federal government observes Fri 2021-12-31, the Fed does not.
    assert calendar_for("XOFF", "USD").is_business_day(D(2021, 12, 31))
    # Sun 2022-06-19 Juneteenth -> observed Mon 2022-06-20.
    assert not calendar_for("XOFF", "USD").is_business_day(D(2022, 6, 20))


def test_good_friday_easter_monday_xetr():
    c = calendar_for("XETR")
    assert not c.is_business_day(D(2025, 4, 18))
    assert not c.is_business_day(D(2025, 4, 21))
    assert settlement_date(D(2025, 4, 17), "XETR") == D(2025, 4, 23)


def test_uk_august_bank_holiday_2026():
    # Mon 2026-08-31 is the Late Summer bank holiday.
    assert not calendar_for("XLON").is_business_day(D(2026, 8, 31))
    # Thu 27 Aug T+2: Fri 28 (1), Tue 1 Sep (2).
    assert settlement_date(D(2026, 8, 27), "XLON") == D(2026, 9, 1)
    # Fri 28 Aug T+2: Tue 1 Sep (1), Wed 2 Sep (2).
    assert settlement_date(D(2026, 8, 28), "XLON") == D(2026, 9, 2)


@_XCALS_PANDAS_WARNING
def test_national_day_of_mourning_known_to_exchange_calendars():
    import exchange_calendars as xcals

    assert not xcals.get_calendar("XNYS").is_session("2025-01-09")
    assert not calendar_for("XNYS").is_business_day(D(2025, 1, 9))
    # Wed 2025-01-08 T+1 skips Thu 9 Jan -> Fri 10 Jan.
    assert settlement_date(D(2025, 1, 8), "XNYS") == D(2025, 1, 10)


def test_one_off_closure_from_reference_data():
    closures = pd.DataFrame(
        {
            "market": ["XNYS", "XLON"],
            "closure_date": pd.to_datetime(["2026-10-07", "2026-10-08"]),
        }
    )
    # Without closures: Tue 2026-10-06 T+1 -> Wed 2026-10-07.
    assert settlement_date(D(2026, 10, 6), "XNYS") == D(2026, 10, 7)
    # With a made-up XNYS closure on Wed 7 Oct -> Thu 8 Oct (XLON row ignored).
    assert settlement_date(D(2026, 10, 6), "XNYS", closures=closures) == D(2026, 10, 8)
    # The base calendar is untouched and cached separately.
    assert calendar_for("XNYS").is_business_day(D(2026, 10, 7))
    assert calendar_for("XNYS", closures=closures) is calendar_for("XNYS", closures=closures.copy())
    assert calendar_for("XNYS", closures=closures) is not calendar_for("XNYS")
    # Vectorised path honours closures too.
    trades = pd.DataFrame({"trade_date": [pd.Timestamp("2026-10-06")], "market": ["XNYS"], "asset_class": ["equity"]})
    assert settlement_dates(trades, closures=closures).iloc[0] == pd.Timestamp("2026-10-08")


def test_weekend_trade_date_rolls_forward():
    # Sat 2025-03-08 treated as Mon 2025-03-10, T+1 -> Tue 2025-03-11.
    assert settlement_date(D(2025, 3, 8), "XNYS") == D(2025, 3, 11)


# --------------------------------------------------------------------------- #
# Business-day arithmetic
# --------------------------------------------------------------------------- #
def test_business_days_between():
    c = calendar_for("XNYS")
    assert c.business_days_between(D(2025, 3, 10), D(2025, 3, 10)) == 0
    assert c.business_days_between(D(2025, 3, 10), D(2025, 3, 11)) == 1  # Mon -> Tue
    assert c.business_days_between(D(2025, 3, 7), D(2025, 3, 10)) == 1  # Fri -> Mon
    assert c.business_days_between(D(2025, 3, 7), D(2025, 3, 17)) == 6
    assert c.business_days_between(D(2025, 3, 11), D(2025, 3, 10)) == -1
    assert c.business_days_between(D(2025, 3, 17), D(2025, 3, 7)) == -6
    # Columbus Day is not a business day on the settlement calendar.
    assert c.business_days_between(D(2025, 10, 10), D(2025, 10, 14)) == 1
    assert business_days_between(D(2025, 10, 10), D(2025, 10, 14), "XNYS") == 1
    assert business_days_between(D(2025, 10, 10), D(2025, 10, 14), "XETR") == 2


def test_add_business_days_and_friends():
    c = calendar_for("XNYS")
    assert c.add_business_days(D(2025, 3, 10), -1) == D(2025, 3, 7)  # Mon - 1 = Fri
    assert c.add_business_days(D(2025, 3, 12), -5) == D(2025, 3, 5)
    assert c.add_business_days(D(2025, 3, 8), 0) == D(2025, 3, 10)  # Sat rolls to Mon
    assert c.add_business_days(D(2025, 3, 8), -1) == D(2025, 3, 7)  # Sat - 1 = Fri
    assert c.add_business_days(D(2024, 5, 28), -1) == D(2024, 5, 24)  # skips Memorial Day
    assert c.previous_business_day(D(2024, 5, 28)) == D(2024, 5, 24)
    assert c.previous_business_day(D(2025, 3, 9)) == D(2025, 3, 7)
    assert c.business_days(D(2025, 10, 9), D(2025, 10, 15)) == [
        D(2025, 10, 9),
        D(2025, 10, 10),
        D(2025, 10, 14),
        D(2025, 10, 15),
    ]
    assert c.business_days(D(2025, 10, 15), D(2025, 10, 9)) == []


def test_calendar_shape():
    c = calendar_for("XETR")
    assert isinstance(c, BusinessCalendar)
    assert c.holidays.dtype == np.dtype("datetime64[D]")
    assert (np.diff(c.holidays) > np.timedelta64(0, "D")).all()
    assert np.datetime64("2025-04-18") in c.holidays
    assert calendar_for("XETR") is c  # cached
    with pytest.raises(ValueError, match="outside calendar range"):
        c.is_business_day(D(2050, 1, 3))


# --------------------------------------------------------------------------- #
# Vectorised == scalar
# --------------------------------------------------------------------------- #
def test_settlement_dates_matches_scalar():
    rng = np.random.default_rng(20240528)
    combos = [
        ("XNYS", "equity", None),
        ("XNAS", "equity", "USD"),
        ("XNYS", "option", None),
        ("XNYS", "fund", None),
        ("XOFF", "corporate_bond", "USD"),
        ("XOFF", "government_bond", "USD"),
        ("XOFF", "government_bond", "EUR"),
        ("XOFF", "corporate_bond", "GBP"),
        ("XETR", "equity", "EUR"),
        ("XPAR", "equity", None),
        ("XAMS", "equity", None),
        ("XLON", "equity", None),
        ("XTKS", "equity", None),
    ]
    base = np.datetime64("2024-05-10")
    n = 60
    picks = rng.integers(0, len(combos), n)
    offsets = rng.integers(0, 40, n)  # 2024-05-10 .. 2024-06-18 spans the 2024-05-28 switch
    trades = pd.DataFrame(
        {
            "trade_date": pd.to_datetime(base + offsets.astype("timedelta64[D]")),
            "market": [combos[i][0] for i in picks],
            "asset_class": [combos[i][1] for i in picks],
            "currency": [combos[i][2] for i in picks],
        },
        index=pd.RangeIndex(100, 100 + n),
    )
    trades.loc[100:103, "trade_date"] = pd.to_datetime(["2024-05-24", "2024-05-28", "2024-05-27", "2024-05-25"])
    trades.loc[100:103, ["market", "asset_class", "currency"]] = ["XNYS", "equity", None]
    assert (trades["trade_date"] < "2024-05-28").any() and (trades["trade_date"] >= "2024-05-28").any()

    got = settlement_dates(trades)
    assert got.index.equals(trades.index)
    expected = [
        pd.Timestamp(settlement_date(r.trade_date.date(), r.market, r.asset_class, r.currency))
        for r in trades.itertuples()
    ]
    assert got.tolist() == expected
    assert got.loc[100] == pd.Timestamp("2024-05-29")
    assert got.loc[101] == pd.Timestamp("2024-05-29")


def test_settlement_dates_nat_and_missing_rule():
    trades = pd.DataFrame(
        {"trade_date": pd.to_datetime(["2025-03-07", None]), "market": ["XNYS", "XNYS"], "asset_class": ["equity"] * 2}
    )
    out = settlement_dates(trades)
    assert out.iloc[0] == pd.Timestamp("2025-03-10")
    assert pd.isna(out.iloc[1])
    bad = pd.DataFrame({"trade_date": pd.to_datetime(["2025-03-07"]), "market": ["XTKS"], "asset_class": ["option"]})
    with pytest.raises(ValueError, match="XTKS.*option.*2025-03-07"):
        settlement_dates(bad)


# --------------------------------------------------------------------------- #
# Errors
# --------------------------------------------------------------------------- #
def test_unknown_market_raises():
    with pytest.raises(ValueError, match="XFOO"):
        calendar_for("XFOO")
    with pytest.raises(ValueError, match="XFOO"):
        settlement_date(D(2025, 3, 7), "XFOO")
    with pytest.raises(ValueError, match="XFOO"):
        settlement_dates(pd.DataFrame({"trade_date": [pd.Timestamp("2025-03-07")], "market": ["XFOO"], "asset_class": ["equity"]}))


def test_missing_cycle_rule_and_otc_currency():
    with pytest.raises(ValueError, match=r"XNYS.*'swap'.*2025-03-07"):
        settlement_cycle(D(2025, 3, 7), "XNYS", "swap")
    with pytest.raises(ValueError, match="XNYS.*2010-01-04"):
        settlement_cycle(D(2010, 1, 4), "XNYS", "equity")  # before the encoded history
    with pytest.raises(ValueError, match="currency"):
        settlement_date(D(2025, 3, 7), "XOFF", "government_bond")
    with pytest.raises(ValueError, match="CHF"):
        settlement_date(D(2025, 3, 7), "XOFF", "government_bond", currency="CHF")


def test_reference_tables_load():
    m = cal.markets()
    assert {"XNYS", "XNAS", "XETR", "XPAR", "XAMS", "XLON", "XTKS", "XOFF"} <= set(m.index)
    assert set(m["payment_calendar"]) - {""} == {"FED", "TARGET2", "UK_BANK", "JP_BANK"}
    cyc = cal.settlement_cycles()
    assert set(cyc["asset_class"]) == {"equity", "corporate_bond", "government_bond", "option", "fund"}


def test_business_days_elapsed_over_a_frame_matches_scalar():
    from bo_lib.calendars import business_days_elapsed, settlement_regions

    fails = pd.DataFrame({
        "market": ["XNYS", "XETR", "XOFF", "XOFF", "XNYS"],
        "currency": ["USD", "EUR", "EUR", "USD", "USD"],
        "intended_settlement_date": pd.to_datetime(["2026-10-09", "2026-10-27", "2026-11-03", "2026-10-09", None]),
    })
    ages = business_days_elapsed(fails, "intended_settlement_date", dt.date(2026, 11, 6))
    # XNYS + Fed: Columbus Day 2026-10-12 is not a settlement day; TARGET2 and XETR are open
    assert ages.iloc[:4].tolist() == [19.0, 8.0, 3.0, 19.0]
    assert ages.isna().iloc[4]
    assert ages.iloc[0] == business_days_between(dt.date(2026, 10, 9), dt.date(2026, 11, 6), "XNYS")
    assert settlement_regions(fails).tolist() == ["US", "EU", "EU", "US", "US"]
