"""Cash in the NAV: per cash account, the books' cash at the bank (the NAV's cash line) against the
closing balance of the latest bank statement (MT940 / camt.053) delivered for the account, and the
reconciling items between the two, each with its effect on the NAV.

The items are traced per account and reference over the books' ledger lines and the bank's
statement entries delivered since the start of the window (the NAV's history window): a
reference on which the books and the bank differ is an item (the bank's own reference for an
entry without ours, as the cash recon keys it). ``amount`` = books - bank, so that

    book cash - reconciling items = bank balance        (the check row of each account)

Classification and NAV effect (``nav_effect`` = what the NAV moves by once the books agree with the
bank; in the account's currency, then in base and per share of each class):

* ``unbooked bank charge``: on the statement (a debit without our reference, a charge code), not
  in the books: the NAV is overstated until it is booked, NAV effect = -amount;
* ``failed-trade cash``: a trade the custodian reports pending, failing or partially settled. The
  books' ledger takes a trade's cash on its contractual settlement date (and the receivable or
  payable leaves the balance sheet that day); the bank has not moved it. The fund is still owed
  (or still owes) the amount: a timing item, NAV effect 0;
* ``withholding tax above treaty``: a cash dividend paid net of more withholding than the fund's
  treaty rate (the books expect the treaty rate): the excess is a reclaim receivable, not cash.
  NAV effect 0: the fund is owed it by the tax authority under the treaty. When the books already
  hold it as cash (the dividend's income is no longer open), the cash line is overstated and a
  reclaim receivable of the same amount is missing: amber until booked; green while the books
  still hold the dividend as income receivable;
* ``unexplained difference``: anything else (a reference the books and the bank disagree on for no
  known cause, a difference not traced to any entry of the window: brought forward from before it,
  or a statement that does not chain). NAV effect -amount if the bank is right; red.

Pure functions over DataFrames (``cash_in_nav``); ``summary_line`` is the NAV summary's line.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from bo_lib.codes import UNSETTLED_STATUSES
from bo_lib.nav.controls import per_share_of_pool
from bo_lib.rag import AMBER, GREEN, RED

UNBOOKED_CHARGE = "unbooked bank charge"
FAILED_TRADE = "failed-trade cash"
WHT_EXCESS = "withholding tax above treaty"
UNEXPLAINED = "unexplained difference"
CLASSIFICATIONS = (UNBOOKED_CHARGE, FAILED_TRADE, WHT_EXCESS, UNEXPLAINED)

#: a customer reference that is no reference (the bank's own entries: fees, charges)
NO_REFERENCE = ("", "NONREF")
#: below this (in the account's currency) books and bank agree
TOLERANCE = 0.005

ACCOUNT_COLUMNS = ["account", "currency", "book_cash", "statement_id", "statement_date", "bank_balance", "difference", "reconciling_items",
                   "book_cash_less_items", "untraced", "ties", "rate_to_base", "book_cash_base", "bank_balance_base", "nav_effect_base",
                   "rag", "detail"]
ITEM_COLUMNS = ["account", "currency", "reference", "value_date", "books_amount", "bank_amount", "amount", "classification", "nav_effect",
                "nav_effect_base", "rag", "detail"]


@dataclass
class CashInNav:
    business_date: dt.date
    accounts: pd.DataFrame  # one row per cash account: book cash, latest bank balance, the check (book cash - items = bank)
    items: pd.DataFrame  # one row per reconciling item, with per_share_<class> columns

    @property
    def nav_effect_base(self) -> float:
        return float(self.items["nav_effect_base"].sum()) if len(self.items) else 0.0


def is_charge(transaction_code: str) -> bool:
    """A bank's charge or commission (SWIFT NCHG / NCOM, a camt domain code ending in CHRG / COMM)."""
    code = (transaction_code or "").upper()
    return code.endswith(("CHG", "CHRG", "COM", "COMM"))


