"""The inbound-data control (intake): did every expected file arrive, how do row counts compare
with the previous delivery, are prices and FX fresh, what did validation find — summarised
red / amber / green. Pure functions over DataFrames; gathering is ``bo_lib.intake.inputs``'s job.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from bo_lib import calendars
from bo_lib.data.formats.statement import statement_integrity
from bo_lib.data.layout import INBOUND_FILES, MESSAGES_DIR, STATEMENT_SUFFIXES
from bo_lib.prices import as_ns, select_prices, unchanged_runs, valuation_prices
from bo_lib.rag import AMBER, GREEN, RED, worst, worst_first
from bo_lib.rag import worst_first_key


#: datasets that must never be empty on a business day, and whose size should be stable
STABLE_DATASETS = ("custodian_positions", "prices", "fx_rates", "admin_nav", "settlement_status")
ROW_CHANGE_TOLERANCE_PCT = 50.0


def expected_files(cash_accounts: list[dict], business_date: dt.date) -> pd.DataFrame:
    """Files due for ``business_date``: every daily dataset, and a statement for each cash account
    whose payment system is open that day (no USD statement on a Federal Reserve holiday)."""
    rows = [{"dataset": name, "path": f"inbound/{business_date}/{fn}", "due": True, "why": "daily feed"} for name, fn in INBOUND_FILES.items()]
    for acct in cash_accounts:
        open_ = calendars.calendar_for("XOFF", acct["currency"]).is_business_day(business_date)
        rows.append({
            "dataset": f"statement:{acct['account']}",
            "path": f"inbound/{business_date}/statements/{acct['account']}{STATEMENT_SUFFIXES[acct['statement_format']]}",
            "due": open_, "why": f"{acct['currency']} {acct['statement_format']} statement" + ("" if open_ else " (payment system closed: none due)"),
        })
    return pd.DataFrame(rows)


def file_arrival(expected: pd.DataFrame, delivered: pd.DataFrame) -> pd.DataFrame:
    """Expected vs delivered files: received, missing (due, not delivered), empty, or not due but
    delivered. The custodians' corporate-action messages are sent when there is an event to
    notify or confirm: never due, received when they come."""
    daily = delivered[delivered["path"].str.startswith("inbound/")]
    table = expected.merge(daily[["path", "size_bytes", "sha256"]], on="path", how="outer", indicator=True)
    table["dataset"] = table["dataset"].fillna(table["path"].str.rsplit("/", n=1).str[-1])
    table["due"] = table["due"].fillna(False).astype(bool)
    received = table["_merge"].ne("left_only")
    on_event = table["path"].str.contains(f"/{MESSAGES_DIR}/", regex=False)
    table["why"] = table["why"].where(~on_event, "sent by the custodian when an event is notified or confirmed")
    table["status"] = np.select(
        [table["due"] & ~received, received & table["size_bytes"].eq(0), received & ~table["due"] & ~on_event, received],
        ["missing", "empty", "not due", "received"], default="not due",
    )
    table["rag"] = table["status"].map({"missing": RED, "empty": RED, "not due": AMBER, "received": GREEN}).where(
        ~(table["status"].eq("not due") & ~received), GREEN)
    cols = ["dataset", "path", "why", "due", "status", "size_bytes", "sha256", "rag"]
    return table.drop(columns="_merge").reindex(columns=cols).sort_values(["rag", "dataset"], key=worst_first_key).reset_index(drop=True)


def row_counts(today: dict[str, int], previous: dict[str, int] | None, tolerance_pct: float = ROW_CHANGE_TOLERANCE_PCT) -> pd.DataFrame:
    """Rows per dataset today vs the previous delivery. Stable datasets that come in empty are red,
    and amber when their size moves beyond ``tolerance_pct``; flows (trades, orders) are shown only."""
    previous = previous or {}
    table = pd.DataFrame({"dataset": list(today), "rows": [today[k] for k in today]})
    table["previous_rows"] = table["dataset"].map(previous).astype("Int64")
    table["change"] = table["rows"] - table["previous_rows"]
    table["change_pct"] = (table["change"] / table["previous_rows"].where(table["previous_rows"] > 0) * 100).astype("Float64").round(1)
    stable = table["dataset"].isin(STABLE_DATASETS)
    table["rag"] = np.select(
        [stable & table["rows"].eq(0), stable & table["change_pct"].abs().gt(tolerance_pct).fillna(False)], [RED, AMBER], default=GREEN)
    table["note"] = np.select(
        [stable & table["rows"].eq(0), stable & table["change_pct"].abs().gt(tolerance_pct).fillna(False), ~stable],
        ["empty on a business day", f"size moved more than {tolerance_pct:g}%", "flow: varies day to day"], default="")
    return table


def price_freshness(price_history: pd.DataFrame, held: pd.DataFrame, business_date: dt.date, hierarchy: dict[str, list[str]],
                    stale_days: int = 3, overrides: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per security the fund holds: which sources delivered a price for the business date, the
    source of the price the fund values it at by the one rule (``bo_lib.prices.holding_prices``:
    an override, else the fund's ranked sources; a source outside the hierarchy never counts) and
    the date of that price (before the business date: carried forward), and for how many
    deliveries that price has not changed.

    ``no price today``: no override and no ranked source priced it (only an unranked source did,
    or none); ``fewer sources than the hierarchy``: fewer of its ranked sources delivered than the
    hierarchy lists."""
    bd = pd.Timestamp(business_date)
    holdings = held[held["quantity"].ne(0)].copy()
    hist = price_history[price_history["security_id"].isin(holdings["security_id"])]
    today = hist[as_ns(hist["price_date"]).eq(bd)]
    sources = today.groupby("security_id")["source"].agg(lambda s: ", ".join(sorted(s))).rename("sources_today")
    chosen = select_prices(hist, holdings[["security_id", "asset_class"]], hierarchy, overrides)
    # changes between consecutive deliveries of the chosen price (five equal closes: unchanged for 4)
    runs = chosen[["price_date", "security_id"]].assign(unchanged_deliveries=unchanged_runs(chosen) - 1)
    valued = valuation_prices(chosen, holdings[["security_id"]].assign(price_date=bd), [business_date])
    valued = valued.merge(runs.rename(columns={"price_date": "price_as_of"}), on=["price_as_of", "security_id"], how="left")
    valued = valued.rename(columns={"source": "best_source", "price_as_of": "latest_price_date"})
    table = holdings.merge(sources, on="security_id", how="left").merge(
        valued[["security_id", "best_source", "latest_price_date", "carried_forward", "sources_delivered", "unchanged_deliveries"]],
        on="security_id", how="left")
    table["sources_today"] = table["sources_today"].fillna("")
    table["best_source"] = table["best_source"].fillna("")
    table["unchanged_deliveries"] = table["unchanged_deliveries"].fillna(0).astype("int64")
    table["age_days"] = (bd - table["latest_price_date"]).dt.days
    missing = table["carried_forward"].fillna(True).astype(bool)
    stale = ~missing & table["unchanged_deliveries"].ge(stale_days)
    expected_sources = table["asset_class"].map(lambda ac: len(hierarchy.get(ac, [])))
    single = ~missing & table["sources_delivered"].lt(expected_sources)
    table["status"] = np.select([missing, stale, single], ["no price today", f"unchanged for {stale_days}+ deliveries", "fewer sources than the hierarchy"], default="fresh")
    table["rag"] = np.select([missing, stale, single], [RED, AMBER, AMBER], default=GREEN)
    cols = ["security_id", "isin", "name", "asset_class", "currency", "quantity", "sources_today", "best_source", "latest_price_date",
            "age_days", "unchanged_deliveries", "status", "rag"]
    return table[cols].sort_values(["rag", "security_id"], key=worst_first_key).reset_index(drop=True)


