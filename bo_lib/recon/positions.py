"""Position reconciliation: the books' settled positions against the custodian's statement of
holdings, per account and ISIN, on quantity and on market value at the custodian's price.

Books settled positions are rolled from the opening positions, the trades whose contractual
settlement date has come and the corporate actions paid (``bo_lib.books.positions``, settlement
basis). Each break is classified:

* ``timing``: trades the custodian reports as not (fully) settled — pending, failing or partial in
  its status feed — explain the whole quantity difference;
* ``event applied by the custodian, not booked``: the custodian notified an event (MT564) on the
  account's holding, paid by the date, whose ratio turns the books' quantity into the custodian's
  (fractions dropped): the detail names the event;
* ``corporate action suspected``: no notified event explains it, but the custodian's quantity is
  the books' quantity times a usual corporate-action ratio (stock dividend 101..125:100, bonus or
  split 3:2, 2:1 ... 10:1, reverse split 1:2 ... 1:20), fractions dropped;
* ``quantity difference``: any other quantity difference;
* ``missing at custodian`` / ``missing in books``: the position is on one side only (unless a
  pending trade explains it: timing);
* ``price/amount difference``: quantities agree, market values do not.

Listed options are held at the clearing broker (``<account>-OPT``), which sends no custodian
statement: they are left out and counted. Pure functions over DataFrames.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from bo_lib.codes import UNSETTLED_STATUSES
from bo_lib.fx import to_base
from bo_lib.prices import as_ns, holding_prices
from bo_lib.recon.engine import ReconResult, Tolerance, reconcile

OPTION_ACCOUNT_SUFFIX = "-OPT"
RECEIPTS = ("RVP", "RFP")
#: (new, old) ratios a custodian applies for stock dividends, bonus issues and (reverse) splits
USUAL_RATIOS = tuple((n, 100) for n in range(101, 126)) + ((3, 2), (2, 1), (3, 1), (4, 1), (5, 1), (10, 1),
                                                             (1, 2), (1, 3), (1, 4), (1, 5), (1, 10), (1, 20))

TIMING = "timing"
EVENT_NOT_BOOKED = "event applied by the custodian, not booked"
CORPORATE_ACTION = "corporate action suspected"
QUANTITY = "quantity difference"
MISSING_AT_CUSTODIAN = "missing at custodian"
MISSING_IN_BOOKS = "missing in books"
PRICE_AMOUNT = "price/amount difference"


@dataclass
class PositionRecon:
    business_date: dt.date
    result: ReconResult  # the engine's table (books = left, custodian = right)
    table: pd.DataFrame  # one row per account and ISIN, with classification and value in base currency
    options_excluded: pd.DataFrame  # option positions (no custodian feed) left out
    books_prices: pd.DataFrame | None = None  # the fund's valuation price of each books position (bo_lib.prices.holding_prices)

    @property
    def breaks(self) -> pd.DataFrame:
        return self.table[self.table["status"] != "matched"].reset_index(drop=True)


def pending_settlement(status: pd.DataFrame, trades: pd.DataFrame, as_of: dt.date) -> pd.DataFrame:
    """Quantity the books count as settled that the custodian has not delivered or received yet:
    per account and security, from the status feed's pending, failing and partial instructions
    whose intended settlement date has come. ``custodian_effect`` is what it does to custodian
    minus books (a late receipt is negative, a late delivery positive)."""
    columns = ["account", "security_id", "custodian_effect", "trades"]
    if status.empty or trades.empty:
        return pd.DataFrame(columns=columns)
    open_ = status[status["settlement_status"].isin(UNSETTLED_STATUSES) & (status["intended_settlement_date"] <= pd.Timestamp(as_of))]
    open_ = open_.merge(trades[["trade_id", "security_id"]], left_on="client_reference", right_on="trade_id", how="inner")
    unsettled = open_["quantity"] - open_["settled_quantity"].fillna(0.0)
    open_ = open_.assign(custodian_effect=np.where(open_["movement"].isin(RECEIPTS), -unsettled, unsettled))
    grouped = open_.groupby(["account", "security_id"], as_index=False).agg(
        custodian_effect=("custodian_effect", "sum"), trades=("client_reference", lambda s: ", ".join(sorted(s))))
    return grouped[columns]


def _ratio_match(books_quantity: np.ndarray, custodian_quantity: np.ndarray) -> np.ndarray:
    """The usual corporate-action ratio (as "new:old") that turns the books' quantity into the
    custodian's, fractions dropped; empty where none does."""
    found = np.full(len(books_quantity), "", dtype=object)
    usable = (books_quantity > 0) & (custodian_quantity > 0) & (custodian_quantity != books_quantity)
    for new, old in USUAL_RATIOS:  # a few dozen ratios, each vectorised over all positions
        hit = usable & (found == "") & (np.floor(books_quantity * new / old + 1e-9) == custodian_quantity)
        found[hit] = f"{new}:{old}"
    return found