def latest_statements(statements: pd.DataFrame) -> pd.DataFrame:
    """Per account, the latest statement delivered (by closing date, then delivery): its id, date and closing balance."""
    cols = ["account", "statement_id", "statement_date", "bank_balance", "balances"]
    if statements.empty:
        return pd.DataFrame(columns=cols)
    latest = statements.sort_values(["account", "closing_date", "delivery_date"], kind="stable").drop_duplicates("account", keep="last")
    return latest.rename(columns={"closing_date": "statement_date", "closing_balance": "bank_balance"})[cols].reset_index(drop=True)


def _with(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """``frame`` with every column a read can lack when nothing was delivered (an empty frame of no shape)."""
    missing = [c for c in columns if c not in frame]
    return frame.reindex(columns=list(frame.columns) + missing) if missing else frame


def _keyed_bank(entries: pd.DataFrame) -> pd.DataFrame:
    ref = entries["customer_reference"].fillna("").astype(str).str.strip()
    own = ref.isin(NO_REFERENCE)
    return entries.assign(reference=ref.where(~own, entries["bank_reference"].fillna("").astype(str)), own_reference=own)


def cash_in_nav(book_cash: pd.DataFrame, statements: pd.DataFrame, entries: pd.DataFrame, ledger: pd.DataFrame, status: pd.DataFrame,
                events: pd.DataFrame, securities: pd.DataFrame, withholding_tax_pct: dict[str, float], open_income: pd.DataFrame,
                fx: pd.DataFrame, class_nav: pd.DataFrame, *, business_date: dt.date, base_currency: str) -> CashInNav:
    """The cash in the NAV of ``business_date`` against the bank (see the module doc).

    ``book_cash``: the books' closing cash per account (account, currency, balance); ``statements``
    and ``entries``: the fund's statements and their entries delivered in the window;
    ``ledger``: the books' cash-ledger lines delivered in the same window; ``status``: the day's
    settlement status feed; ``events``: the corporate actions the references name (event_id,
    event_type, security_id); ``open_income``: the books' income receivable at the close
    (event_id); ``fx``: currency, rate_to_base on the day; ``class_nav``: the day's class rows
    (share_class, units_outstanding, net_assets_before_dealing) for the per-share effects.
    """
    book_cash, statements, entries, ledger, status, events, open_income = (_with(f, c) for f, c in (
        (book_cash, ["account", "currency", "balance"]),
        (statements, ["account", "currency", "statement_id", "closing_date", "closing_balance", "balances", "delivery_date"]),
        (entries, ["account", "currency", "value_date", "amount", "transaction_code", "customer_reference", "bank_reference", "description",
                   "delivery_date"]),
        (ledger, ["account", "currency", "value_date", "amount", "movement_type", "reference", "description", "delivery_date"]),
        (status, ["client_reference", "settlement_status", "reason_code", "intended_settlement_date"]),
        (events, ["event_id", "event_type", "security_id"]), (open_income, ["event_id"])))
    day = pd.Timestamp(business_date)
    rates = dict(zip(fx["currency"], fx["rate_to_base"].astype(float))) | {base_currency: 1.0}
    bank = _keyed_bank(entries[pd.to_datetime(entries["delivery_date"]) <= day]) if len(entries) else _keyed_bank(entries)
    books = ledger[pd.to_datetime(ledger["delivery_date"]) <= day] if len(ledger) else ledger
    keys = ["account", "currency", "reference"]
    b = books.groupby(keys, as_index=False).agg(books_amount=("amount", "sum"), books_date=("value_date", "min"),
                                                books_text=("description", "first"), movement_type=("movement_type", "first"))
    s = bank.groupby(keys, as_index=False).agg(bank_amount=("amount", "sum"), bank_date=("value_date", "min"), bank_text=("description", "first"),
                                               transaction_code=("transaction_code", "first"), own_reference=("own_reference", "all"))
    both = b.astype({k: "object" for k in keys}).merge(s.astype({k: "object" for k in keys}), on=keys, how="outer")
    for col in ("books_amount", "bank_amount"):
        both[col] = both[col].astype("float64").fillna(0.0)
    both["amount"] = (both["books_amount"] - both["bank_amount"]).round(2)
    items = both[both["amount"].abs() > TOLERANCE].copy()
    items["value_date"] = pd.to_datetime(items["books_date"].fillna(items["bank_date"])).astype("datetime64[ns]")
    classified = [_classify(r, status, events, securities, withholding_tax_pct, open_income) for r in items.itertuples()]
    items["classification"] = [c[0] for c in classified]
    items["nav_effect"] = [c[1] for c in classified]
    items["detail"] = [c[2] for c in classified]
    items = items[["account", "currency", "reference", "value_date", "books_amount", "bank_amount", "amount", "classification", "nav_effect",
                   "detail"]]

    latest = latest_statements(statements)
    accounts = book_cash.groupby(["account", "currency"], as_index=False)["balance"].sum().rename(columns={"balance": "book_cash"})
    accounts = accounts.merge(latest, on="account", how="outer")
    accounts["currency"] = accounts["currency"].fillna(accounts["account"].map(
        statements.drop_duplicates("account").set_index("account")["currency"]) if len(statements) else "")
    accounts["book_cash"] = accounts["book_cash"].astype("float64").fillna(0.0)
    traced = items.groupby("account")["amount"].sum()
    accounts["difference"] = (accounts["book_cash"] - accounts["bank_balance"].astype("float64")).round(2)
    accounts["reconciling_items"] = accounts["account"].map(traced).fillna(0.0).round(2)
    accounts["book_cash_less_items"] = (accounts["book_cash"] - accounts["reconciling_items"]).round(2)
    accounts["untraced"] = (accounts["difference"] - accounts["reconciling_items"]).round(2)
    # what no entry of the window explains is an item of its own (unexplained), so that the items add up to the difference
    rest = accounts[accounts["untraced"].abs() > TOLERANCE]
    untraced = pd.DataFrame({
        "account": rest["account"], "currency": rest["currency"], "reference": "", "value_date": pd.NaT, "books_amount": np.nan,
        "bank_amount": np.nan, "amount": rest["untraced"], "classification": UNEXPLAINED, "nav_effect": -rest["untraced"],
        "detail": [_untraced_detail(r) for r in rest.itertuples()]})
    missing = accounts[accounts["bank_balance"].isna()]
    no_statement = pd.DataFrame({
        "account": missing["account"], "currency": missing["currency"], "reference": "", "value_date": pd.NaT, "books_amount": np.nan,
        "bank_amount": np.nan, "amount": np.nan, "classification": UNEXPLAINED, "nav_effect": np.nan,
        "detail": "no bank statement delivered for the account in the window: the books' cash is not confirmed by the bank"})
    extra = [f for f in (untraced, no_statement) if len(f)]
    if extra:
        items = pd.concat([items, *extra], ignore_index=True) if len(items) else pd.concat(extra, ignore_index=True)
    items["value_date"] = pd.to_datetime(items["value_date"]).astype("datetime64[ns]")
    rate = items["currency"].map(rates).astype("float64")
    items["nav_effect_base"] = (items["nav_effect"].astype("float64") * rate).round(2)
    to_reclassify = items["classification"].eq(WHT_EXCESS) & ~items["detail"].astype(str).str.contains("hold it as a receivable", regex=False)
    items["rag"] = np.select([items["classification"].eq(UNEXPLAINED), items["nav_effect_base"].abs() > TOLERANCE, to_reclassify],
                             [RED, AMBER, AMBER], default=GREEN)
    order = {c: i for i, c in enumerate(CLASSIFICATIONS)}
    items = items.assign(_order=items["classification"].map(order)).sort_values(["account", "_order", "reference"], kind="stable")
    items = items.drop(columns="_order")[ITEM_COLUMNS].reset_index(drop=True)
    items = _per_share(items, class_nav, day)

    accounts["ties"] = accounts["untraced"].abs().le(TOLERANCE) & accounts["bank_balance"].notna()
    accounts["rate_to_base"] = accounts["currency"].map(rates).astype("float64")
    accounts["book_cash_base"] = (accounts["book_cash"] * accounts["rate_to_base"]).round(2)
    accounts["bank_balance_base"] = (accounts["bank_balance"].astype("float64") * accounts["rate_to_base"]).round(2)
    accounts["nav_effect_base"] = accounts["account"].map(items.groupby("account")["nav_effect_base"].sum()).fillna(0.0).round(2)
    worst = items.groupby("account")["rag"].agg(lambda r: RED if (r == RED).any() else AMBER if (r == AMBER).any() else GREEN)
    accounts["rag"] = accounts["account"].map(worst).fillna(GREEN)
    accounts["detail"] = [_account_detail(r) for r in accounts.itertuples()]
    return CashInNav(business_date, accounts[ACCOUNT_COLUMNS].sort_values("account").reset_index(drop=True), items)


def _per_share(items: pd.DataFrame, class_nav: pd.DataFrame, day: pd.Timestamp) -> pd.DataFrame:
    """Each item's NAV effect per share of every class (shared by class assets, as the day's result is)."""
    today = class_nav[pd.to_datetime(class_nav["nav_date"]).eq(day)].reset_index(drop=True) if len(class_nav) else class_nav
    per_unit = per_share_of_pool(today, pd.Series(1.0, index=today.index)) if len(today) else pd.Series(dtype="float64")
    for share_class, unit in zip(today.get("share_class", []), per_unit):
        items[f"per_share_{share_class}"] = (items["nav_effect_base"] * unit).round(6)
    return items


def _classify(r, status: pd.DataFrame, events: pd.DataFrame, securities: pd.DataFrame, withholding_tax_pct: dict[str, float],
              open_income: pd.DataFrame) -> tuple[str, float, str]:
    """(classification, NAV effect in the account's currency, detail) of one traced item."""
    books_amount, bank_amount, amount = float(r.books_amount), float(r.bank_amount), float(r.amount)
    unsettled = status[status["settlement_status"].isin(UNSETTLED_STATUSES) & status["client_reference"].eq(r.reference)] if len(status) else status
    if len(unsettled):
        s = unsettled.iloc[-1]
        isd = pd.Timestamp(s["intended_settlement_date"])
        reason = f", reason {s['reason_code']}" if isinstance(s.get("reason_code"), str) and s.get("reason_code") else ""
        moved = f"; the bank moved {bank_amount:,.2f} (the settled part)" if abs(bank_amount) > TOLERANCE else "; the bank has not moved it"
        owed = (f"the counterparty still owes the fund {amount:,.2f}: in substance a receivable" if amount > 0 else
                f"the fund still owes the counterparty {-amount:,.2f}: in substance a payable")
        detail = (f"trade {r.reference} {s['settlement_status']} at the custodian{reason}: the books took its cash {books_amount:,.2f} on the "
                  f"contractual settlement date {isd:%Y-%m-%d}{moved}; {owed}, a timing item with no NAV effect")
        return FAILED_TRADE, 0.0, detail
    if abs(books_amount) <= TOLERANCE and bank_amount < 0 and bool(r.own_reference) and is_charge(r.transaction_code):
        detail = (f"{r.bank_text or 'bank charge'} ({r.transaction_code}, bank reference {r.reference}): on the statement, not in the "
                  f"books; the NAV is overstated by {amount:,.2f} until it is booked")
        return UNBOOKED_CHARGE, -amount, detail
    event = events[events["event_id"].eq(r.reference)] if len(events) else events
    if len(event) and event["event_type"].iloc[-1] == "DVCA" and books_amount > 0 and 0 < bank_amount < books_amount:
        ev = event.iloc[-1]
        country = securities.set_index("security_id")["country"].get(ev["security_id"], "")
        treaty = float(withholding_tax_pct.get(country, 0.0))
        gross = books_amount / (1 - treaty / 100) if treaty < 100 else np.nan
        charged = (1 - bank_amount / gross) * 100 if gross else np.nan
        held = len(open_income) and open_income["event_id"].eq(r.reference).any()
        effect = 0.0  # a reclaim receivable of the same amount: the NAV is right, the cash line is not
        where = ("the books hold it as a receivable: no NAV effect" if held else
                 f"the books hold it as cash the bank does not have: book {amount:,.2f} as a withholding-tax reclaim receivable "
                 f"(cash overstated by it, NAV unchanged)")
        detail = (f"dividend {r.reference} on {ev['security_id']} ({country}) paid net of {charged:.3f}% withholding, the books at the "
                  f"{treaty:g}% treaty rate: the excess {amount:,.2f} is reclaimable from the tax authority, not cash; {where}")
        return WHT_EXCESS, effect, detail
    if abs(bank_amount) <= TOLERANCE:
        what = f"the books expect {books_amount:,.2f}, not on the statement"
    elif abs(books_amount) <= TOLERANCE:
        what = f"the bank booked {bank_amount:,.2f}, the books have nothing"
    else:
        what = f"books {books_amount:,.2f}, bank {bank_amount:,.2f}"
    text = r.books_text if isinstance(r.books_text, str) and r.books_text else r.bank_text if isinstance(r.bank_text, str) else ""
    detail = (f"{text + ': ' if text else ''}{what} (reference {r.reference or 'none'}): no known cause; "
              f"the NAV moves by {-amount:+,.2f} if the bank is right")
    return UNEXPLAINED, -amount, detail


def _untraced_detail(r) -> str:
    text = f"book cash - traced items differs from the bank balance by {r.untraced:+,.2f}: not traced to any entry of the window "
    text += "(brought forward from before it, or a statement that does not chain)"
    return text + ("" if r.balances is True or r.balances == 1 else "; the latest statement does not balance")


def _account_detail(r) -> str:
    if pd.isna(r.bank_balance):
        return "no bank statement delivered in the window"
    on = f"{pd.Timestamp(r.statement_date):%Y-%m-%d}"
    if abs(r.difference) <= TOLERANCE:
        return f"books agree with the bank's closing balance of {on}"
    tie = "ties" if r.ties else f"does not tie: {r.untraced:+,.2f} untraced"
    return f"book cash {r.book_cash:,.2f} - reconciling items {r.reconciling_items:,.2f} = {r.book_cash_less_items:,.2f}, bank {r.bank_balance:,.2f} " \
           f"on {on}: {tie}"


def summary_line(cash: CashInNav | None, base_currency: str) -> dict:
    """The NAV summary's cash line: green when the books' cash is the bank's or every item is a
    timing item, amber when items with a NAV effect or a reclaim to book exist, red when an
    unexplained difference does."""
    check = "cash in the NAV"
    if cash is None:
        return {"check": check, "rag": GREEN, "count": 0, "detail": "no cash accounts"}
    items = cash.items
    if items.empty:
        return {"check": check, "rag": GREEN, "count": 0,
                "detail": f"the books' cash agrees with the latest bank statement of every account ({len(cash.accounts)})"}
    red = items[items["rag"].eq(RED)]
    rag = RED if len(red) else AMBER if items["rag"].eq(AMBER).any() else GREEN
    parts = []
    for c in CLASSIFICATIONS:
        mine = items[items["classification"].eq(c)]
        if len(mine):
            amounts = ", ".join(f"{x.amount:,.2f} {x.currency}" if pd.notna(x.amount) else f"account {x.account}: no statement"
                                for x in mine.head(4).itertuples())
            parts.append(f"{len(mine)} {c} ({amounts}"
                         f"{', ...' if len(mine) > 4 else ''}; NAV effect {mine['nav_effect_base'].sum():+,.2f} {base_currency})")
    ties = cash.accounts["ties"].all()
    return {"check": check, "rag": rag, "count": len(items),
            "detail": "; ".join(parts) + f"; total NAV effect {cash.nav_effect_base:+,.2f} {base_currency}"
                      + ("; book cash - items = bank in every account" if ties else "; book cash - traced items does not tie to the bank")}