def fx_freshness(fx_history: pd.DataFrame, currencies: list[str], business_date: dt.date, move_pct: float = 5.0) -> pd.DataFrame:
    """A rate to USD for every currency the fund needs, fixed on the business date, and its move
    against the previous fixing."""
    bd = pd.Timestamp(business_date)
    rows = []
    for ccy in sorted(set(currencies)):
        if ccy == "USD":
            rows.append({"currency": ccy, "rate_to_usd": 1.0, "rate_date": bd, "previous_rate": 1.0, "move_pct": 0.0, "status": "base of the quotes", "rag": GREEN})
            continue
        h = fx_history[(fx_history["from_currency"] == ccy) & (fx_history["to_currency"] == "USD")].sort_values("rate_date")
        today = h[h["rate_date"] == bd]
        earlier = h[h["rate_date"] < bd]
        prev_rate = float(earlier["rate"].iloc[-1]) if len(earlier) else np.nan
        if today.empty:
            rows.append({"currency": ccy, "rate_to_usd": np.nan, "rate_date": h["rate_date"].max() if len(h) else pd.NaT,
                         "previous_rate": prev_rate, "move_pct": np.nan, "status": "no fixing today", "rag": RED})
            continue
        rate = float(today["rate"].iloc[0])
        move = (rate / prev_rate - 1) * 100 if prev_rate == prev_rate else np.nan
        big = move == move and abs(move) > move_pct
        rows.append({"currency": ccy, "rate_to_usd": rate, "rate_date": bd, "previous_rate": prev_rate, "move_pct": round(move, 3) if move == move else np.nan,
                     "status": f"moved more than {move_pct:g}%" if big else "fresh", "rag": AMBER if big else GREEN})
    return pd.DataFrame(rows, columns=["currency", "rate_to_usd", "rate_date", "previous_rate", "move_pct", "status", "rag"])