def _notified_event_match(table: pd.DataFrame, events: pd.DataFrame | None) -> pd.Series:
    """Per row, the notified event (``<event id> <type> <ratio>``) whose factor turns the books'
    quantity into the custodian's, fractions dropped; empty where none does."""
    found = pd.Series("", index=table.index, dtype="object")
    if events is None or events.empty:
        return found
    books, custodian = table["quantity_left"].fillna(0.0), table["quantity_right"].fillna(0.0)
    for event in events.itertuples():
        hit = (table["account"].eq(event.account) & table["isin"].eq(event.isin) & found.eq("") & books.gt(0)
               & (np.floor(books * event.factor + 1e-9) == custodian) & custodian.ne(books))
        found[hit] = f"{event.event_id} ({event.event_type}, paid {pd.Timestamp(event.pay_date):%Y-%m-%d})"
    return found


def reconcile_positions(books_positions: pd.DataFrame, custodian: pd.DataFrame, securities: pd.DataFrame, status: pd.DataFrame,
                        trades: pd.DataFrame, prices: pd.DataFrame, fx_rates: pd.DataFrame, *, business_date: dt.date,
                        base_currency: str, tolerances, price_hierarchy: dict[str, list[str]] | None = None,
                        price_overrides: pd.DataFrame | None = None, notified_events: pd.DataFrame | None = None) -> PositionRecon:
    """Books settled positions vs the custodian's holdings for one business date.

    ``books_positions``: fund, account, security_id, quantity (``books_settled_positions``);
    ``custodian``: the custodian_positions feed of the date; ``status``: the settlement_status
    feed of the date; ``prices``: prices by source of the date and the deliveries before it;
    ``tolerances``: the fund's ``Tolerances`` (position_quantity, market_value_abs, market_value_rel);
    ``notified_events``: the custodians' notified events that change a holding, paid by the date
    (``bo_lib.books.events.custodian_quantity_events``: account, isin, event_id, event_type, factor).

    The books' market value is at the custodian's price; where the custodian has none (a position
    it does not report), at the fund's own valuation price of the date by the one rule
    (``bo_lib.prices.holding_prices``: override, ranked sources, else the last price carried forward).
    """
    sec = securities.set_index("security_id")
    is_option = books_positions["account"].str.endswith(OPTION_ACCOUNT_SUFFIX)
    options = books_positions[is_option].reset_index(drop=True)
    books = books_positions[~is_option].copy()
    books["isin"] = books["security_id"].map(sec["isin"])
    by_isin = securities[securities["isin"] != ""].set_index("isin")
    custodian = custodian.assign(security_id=custodian["isin"].map(by_isin["security_id"]))
    # market value in the books at the custodian's price (the vendor's where the custodian has none)
    cust_price = custodian.set_index(["account", "isin"])["price"]
    price = pd.Series(cust_price.reindex(pd.MultiIndex.from_frame(books[["account", "isin"]])).to_numpy(), index=books.index)
    held = pd.DataFrame({"price_date": as_ns(pd.Series(business_date, index=books.index)), "security_id": books["security_id"]})
    books_prices = holding_prices(held, prices, securities, price_hierarchy or {}, price_overrides)
    vendor = books["security_id"].map(books_prices.set_index("security_id")["price"])
    multiplier = books["security_id"].map(sec["price_multiplier"]).fillna(1.0)
    books["market_value"] = books["quantity"] * price.fillna(vendor) * multiplier
    result = reconcile(books[["account", "isin", "quantity", "market_value"]], custodian[["account", "isin", "quantity", "market_value"]],
                       keys=["account", "isin"], left_name="books", right_name="custodian", sort=True,
                       compare={"quantity": Tolerance(abs=tolerances.position_quantity),
                                "market_value": Tolerance(abs=tolerances.market_value_abs, rel=tolerances.market_value_rel)})
    table = result.table.copy()
    table["security_id"] = table["isin"].map(by_isin["security_id"])
    table["name"] = table["security_id"].map(sec["name"])
    table["currency"] = table["security_id"].map(sec["currency"])
    pending = pending_settlement(status, trades, business_date)
    table = table.merge(pending, on=["account", "security_id"], how="left")
    table["custodian_effect"] = table["custodian_effect"].fillna(0.0)
    table["trades"] = table["trades"].fillna("")
    table["ratio"] = _ratio_match(table["quantity_left"].fillna(0.0).to_numpy(), table["quantity_right"].fillna(0.0).to_numpy())
    table["event"] = _notified_event_match(table, notified_events)
    qty_diff = table["quantity_right"].fillna(0.0) - table["quantity_left"].fillna(0.0)
    explained = table["custodian_effect"].ne(0) & (qty_diff - table["custodian_effect"]).abs().le(tolerances.position_quantity)
    quantity_off = qty_diff.abs().gt(tolerances.position_quantity)
    status_ = table["status"].astype(str)
    table["classification"] = np.select(
        [status_.eq("matched"), explained, status_.eq("missing_left"), status_.eq("missing_right"),
         quantity_off & table["event"].ne(""), quantity_off & table["ratio"].ne(""), quantity_off],
        ["", TIMING, MISSING_IN_BOOKS, MISSING_AT_CUSTODIAN, EVENT_NOT_BOOKED, CORPORATE_ACTION, QUANTITY], default=PRICE_AMOUNT)
    value_diff = table["market_value_right"].fillna(0.0) - table["market_value_left"].fillna(0.0)
    table["break_value_base"] = to_base(value_diff.abs(), table["currency"], fx_rates, base_currency).where(status_.ne("matched"), 0.0)
    table["detail"] = _details(table, qty_diff)
    columns = ["account", "isin", "security_id", "name", "currency", "quantity_left", "quantity_right", "quantity_diff",
               "market_value_left", "market_value_right", "market_value_diff", "status", "classification", "trades", "ratio",
               "break_value_base", "detail"]
    table = table[columns]
    return PositionRecon(business_date, result, table, options, books_prices)


