"""What a fund's reconciliations read for one business date, in one catalogue session: the books'
settled positions at the close (the closing state) and the day's settlements, the day's custodian
positions, settlement status, broker confirmations, prices, FX, cash ledger and bank statements, the
trades the status feed names, and what the previous day's recons left open (its unmatched ledger
lines and bank entries, the last closing balance of each statement, the trades not confirmed as
booked yet with their last confirmations). Nothing older than the previous reconciled day is read,
but prices: those of the last few deliveries (a price carried forward as the NAV carries it,
``bo_lib.books.inputs.price_window``) and the manual overrides.

Never raises on bad data: violations are collected for the report; a custodian row or a statement
that cannot be read is held out of the day's recon (named), not turned into breaks.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from bo_lib.books.events import custodian_quantity_events
from bo_lib.books.inputs import price_window
from bo_lib.books.state import BookState, load_state
from bo_lib.data.catalogue import Catalogue
from bo_lib.data.errors import Violation, violations_frame
from bo_lib.data.layout import STATEMENT_SUFFIXES
from bo_lib.parameters import FundParameters
from bo_lib.recon.break_actions import manual_matches
from bo_lib.recon.carried import Carried, load_carried
from bo_lib.recon.workflow import MATCH_COLUMNS
from bo_lib.store import open_store

#: calendar days of corporate-action notifications read back (an event notified, paid and still unbooked)
NOTIFIED_EVENTS_DAYS = 120
HELD_OUT_COLUMNS = ["recon", "delivery_date", "account", "isin", "reason"]
RECON_DATASETS = ("trades", "corporate_actions", "cash_ledger", "custodian_positions", "settlement_status", "broker_confirms", "prices", "fx_rates")


@dataclass
class ReconDay:
    fund: FundParameters
    business_date: dt.date
    previous_date: dt.date | None  # the previous reconciled (delivered) date
    opening_date: dt.date | None
    securities: pd.DataFrame
    closures: pd.DataFrame
    books_positions: pd.DataFrame  # settled positions at the close: fund, account, security_id, quantity
    settled_before: pd.DataFrame  # settled positions at the previous close (the start of the day's movements)
    settling_trades: pd.DataFrame  # trades whose contractual settlement date is the day (or came since the previous close)
    trades_today: pd.DataFrame  # the day's OMS trades
    trades_named: pd.DataFrame  # every trade the status feed or the books' open items name (ids -> securities)
    custodian_positions: pd.DataFrame
    settlement_status: pd.DataFrame
    broker_confirms: pd.DataFrame
    prices: pd.DataFrame  # by source: the day's and the few deliveries before it (books.inputs.price_window)
    fx_rates: pd.DataFrame
    cash_ledger: pd.DataFrame  # the day's ledger lines
    statements: pd.DataFrame  # the day's statements (one row each)
    statement_entries: pd.DataFrame  # the day's statement entries
    carried: Carried  # what the previous day's cash and trade recons left open
    delivered: pd.DataFrame
    violations: list[Violation] = field(default_factory=list)
    held_out: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=HELD_OUT_COLUMNS))
    problems: list[str] = field(default_factory=list)
    price_overrides: pd.DataFrame | None = None  # manual price overrides (the one price rule's first step)
    manual_matches: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=MATCH_COLUMNS))  # in force (the trail's)
    #: the events the custodians notified (MT564) that change a holding and are paid by the date: what their positions reflect
    notified_events: pd.DataFrame | None = None

    @property
    def violations_table(self) -> pd.DataFrame:
        return violations_frame(self.violations)


def gather_recon_day(store: Path | str, fund: FundParameters, business_date: dt.date, previous_recon_date: dt.date | None = None, *,
                     reference: dict | None = None, states: dict | None = None, carried: Carried | None = None) -> ReconDay:
    """Everything the position, cash and trade recons of ``fund`` need for ``business_date``;
    ``previous_recon_date``: the reconciled date whose open cash items carry into this one (default:
    the previous delivered date). A caller reconciling a run of days passes what it already holds:
    the ``reference`` data, the books' ``states`` by date (a cache this fills), the ``carried`` items."""
    code = fund.fund_code
    states = states if states is not None else {}
    with open_store(store, read_only=True):
        return _gather(store, fund, code, business_date, previous_recon_date, reference, states, carried)


