"""Filing calendar: due dates on known examples, the rules as data, and what is due soon on the
sample date."""

from __future__ import annotations

import datetime as dt

import pytest

from bo_lib.regulatory import calendar as filing_calendar

SAMPLE_DATE = dt.date(2026, 11, 6)
REGIMES = ["13F", "13D/G", "N-PORT", "FORM_PF", "ADV", "AIFMD", "EU_SHORT"]
# the sample company: MAHF USD 180M (hedge fund), GLBD EUR 260M + MAHF as AIFs = EUR 426M
SAMPLE_FACTS = {"private_fund_aum_usd": 180e6, "hedge_fund_aum_usd": 180e6, "aifm_aum_eur": 425.9e6}


@pytest.mark.parametrize("filing, period_end, due", [
    ("13F-HR", dt.date(2025, 12, 31), dt.date(2026, 2, 17)),   # Sat 02-14, Presidents' Day 02-16
    ("13F-HR", dt.date(2026, 9, 30), dt.date(2026, 11, 16)),   # Sat 11-14 -> Monday
    ("13F-HR", dt.date(2026, 3, 31), dt.date(2026, 5, 15)),    # a Friday: no roll
    ("13F-HR", dt.date(2024, 12, 31), dt.date(2025, 2, 14)),
    ("N-PORT", dt.date(2026, 9, 30), dt.date(2026, 11, 27)),   # Sun 11-29: conservative roll back to Friday
    ("N-PORT", dt.date(2027, 12, 31), dt.date(2028, 1, 28)),   # monthly rule from 2027-11-17: Sun 01-30 -> Fri 01-28
    ("FORM ADV (annual amendment)", dt.date(2026, 12, 31), dt.date(2027, 3, 31)),
    ("FORM PF (annual)", dt.date(2026, 12, 31), dt.date(2027, 4, 30)),
    ("AIFMD ANNEX IV (half-yearly)", dt.date(2026, 12, 31), dt.date(2027, 1, 29)),  # Sun 01-31 -> Fri 01-29
    ("AIFMD ANNEX IV (quarterly)", dt.date(2026, 9, 30), dt.date(2026, 10, 30)),  # Sat 10-31 -> Fri 10-30
])
def test_due_dates_on_known_examples(filing, period_end, due):
    assert filing_calendar.due_date(filing, period_end) == due


def test_rules_are_data_with_their_source():
    rules = filing_calendar.filing_rules()
    assert set(rules["regime"]) == set(REGIMES)
    assert rules["notes"].str.len().gt(40).all()
    assert rules.loc[rules["filing"].eq("13F-HR"), ["due_offset", "due_unit", "roll", "calendar"]].values.tolist() == [
        [45, "calendar_days", "following", "XOFF:USD"]]


def test_size_selects_the_rule():
    def chosen(facts):
        return sorted(filing_calendar.applicable_rules(["FORM_PF", "AIFMD"], facts, SAMPLE_DATE)["filing"])

    assert chosen(SAMPLE_FACTS) == ["AIFMD ANNEX IV (half-yearly)", "FORM PF (annual)"]
    assert chosen({"private_fund_aum_usd": 2e9, "hedge_fund_aum_usd": 2e9, "aifm_aum_eur": 1.5e9}) == [
        "AIFMD ANNEX IV (quarterly)", "FORM PF (annual)", "FORM PF (quarterly)"]
    assert chosen({"private_fund_aum_usd": 50e6, "hedge_fund_aum_usd": 50e6, "aifm_aum_eur": 50e6}) == ["AIFMD ANNEX IV (annual)"]


def test_next_filings_of_the_sample_company_and_what_is_due_soon():
    table = filing_calendar.next_filings(REGIMES, SAMPLE_FACTS, SAMPLE_DATE)
    due = {r.filing: (r.period_end.date(), r.due_date.date()) for r in table.itertuples()}
    assert due == {
        "13F-HR": (dt.date(2026, 9, 30), dt.date(2026, 11, 16)),
        "N-PORT": (dt.date(2026, 9, 30), dt.date(2026, 11, 27)),
        "AIFMD ANNEX IV (half-yearly)": (dt.date(2026, 12, 31), dt.date(2027, 1, 29)),
        "FORM ADV (annual amendment)": (dt.date(2026, 12, 31), dt.date(2027, 3, 31)),
        "FORM PF (annual)": (dt.date(2026, 12, 31), dt.date(2027, 4, 30)),
    }
    soon = filing_calendar.due_soon(table, 10)
    # 2026-11-09, 10, 12, 13, 16 (Veterans Day 11-11 is a federal holiday)
    assert soon[["filing", "business_days_to_due", "rag"]].values.tolist() == [["13F-HR", 5, "amber"]]