def _details(table: pd.DataFrame, qty_diff: pd.Series) -> pd.Series:
    text = pd.Series("", index=table.index, dtype="object")
    for i in np.flatnonzero(table["classification"].ne("").to_numpy()):  # breaks only: a handful per day
        row = table.iloc[i]
        c = row["classification"]
        if c == TIMING:
            text.iat[i] = f"custodian {qty_diff.iat[i]:+,.0f} vs books: not yet settled at the custodian ({row['trades']})"
        elif c == EVENT_NOT_BOOKED:
            text.iat[i] = f"custodian {qty_diff.iat[i]:+,.0f}: event applied by the custodian, not booked: event {row['event']}"
        elif c == CORPORATE_ACTION:
            text.iat[i] = f"custodian {qty_diff.iat[i]:+,.0f}: its quantity is the books' at {row['ratio']} (stock dividend / split not booked?)"
        elif c == MISSING_AT_CUSTODIAN:
            text.iat[i] = f"books hold {row['quantity_left']:,.0f}, the custodian reports nothing"
        elif c == MISSING_IN_BOOKS:
            text.iat[i] = f"custodian holds {row['quantity_right']:,.0f}, the books have no position"
        elif c == QUANTITY:
            text.iat[i] = f"custodian {qty_diff.iat[i]:+,.0f} vs books {row['quantity_left']:,.0f}"
        else:
            text.iat[i] = f"market value {row['market_value_diff']:+,.2f} at equal quantity"
    return text