@dataclass
class IntakeSummary:
    table: pd.DataFrame  # check, rag, count, detail

    @property
    def counts(self) -> dict[str, int]:
        return {rag: int((self.table["rag"] == rag).sum()) for rag in (RED, AMBER, GREEN)}

    def text(self) -> str:
        lines = [f"{row.rag.upper():5}  {row.check}: {row.detail}" for row in self.table.itertuples()]
        return "\n".join(lines)


def summarise(arrival: pd.DataFrame, counts: pd.DataFrame, prices: pd.DataFrame, fx: pd.DataFrame, statements: pd.DataFrame,
              violations: pd.DataFrame, missing_days: tuple[dt.date, ...] = ()) -> IntakeSummary:
    """Exceptions first: one line per check with the worst status found and what it counts.
    ``missing_days``: business days the books have no delivery for (red: every later NAV is provisional)."""
    missing = arrival[arrival["status"].isin(["missing", "empty"])]
    rows = [
        ("Delivery days", RED if missing_days else GREEN, len(missing_days),
         f"no deliveries at all for business day(s) {', '.join(d.isoformat() for d in missing_days)}: the books are incomplete from "
         f"{min(missing_days)} and every NAV since is provisional until the day is delivered" if missing_days
         else "every business day since the opening delivered"),
        ("Files delivered", worst(arrival["rag"]), len(missing),
         f"{int(arrival['status'].eq('received').sum())} received, {len(missing)} missing or empty" + (f": {', '.join(missing['dataset'])}" if len(missing) else "")),
        ("Validation", RED if len(violations) else GREEN, len(violations),
         f"{len(violations)} violation(s) in {violations['file'].nunique()} file(s)" if len(violations) else "every delivered file meets its contract"),
        ("Row counts vs previous delivery", worst(counts["rag"]), int(counts["rag"].ne(GREEN).sum()),
         ", ".join(f"{r.dataset} {r.rows} (was {r.previous_rows})" for r in counts[counts["rag"] != GREEN].itertuples()) or "stable datasets within tolerance"),
        ("Prices", worst(prices["rag"]), int(prices["rag"].ne(GREEN).sum()),
         "; ".join(f"{s}: {n}" for s, n in prices[prices["rag"] != GREEN]["status"].value_counts().sort_index().items())
         + f" (of {len(prices)} held securities)" if prices["rag"].ne(GREEN).any() else f"all {len(prices)} held securities priced today"),
        ("FX", worst(fx["rag"]), int(fx["rag"].ne(GREEN).sum()),
         ", ".join(f"{r.currency} {r.status}" for r in fx[fx["rag"] != GREEN].itertuples()) or f"{len(fx)} currencies fixed today"),
        ("Bank statements", worst(statements["rag"]) if len(statements) else GREEN, int(statements["rag"].ne(GREEN).sum()) if len(statements) else 0,
         ", ".join(f"{r.account} {'does not balance' if not r.balances else 'opens off the previous closing'} ({r.difference:+,.2f})"
                   for r in statements[statements["rag"] != GREEN].itertuples()) if len(statements) and statements["rag"].ne(GREEN).any()
         else f"{len(statements)} statement(s) balance and chain"),
    ]
    # a statement that arrived but could not be read is not a statement that balances
    received = arrival[arrival["dataset"].str.startswith("statement:") & arrival["status"].eq("received")]
    unreadable = sorted(set(received["dataset"].str.removeprefix("statement:")) - set(statements["account"]))
    if unreadable:
        rows[-1] = ("Bank statements", RED, len(unreadable) + (int(statements["rag"].ne(GREEN).sum()) if len(statements) else 0),
                    f"{len(unreadable)} statement(s) delivered but unreadable: {', '.join(unreadable)} (see Validation); "
                    f"{len(statements)} read" + (f", {rows[-1][3]}" if len(statements) else ""))
    table = pd.DataFrame(rows, columns=["check", "rag", "count", "detail"])
    return IntakeSummary(worst_first(table))