def _state(store, code: str, day, states: dict):
    if day not in states:
        states[day] = load_state(store, code, day)
    return states[day]


def _gather(store, fund, code, business_date, previous_recon_date, reference, states, carried) -> ReconDay:
    state = _state(store, code, business_date, states)
    before = _state(store, code, state.previous_date, states) if state is not None and state.previous_date else None
    catalogue = Catalogue(store)
    with catalogue.session():
        reference = reference if reference is not None else catalogue.reference()
        previous = previous_recon_date if previous_recon_date is not None else catalogue.previous_date(business_date)
        opened = catalogue.opening_date()
        custodian = catalogue.rows("custodian_positions", fund=code, on=business_date)
        custodian_held = catalogue.rows("custodian_positions", fund=code, on=business_date, held_out=True)
        held_rows = {name: catalogue.rows(name, on=business_date, held_out=True) for name in ("trades", "broker_confirms", "cash_ledger")}
        status = catalogue.rows("settlement_status", fund=code, on=business_date)
        trades_today = catalogue.rows("trades", fund=code, on=business_date)
        statements, entries = catalogue.statements(fund=code, on=business_date)
        violations = catalogue.violations(fund=code, on=business_date, datasets=RECON_DATASETS + ("statement",))
        day = {
            "broker_confirms": catalogue.rows("broker_confirms", fund=code, on=business_date),
            "prices": price_window(catalogue, business_date), "fx_rates": _fixings(catalogue, business_date, previous),
            "cash_ledger": catalogue.rows("cash_ledger", fund=code, on=business_date),
        }
        delivered = catalogue.deliveries(on=business_date, reference=True, statement_accounts=[a.account for a in fund.cash_accounts])
        named_ids = set(status["client_reference"]) | (set(before.open_trades["trade_id"]) if before is not None else set())
        named = catalogue.rows("trades", fund=code, keys=("trade_id", named_ids))
        overrides = catalogue.price_overrides()
        messages = catalogue.ca_messages(fund=code, start=business_date - dt.timedelta(days=NOTIFIED_EVENTS_DAYS), end=business_date)
    problems = [] if state is not None else [f"no books for {business_date}: the books could not be rolled to the date (see the intake report)"]
    if state is None:  # nothing to reconcile against: no side is compared, so no break is made up
        custodian, status, trades_today, statements, entries = (f.iloc[0:0] for f in (custodian, status, trades_today, statements, entries))
        day = {name: frame.iloc[0:0] for name, frame in day.items()}
        books = pd.DataFrame({"fund": pd.Series(dtype="str"), "account": pd.Series(dtype="str"), "security_id": pd.Series(dtype="str"),
                              "quantity": pd.Series(dtype="float64")})
    else:
        books = state.settled_positions.assign(fund=code)
    if before is not None and len(before.open_trades):  # the books' own open items (redemptions) are trades of the books too
        named = pd.concat([named, before.open_trades[~before.open_trades["trade_id"].isin(named["trade_id"])]], ignore_index=True)
    settling = _settling(before, trades_today, business_date)
    held_positions = _held_custodian_positions(fund, books, custodian, custodian_held, reference["securities"], violations, business_date)
    held_cash = _unreadable_statements(fund, violations, business_date)
    held_items = _held_items(fund, held_rows, trades_today, day["broker_confirms"], violations, business_date)
    parts = [f for f in (held_positions, held_cash, held_items) if len(f)]
    held = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=HELD_OUT_COLUMNS)
    return ReconDay(fund, business_date, previous, opened, reference["securities"], reference["market_closures"], books,
                    before.settled_positions.assign(fund=code) if before is not None else books.iloc[0:0], settling, trades_today, named,
                    custodian, status, day["broker_confirms"], day["prices"], day["fx_rates"], day["cash_ledger"], statements, entries,
                    carried if carried is not None else load_carried(store, code, previous), delivered, violations, held, problems,
                    overrides if len(overrides) else None, _manual_matches(store, code), custodian_quantity_events(messages, business_date))


