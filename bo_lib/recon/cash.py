"""Cash reconciliation: the books' cash ledger (expected movements by value date) against what the
bank booked (MT940 / camt.053 statement entries), and the integrity of the statements themselves.

* ``statement_integrity``: each statement must balance (opening + entries = closing, summed
  exactly) and open at the previous statement's closing balance for the account. A statement that
  does not is an exception in the report; its entries are still reconciled (flagged), since
  dropping them would turn one bank error into many false breaks.
* ``reconcile_cash``: grouped matching (``bo_lib.recon.engine.match_groups``) per account, currency
  and reference — our trade / order / event id, which the bank echoes as the customer reference —
  with value dates within ``VALUE_DATE_WINDOW_DAYS`` business days of the payment system's
  calendar, so one bank entry may settle several ledger lines (or several several). Two identical
  entries on one day are two entries: nothing is de-duplicated. Bank entries without our reference
  (``NONREF``: fees, charges) are keyed by the bank's own reference. The recon is cumulative from
  the opening: every ledger line due up to the business date against every entry booked up to it,
  so an item stays a break (and ages) until it moves.

Classification: ``timing`` when the reference is a trade the custodian reports as not (fully)
settled, ``missing at bank`` (in the books only), ``missing in books`` (on the statement only),
``price/amount difference`` (both, amounts differ). Pure functions over DataFrames.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from bo_lib import calendars
from bo_lib.recon.engine import GroupMatch, Tolerance, business_day_numbers, match_groups
from bo_lib.recon.positions import UNSETTLED_STATUSES, to_base

#: how far (business days) the bank's value date may be from the books' for the two to match
VALUE_DATE_WINDOW_DAYS = 3
NO_REFERENCE = ("", "NONREF")
BALANCE_TOLERANCE = 0.005  # statement totals are exact decimals; anything at or above half a cent is real

TIMING = "timing"
MISSING_AT_BANK = "missing at bank"
MISSING_IN_BOOKS = "missing in books"
PRICE_AMOUNT = "price/amount difference"


def statement_integrity(statements: pd.DataFrame) -> pd.DataFrame:
    """Per statement (rows in delivery order): does it balance, and does it open at the previous
    statement's closing balance for its account? Adds ``balances``, ``previous_closing``,
    ``chain_break``, ``chain_difference``, ``integrity`` (ok / does not balance / chain broken /
    both) and ``rag``. ``difference`` (closing - opening - entries) is expected from the parser's
    exact totals; it is recomputed when absent."""
    table = statements.reset_index(drop=True).copy()
    if "difference" not in table:
        table["difference"] = table["closing_balance"] - table["opening_balance"] - table["entries_total"]
    table["difference"] = table["difference"].astype("float64").round(2)
    table["balances"] = table["difference"].abs().lt(BALANCE_TOLERANCE)
    table["previous_closing"] = table.groupby("account", sort=False)["closing_balance"].shift()
    table["chain_difference"] = (table["opening_balance"] - table["previous_closing"]).round(2)
    table["chain_break"] = table["chain_difference"].abs().ge(BALANCE_TOLERANCE).fillna(False).astype(bool)
    table["integrity"] = np.select([~table["balances"] & table["chain_break"], ~table["balances"], table["chain_break"]],
                                   ["does not balance; chain broken", "does not balance", "chain broken"], default="ok")
    table["rag"] = np.where(table["integrity"].eq("ok"), "green", "red")
    return table


@dataclass
class CashRecon:
    business_date: dt.date
    match: GroupMatch  # every ledger line (left) and bank entry (right) with its group
    groups: pd.DataFrame  # one row per group: keys, dates, totals, status, classification, value in base currency
    integrity: pd.DataFrame  # the business date's statements (and any earlier one that breaks)

    @property
    def breaks(self) -> pd.DataFrame:
        return self.groups[self.groups["status"] != "matched"].reset_index(drop=True)

    def entries_behind(self, group_id: int) -> pd.DataFrame:
        """The ledger lines and bank entries of one group (what an analyst drills into)."""
        books = self.match.left[self.match.left["group_id"] == group_id].assign(side="books")
        bank = self.match.right[self.match.right["group_id"] == group_id].assign(side="bank")
        cols = ["side", "account", "currency", "reference", "value_date", "amount", "description"]
        return pd.concat([books.reindex(columns=cols), bank.reindex(columns=cols)], ignore_index=True)


def bank_entries(entries: pd.DataFrame, integrity: pd.DataFrame) -> pd.DataFrame:
    """Statement entries keyed for matching: ``reference`` is the customer reference (our id) or,
    for entries without one, ``NONREF:<bank reference>``; ``statement_ok`` flags entries of a
    statement that failed its integrity check."""
    ref = entries["customer_reference"].fillna("").str.strip()
    keyed = entries.assign(reference=ref.where(~ref.isin(NO_REFERENCE), "NONREF:" + entries["bank_reference"].fillna("")))
    bad = integrity.loc[integrity["integrity"] != "ok"]
    failed = pd.MultiIndex.from_arrays([bad["account"], bad["statement_id"], pd.to_datetime(bad["delivery_date"])])
    mine = pd.MultiIndex.from_arrays([keyed["account"], keyed["statement_id"], pd.to_datetime(keyed["delivery_date"])])
    keyed["statement_ok"] = ~mine.isin(failed)
    return keyed


def unsettled_trades(status: pd.DataFrame, as_of: dt.date) -> pd.DataFrame:
    """Trades the custodian reports pending, failing or partially settled on ``as_of``."""
    rows = status[status["settlement_status"].isin(UNSETTLED_STATUSES) & (status["intended_settlement_date"] <= pd.Timestamp(as_of))]
    return rows[["client_reference", "settlement_status", "reason_code", "quantity", "settled_quantity", "settled_amount"]]


def reconcile_cash(ledger: pd.DataFrame, entries: pd.DataFrame, statements: pd.DataFrame, status: pd.DataFrame, fx_rates: pd.DataFrame, *,
                   business_date: dt.date, base_currency: str, amount_tolerance: float, opening_date: dt.date,
                   window_days: int = VALUE_DATE_WINDOW_DAYS) -> CashRecon:
    """Books cash ledger vs bank statement entries up to ``business_date``.

    ``ledger``: the cash_ledger lines of the fund (all delivered up to the date); ``entries`` and
    ``statements``: every statement entry / statement delivered up to the date (with
    ``delivery_date``); ``status``: the settlement_status feed of the date.
    """
    day = pd.Timestamp(business_date)
    integrity_all = statement_integrity(statements.sort_values(["account", "delivery_date"], kind="stable"))
    integrity = integrity_all[integrity_all["delivery_date"] == day].reset_index(drop=True)
    books = ledger[ledger["value_date"] <= day].reset_index(drop=True)
    bank = bank_entries(entries[entries["delivery_date"] <= day], integrity_all)
    currencies = sorted(set(books["currency"]) | set(bank["currency"]))
    calendar_of = {c: calendars.calendar_for("XOFF", c) for c in currencies}
    match = match_groups(books[["account", "currency", "reference", "value_date", "amount", "movement_type", "description"]],
                         bank[["account", "currency", "reference", "value_date", "booking_date", "amount", "transaction_code",
                               "bank_reference", "description", "statement_id", "delivery_date", "statement_ok"]],
                         keys=["account", "currency", "reference"], amount="amount", date="value_date",
                         tolerance=Tolerance(abs=amount_tolerance), window_days=window_days,
                         business_day_number=business_day_numbers(calendar_of, "currency", "value_date", opening_date))
    groups = match.groups.copy()
    unsettled = unsettled_trades(status, business_date).set_index("client_reference")
    pending = groups["reference"].isin(unsettled.index)
    groups["settlement_status"] = groups["reference"].map(unsettled["settlement_status"]).fillna("")
    groups["classification"] = np.select(
        [groups["status"].eq("matched"), pending, groups["status"].eq("missing_right"), groups["status"].eq("missing_left")],
        ["", TIMING, MISSING_AT_BANK, MISSING_IN_BOOKS], default=PRICE_AMOUNT)
    groups["break_value_base"] = to_base(groups["amount_diff"].abs(), groups["currency"], fx_rates, base_currency).where(
        groups["status"].ne("matched"), 0.0)
    unbalanced = match.right.loc[~match.right["statement_ok"], "group_id"]
    groups["from_failed_statement"] = groups["group_id"].isin(unbalanced)
    groups["detail"] = _details(groups, match)
    return CashRecon(business_date, match, groups, integrity)


def _details(groups: pd.DataFrame, match: GroupMatch) -> pd.Series:
    text = pd.Series("", index=groups.index, dtype="object")
    descriptions = pd.concat([match.left[["group_id", "description"]], match.right[["group_id", "description"]]])
    first_text = descriptions.groupby("group_id")["description"].first()
    for i in np.flatnonzero(groups["classification"].ne("").to_numpy()):  # breaks only
        row = groups.iloc[i]
        what = first_text.get(row["group_id"], "")
        c = row["classification"]
        if c == TIMING:
            moved = "" if pd.isna(row["amount_right"]) else f", the bank moved {row['amount_right']:,.2f}"
            text.iat[i] = f"{what}: trade {row['settlement_status']} at the custodian; books expect {row['amount_left']:,.2f}{moved}"
        elif c == MISSING_AT_BANK:
            text.iat[i] = f"{what}: books expect {row['amount_left']:,.2f} on {row['first_date']:%Y-%m-%d}, not on the statement"
        elif c == MISSING_IN_BOOKS:
            text.iat[i] = f"{what}: the bank booked {row['amount_right']:,.2f}, the books have nothing"
        else:
            text.iat[i] = f"{what}: books {row['amount_left']:,.2f}, bank {row['amount_right']:,.2f} ({row['amount_diff']:+,.2f})"
    return text
