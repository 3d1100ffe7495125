"""Cash reconciliation: the books' cash ledger (expected movements by value date) against what the
bank booked (MT940 / camt.053 statement entries), and the integrity of the statements themselves.

* statement integrity (``bo_lib.data.formats.statement.statement_integrity``): each statement must
  balance and open at the previous statement's closing balance. A statement that does not is an
  exception in the report; its entries are still reconciled (flagged), since dropping them would
  turn one bank error into many false breaks.
* ``reconcile_cash``: grouped matching (``bo_lib.recon.engine.match_groups``) per account, currency
  and reference — our trade / order / event id, which the bank echoes as the customer reference —
  with value dates within ``VALUE_DATE_WINDOW_DAYS`` business days of the payment system's
  calendar, so one bank entry may settle several ledger lines (or several several). Two identical
  entries on one day are two entries: nothing is de-duplicated. Bank entries without our reference
  (``NONREF``: fees, charges) are keyed by the bank's own reference, which is what the books book such
  an item against. The recon is cumulative in effect: what a day leaves unmatched is carried into the
  next (``bo_lib.recon.carried``), so an item stays a break (and ages) until its counterpart moves,
  while a day reads only its own deliveries and the previous day's open items.

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
from bo_lib.codes import UNSETTLED_STATUSES
from bo_lib.data.formats.statement import statement_integrity
from bo_lib.fx import to_base

#: how far (business days) the bank's value date may be from the books' for the two to match
VALUE_DATE_WINDOW_DAYS = 3
NO_REFERENCE = ("", "NONREF")

TIMING = "timing"
MISSING_AT_BANK = "missing at bank"
MISSING_IN_BOOKS = "missing in books"
PRICE_AMOUNT = "price/amount difference"


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

    def open_items(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        """The ledger lines and bank entries not matched today: what the next day starts from."""
        left = self.match.left[self.match.left["group_status"].ne("matched")]
        right = self.match.right[self.match.right["group_status"].ne("matched")]
        return left.reset_index(drop=True), right.reset_index(drop=True)

    def closings(self, previous: pd.DataFrame | None = None) -> pd.DataFrame:
        """Each account's last statement closing after today (today's statement, else the previous one)."""
        today = self.integrity.sort_values(["account", "closing_date"]).drop_duplicates("account", keep="last")
        today = today[["account", "statement_id", "closing_date", "closing_balance"]]
        if previous is None or previous.empty:
            return today.reset_index(drop=True)
        kept = previous[~previous["account"].isin(today["account"])]
        return pd.concat([kept, today], ignore_index=True)


def bank_entries(entries: pd.DataFrame, integrity: pd.DataFrame) -> pd.DataFrame:
    """Statement entries keyed for matching: ``reference`` is the customer reference (our id) or,
    for entries without one, the bank's own reference (what the books book a bank charge against);
    ``statement_ok`` flags entries of a statement that failed its integrity check (an entry carried
    from an earlier day keeps the flag it had)."""
    ref = entries["customer_reference"].fillna("").str.strip()
    keyed = entries.assign(reference=ref.where(~ref.isin(NO_REFERENCE), entries["bank_reference"].fillna("")))
    bad = integrity.loc[integrity["integrity"] != "ok"]
    failed = pd.MultiIndex.from_arrays([bad["account"], bad["statement_id"], pd.to_datetime(bad["delivery_date"])])
    mine = pd.MultiIndex.from_arrays([keyed["account"], keyed["statement_id"], pd.to_datetime(keyed["delivery_date"])])
    fresh = ~mine.isin(failed)
    keyed["statement_ok"] = np.where(keyed["statement_ok"].notna(), keyed["statement_ok"], fresh) if "statement_ok" in keyed else fresh
    keyed["statement_ok"] = keyed["statement_ok"].astype(bool)
    return keyed


def unsettled_trades(status: pd.DataFrame, as_of: dt.date) -> pd.DataFrame:
    """Trades the custodian reports pending, failing or partially settled on ``as_of``."""
    rows = status[status["settlement_status"].isin(UNSETTLED_STATUSES) & (status["intended_settlement_date"] <= pd.Timestamp(as_of))]
    return rows[["client_reference", "settlement_status", "reason_code", "quantity", "settled_quantity", "settled_amount"]]


def reconcile_cash(ledger: pd.DataFrame, entries: pd.DataFrame, statements: pd.DataFrame, status: pd.DataFrame, fx_rates: pd.DataFrame, *,
                   business_date: dt.date, base_currency: str, amount_tolerance: float, opening_date: dt.date,
                   window_days: int = VALUE_DATE_WINDOW_DAYS, carried=None) -> CashRecon:
    """Books cash ledger vs bank statement entries on ``business_date``.

    ``ledger``: the day's cash_ledger lines of the fund; ``entries`` and ``statements``: the day's
    statement entries and statements (with ``delivery_date``); ``status``: the day's settlement
    status feed; ``carried`` (``bo_lib.recon.carried.Carried``): the ledger lines and bank entries
    earlier days left open, and each account's last closing. A carried item is open today: it
    groups with today's items of its key whatever its own value date (a fail that settles late, a
    withholding refund, a bank charge the books book the next day), while today's items group within
    ``window_days`` business days of each other.
    """
    day = pd.Timestamp(business_date)
    previous = dict(zip(carried.closings["account"], carried.closings["closing_balance"])) if carried is not None else {}
    integrity = statement_integrity(statements.sort_values(["account", "delivery_date"], kind="stable"), previous)
    today_books = ledger[ledger["value_date"] <= day].assign(window_date=lambda t: t["value_date"], carried=False)
    today_bank = bank_entries(entries[entries["delivery_date"] <= day].drop(columns=["statement_ok"], errors="ignore"), integrity)
    today_bank = today_bank.assign(window_date=today_bank["value_date"], carried=False)
    books, bank = today_books, today_bank
    if carried is not None and (len(carried.books) or len(carried.bank)):
        old_bank = bank_entries(carried.bank, integrity.iloc[0:0]) if len(carried.bank) else carried.bank.assign(reference=pd.Series(dtype="str"))
        books = pd.concat([carried.books.assign(window_date=day, carried=True), today_books], ignore_index=True)
        bank = pd.concat([old_bank.assign(window_date=day, carried=True), today_bank], ignore_index=True)
    currencies = sorted(set(books["currency"]) | set(bank["currency"]))
    calendar_of = {c: calendars.calendar_for("XOFF", c) for c in currencies}
    match = match_groups(books[["account", "currency", "reference", "value_date", "window_date", "amount", "movement_type", "description", "carried"]],
                         bank[["account", "currency", "reference", "value_date", "window_date", "booking_date", "amount", "transaction_code",
                               "customer_reference", "bank_reference", "description", "statement_id", "delivery_date", "statement_ok", "carried"]],
                         keys=["account", "currency", "reference"], amount="amount", date="window_date",
                         tolerance=Tolerance(abs=amount_tolerance), window_days=window_days,
                         business_day_number=business_day_numbers(calendar_of, "currency", "window_date", opening_date))
    groups = match.groups.copy()
    first_value = pd.concat([match.left[["group_id", "value_date"]], match.right[["group_id", "value_date"]]]).groupby("group_id")["value_date"].min()
    groups["first_date"] = pd.to_datetime(first_value.reindex(groups["group_id"]).to_numpy()).astype("datetime64[ns]")
    unsettled = unsettled_trades(status, business_date).set_index("client_reference")
    pending = groups["reference"].isin(unsettled.index)
    groups["settlement_status"] = groups["reference"].map(unsettled["settlement_status"]).fillna("")
    groups["classification"] = np.select(
        [groups["status"].eq("matched"), pending, groups["status"].eq("missing_right"), groups["status"].eq("missing_left")],
        ["", TIMING, MISSING_AT_BANK, MISSING_IN_BOOKS], default=PRICE_AMOUNT)
    groups["break_value_base"] = to_base(groups["amount_diff"].abs(), groups["currency"], fx_rates, base_currency).where(
        groups["status"].ne("matched"), 0.0)
    unbalanced = match.right.loc[~match.right["statement_ok"].astype(bool), "group_id"]
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