def _manual_matches(store, code: str) -> pd.DataFrame:
    """The fund's manual matches in force, from the trail (the connection the gather holds)."""
    with open_store(store, read_only=True) as connection:
        return manual_matches(connection, code)


def _settling(before: BookState | None, trades_today: pd.DataFrame, business_date: dt.date) -> pd.DataFrame:
    """Trades whose contractual settlement came since the previous close (the day's settled-position movements)."""
    frames = [trades_today] + ([before.open_trades] if before is not None else [])
    trades = pd.concat([f for f in frames if len(f)], ignore_index=True) if any(len(f) for f in frames) else trades_today
    due = pd.to_datetime(trades["settlement_date"]) <= pd.Timestamp(business_date)
    return trades[due].reset_index(drop=True)


#: the ``isin`` of a held-out line that keeps a whole account out of the day's position recon
WHOLE_ACCOUNT = "*"


def _held_custodian_positions(fund: FundParameters, books: pd.DataFrame, custodian: pd.DataFrame, held_rows: pd.DataFrame,
                              securities: pd.DataFrame, violations: list[Violation], business_date: dt.date) -> pd.DataFrame:
    """What the custodian's feed cannot confirm today, so that no break is made up from bad input:

    * each held-out custodian row (a violation names its line) keeps the books position it stands
      for out of both sides: the position of the row's ISIN in its account, or, when the ISIN is
      itself what is wrong, the account's position in the security of that name or quantity;
    * an account the books hold positions in and for which the custodian delivered no usable row
      (file not delivered, header only, every row held out) is not reconciled today at all.
    Each is named with its reason, and the recon summary shows it red."""
    rows = [_claimed(row, books, securities, _row_reason(violations, row.source_line, "custodian_positions")) for row in held_rows.itertuples()]
    held = pd.DataFrame(rows, columns=["account", "isin", "reason"])
    reported = set(custodian["account"])
    file_problem = next((f"{v.file}: {v.rule}" for v in violations if v.file.endswith("custodian_positions.csv") and (v.line or 0) <= 1), None)
    for account in fund.securities_accounts:
        holds = books[(books["account"] == account.account) & books["quantity"].ne(0)]
        if len(holds) and account.account not in reported:
            reason = file_problem or f"the custodian delivered no usable position for the account ({len(holds)} position(s) in the books)"
            held.loc[len(held)] = [account.account, WHOLE_ACCOUNT, reason]
    return held.assign(recon="positions", delivery_date=pd.Timestamp(business_date))[HELD_OUT_COLUMNS]


def _claimed(row, books: pd.DataFrame, securities: pd.DataFrame, reason: str) -> dict:
    """The books position (account, ISIN) a held-out custodian row stands for."""
    mine = books[books["account"] == row.account].merge(securities[["security_id", "isin", "name"]], on="security_id", how="left")
    for column, value in (("isin", row.isin), ("name", row.security_name), ("quantity", row.quantity)):
        match = mine[mine[column] == value] if isinstance(value, str) and value or isinstance(value, float) and value == value else mine.iloc[0:0]
        if len(match) == 1:
            return {"account": row.account, "isin": match["isin"].iat[0], "reason": reason}
    return {"account": row.account, "isin": row.isin, "reason": reason}