@dataclass
class IntakeResult:
    arrival: pd.DataFrame
    counts: pd.DataFrame
    prices: pd.DataFrame
    fx: pd.DataFrame
    statements: pd.DataFrame
    violations: pd.DataFrame
    summary: IntakeSummary

    def key_figures(self) -> dict:
        return {
            "files_received": int(self.arrival["status"].eq("received").sum()),
            "files_missing": int(self.arrival["status"].isin(["missing", "empty"]).sum()),
            "validation_errors": len(self.violations),
            "prices_not_fresh": int(self.prices["rag"].ne(GREEN).sum()),
            "fx_exceptions": int(self.fx["rag"].ne(GREEN).sum()),
            "statements_not_balancing": int((~self.statements["balances"].astype(bool)).sum()) if len(self.statements) else 0,
        }


def assess(day) -> IntakeResult:
    """Run every intake check on a gathered ``bo_lib.intake.inputs.FundDay``."""
    fund = day.fund
    arrival = file_arrival(expected_files([a.model_dump() for a in fund.cash_accounts], day.business_date), day.delivered)
    today_rows = dict(day.today_rows) | {"statement_entries": len(day.statement_entries)}
    previous_rows = (dict(day.previous_rows) | {"statement_entries": len(day.previous_statement_entries)}) if day.previous_rows is not None else None
    counts = row_counts(today_rows, previous_rows)
    prices = price_freshness(day.price_history, day.fund_securities, day.business_date, fund.pricing.hierarchy, fund.pricing.stale_days,
                             day.price_overrides)
    currencies = {fund.base_currency, *(c.currency for c in fund.share_classes), *(a.currency for a in fund.cash_accounts),
                  *day.fund_securities.loc[day.fund_securities["quantity"].ne(0), "currency"].dropna()}
    fx = fx_freshness(day.fx_history, sorted(currencies), day.business_date, fund.pricing.fx_move_pct)
    previous_closing = dict(zip(day.previous_statements["account"], day.previous_statements["closing_balance"]))
    statements = statement_integrity(day.statements, previous_closing)
    violations = day.violations_table
    return IntakeResult(arrival, counts, prices, fx, statements, violations, summarise(arrival, counts, prices, fx, statements, violations, tuple(day.missing_days)))
