"""Whether a NAV may be final: the input it was struck on, and the delivery days before it.

A NAV struck while a file it reads breaks its contract, or while a business day's deliveries are
missing from the books, is **provisional**: it is stored (the books must roll on) but marked, shown
red, never closed and never the baseline a later strike is compared with for a restatement.

What counts against a fund's NAV of a day:

* any violation of the fund's own rows in the files the books read (trades, capital orders, the
  cash ledger), and any file of the day the books read that was due and not delivered;
* a violation of a shared file (prices, FX, corporate actions, the securities master) when the row
  concerns the fund: a security the fund holds (or an identifier that is itself corrupt, which
  could be anyone's), a currency the fund holds (or a corrupt code); a problem of such a file as a
  whole (a missing column, an unreadable file) concerns every fund;
* each business day of the delivery calendar since the opening with no deliveries at all: the
  books after it are incomplete until the day is delivered (and then struck again).
"""

from __future__ import annotations

import datetime as dt


from bo_lib.calendars import BusinessCalendar
from bo_lib.codes import CURRENCIES
from bo_lib.data.catalogue import Catalogue
from bo_lib.data.errors import Violation
from bo_lib.data.layout import INBOUND_FILES, REFERENCE_FILES

#: the market whose sessions the feeds arrive on, unless the schedule says otherwise
DELIVERY_CALENDAR = "XNYS"
#: the files whose rows become the books' figures (the administrator's NAV is a control, not an input)
BOOK_DATASETS = ("trades", "capital_activity", "cash_ledger", "corporate_actions", "fx_rates", "prices")
_BY_SECURITY = ("prices", "corporate_actions", "securities")


def input_problems(catalogue: Catalogue, fund: str, day: dt.date, held: set[str], currencies: set[str]) -> list[str]:
    """Why ``fund``'s NAV of ``day`` is provisional on account of its input (empty: it is not)."""
    violations = catalogue.violations(fund=fund, on=day, datasets=BOOK_DATASETS, reference=True, expected=True)
    if not violations:
        return []
    shared = [v for v in violations if v.fund is None and v.line is not None and v.line >= 2]
    rows = _held_rows(catalogue, day, {_dataset_of(v.file) for v in shared}) if shared else {}
    securities = set(catalogue.rows("securities")["security_id"]) if shared else set()
    concerned = [v for v in violations if v.fund is not None or v.line is None or v.line < 2
                 or _concerns(rows.get((v.file, v.line)), held, currencies, securities)]
    return [_describe(v) for v in concerned]


def missing_delivery_days(calendar: BusinessCalendar, delivered: set[dt.date], after: dt.date, up_to: dt.date) -> list[dt.date]:
    """Business days of the delivery calendar after ``after`` and before ``up_to`` with no delivery."""
    days, day = [], calendar.add_business_days(after, 1)
    while day < up_to:
        if day not in delivered:
            days.append(day)
        day = calendar.add_business_days(day, 1)
    return days


def _dataset_of(file: str) -> str | None:
    name = file.rsplit("/", 1)[-1]
    for dataset, file_name in (INBOUND_FILES | REFERENCE_FILES).items():
        if file_name == name:
            return dataset
    return None


def _held_rows(catalogue: Catalogue, day: dt.date, datasets: set[str | None]) -> dict[tuple[str, int], dict]:
    """(file, line) -> the held-out row, for the shared files of the day with violations."""
    out = {}
    for dataset in sorted(d for d in datasets if d is not None):
        frame = catalogue.rows(dataset, held_out=True) if dataset in REFERENCE_FILES else catalogue.rows(dataset, on=day, held_out=True)
        prefix = f"reference/{REFERENCE_FILES[dataset]}" if dataset in REFERENCE_FILES else f"inbound/{day.isoformat()}/{INBOUND_FILES[dataset]}"
        for row in frame.to_dict("records"):
            out[(prefix, int(row["source_line"]))] = row | {"_dataset": dataset}
    return out


def _concerns(row: dict | None, held: set[str], currencies: set[str], securities: set[str]) -> bool:
    """Does a held-out row of a shared file concern the fund? (Unknown: yes.)"""
    if row is None:
        return True
    if row["_dataset"] in _BY_SECURITY:
        security = str(row.get("security_id") or "")
        return security in held or security not in securities
    if row["_dataset"] == "fx_rates":
        pair = {str(row.get("from_currency") or ""), str(row.get("to_currency") or "")}
        return bool(pair & currencies) or not pair <= CURRENCIES
    return True


def _describe(v: Violation) -> str:
    where = f"line {v.line}" if v.line is not None else "file"
    column = f", {v.column}" if v.column else ""
    return f"{v.file} {where}{column}: {v.rule}"


def provisional_reasons(problems: list[str], missing_days: list[dt.date]) -> list[str]:
    """One list of why a NAV is provisional, missing days first (they make every later NAV so)."""
    gap = [f"books incomplete: no deliveries for business day(s) {', '.join(d.isoformat() for d in missing_days)}"] if missing_days else []
    return gap + [f"struck on input with a violation: {p}" for p in problems]


def held_currencies(state, base_currency: str) -> set[str]:
    """The currencies a fund's NAV converts: its base, its cash's and its holdings' (valued in them)."""
    found = {base_currency}
    if state is not None:
        for frame in (state.cash, state.valuation):
            if "currency" in frame:
                found |= set(frame["currency"].dropna().astype(str))
    return found


__all__ = ["BOOK_DATASETS", "DELIVERY_CALENDAR", "held_currencies", "input_problems", "missing_delivery_days", "provisional_reasons"]