def _fixings(catalogue: Catalogue, business_date: dt.date, previous: dt.date | None) -> pd.DataFrame:
    """The day's FX fixings, and for a pair the day lacks (not delivered, or held out) the previous
    delivery's: a break is valued at the last fixing rather than not at all."""
    today = catalogue.rows("fx_rates", on=business_date)
    if previous is None:
        return today
    before = catalogue.rows("fx_rates", on=previous)
    pairs = set(zip(today["from_currency"], today["to_currency"]))
    carried = before[[pair not in pairs for pair in zip(before["from_currency"], before["to_currency"])]]
    return pd.concat([today, carried], ignore_index=True) if len(carried) else today


def _held_items(fund: FundParameters, held_rows: dict[str, pd.DataFrame], trades: pd.DataFrame, confirms: pd.DataFrame,
                violations: list[Violation], business_date: dt.date) -> pd.DataFrame:
    """Trades and cash the day's held-out input cannot confirm, so that no break is made up from it:

    * a held-out trade or confirmation (whatever fund it names) keeps its trade reference out of
      both sides of the fund's trade recon, when the reference is one of the fund's trades or
      confirmations or the row is the fund's; a trades or confirmations file unusable as a whole
      holds back the whole trade recon;
    * a held-out cash-ledger row of one of the fund's cash accounts makes that account's cash
      recon wait (its items carry to the next day); one whose account cannot be told, all of them."""
    accounts = {a.account for a in fund.securities_accounts} | {f"{a.account}-OPT" for a in fund.securities_accounts}
    references = set(trades["trade_id"]) | set(confirms["client_reference"])
    rows = []
    for name, column in (("trades", "trade_id"), ("broker_confirms", "client_reference")):
        frame = held_rows[name]
        mine = frame[frame[column].isin(references) | frame["account"].isin(accounts)]
        rows += [("trades", r["account"], r[column], _row_reason(violations, r["source_line"], name)) for _, r in mine.iterrows()]
        whole = next((v for v in violations if v.file.endswith(f"/{name}.csv") and (v.line or 0) <= 1), None)
        if whole is not None:
            rows.append(("trades", "all accounts", WHOLE_ACCOUNT, f"{whole.file}: {whole.rule}"))
    cash_accounts = {a.account for a in fund.cash_accounts}
    ledger = held_rows["cash_ledger"]
    mine = ledger[ledger["account"].isin(cash_accounts) | ledger["attributed_fund"].eq(fund.fund_code)] if "attributed_fund" in ledger \
        else ledger[ledger["account"].isin(cash_accounts)]
    for _, r in mine.iterrows():
        waiting = [r["account"]] if r["account"] in cash_accounts else sorted(cash_accounts)
        rows += [("cash", account, "", _row_reason(violations, r["source_line"], "cash_ledger")) for account in waiting]
    frame = pd.DataFrame(rows, columns=["recon", "account", "isin", "reason"]).drop_duplicates(["recon", "account", "isin"])
    return frame.assign(delivery_date=pd.Timestamp(business_date))[HELD_OUT_COLUMNS]


def _row_reason(violations: list[Violation], line: int, dataset: str) -> str:
    found = [v for v in violations if v.line == line and v.file.endswith(f"/{dataset}.csv")]
    return "; ".join(f"{v.file} line {v.line}: {v.column + ' ' if v.column else ''}{v.rule}" for v in found) or f"{dataset} line {line} held out"


def _unreadable_statements(fund: FundParameters, violations: list[Violation], business_date: dt.date) -> pd.DataFrame:
    """Cash accounts whose statement of the day was delivered but cannot be read: their day waits."""
    rows = []
    for account in fund.cash_accounts:
        path = f"inbound/{business_date.isoformat()}/statements/{account.account}{STATEMENT_SUFFIXES[account.statement_format]}"
        problem = next((v for v in violations if v.file == path), None)
        if problem is not None:
            rows.append({"recon": "cash", "delivery_date": pd.Timestamp(business_date), "account": account.account, "isin": "",
                         "reason": f"{problem.file}: {problem.rule}"})
    return pd.DataFrame(rows, columns=HELD_OUT_COLUMNS)
