"""The reconciliation control of one fund and business date: runs the position, cash and trade
recons, turns their breaks into one break list, brings the break history in the store up to date,
and summarises what needs attention red / amber / green (exceptions first) with the key figures
the archive index shows.

Red: a statement that fails its integrity check, input data that breaks its contract, or any open
break that is not explained by timing. Amber: breaks explained by trades pending settlement only.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from bo_lib import calendars
from bo_lib.money import round_half_up
from bo_lib.recon import breaks as breaks_mod
from bo_lib.recon import workflow
from bo_lib.recon.cash import CashRecon, reconcile_cash
from bo_lib.recon.inputs import WHOLE_ACCOUNT, ReconDay
from bo_lib.recon.positions import TIMING, PositionRecon, reconcile_positions
from bo_lib.recon.trades import TradeRecon, reconcile_trades
from bo_lib.rag import AMBER, GREEN, RED, worst_first

RECONS = ("positions", "cash", "trades")
#: breaks older than this many business days count as aged
AGED_AFTER_BUSINESS_DAYS = 5


@dataclass
class DailyRecon:
    fund: str
    business_date: dt.date
    base_currency: str
    positions: PositionRecon
    cash: CashRecon
    trades: TradeRecon
    position_movements: pd.DataFrame | None = None  # the books movements behind each position break
    manual_matches: pd.DataFrame | None = None  # the manual matches in force (workflow.MATCH_COLUMNS)

    def breaks(self) -> pd.DataFrame:
        """Today's breaks of the three recons in one list (``breaks.BREAK_COLUMNS``): the differences
        found that no manual match explains."""
        seen = self.observed()
        return seen[seen["manual_match"].eq("")][breaks_mod.BREAK_COLUMNS].reset_index(drop=True)

    def manually_matched(self) -> pd.DataFrame:
        """Today's differences a stored manual match explains (who matched them and when in ``detail``)."""
        seen = self.observed()
        return seen[seen["manual_match"].ne("")].reset_index(drop=True)

    def observed(self) -> pd.DataFrame:
        """Every difference the recons found today, with the manual match that explains it ('' when
        none): what the break history records."""
        return workflow.apply_manual_matches(self._differences(), self.manual_matches)

    def _differences(self) -> pd.DataFrame:
        """The differences of the three recons in one list (``breaks.BREAK_COLUMNS``)."""
        p = self.positions.breaks
        positions = pd.DataFrame({
            "recon": "positions", "break_key": p["account"] + "|" + p["isin"], "account": p["account"], "item": p["isin"],
            "classification": p["classification"], "currency": p["currency"],
            "difference": np.where(p["classification"].eq("price/amount difference"), p["market_value_diff"],
                                   p["quantity_right"].fillna(0) - p["quantity_left"].fillna(0)),
            "value_base": p["break_value_base"], "detail": p["detail"]})
        c = self.cash.breaks
        cash = pd.DataFrame({
            "recon": "cash", "break_key": c["account"] + "|" + c["currency"] + "|" + c["reference"], "account": c["account"],
            "item": c["reference"], "classification": c["classification"], "currency": c["currency"], "difference": c["amount_diff"],
            "value_base": c["break_value_base"], "detail": c["detail"]})
        t = self.trades.breaks
        trades = pd.DataFrame({
            "recon": "trades", "break_key": t["reference"], "account": t["account"], "item": t["reference"],
            "classification": t["classification"], "currency": t["currency"],
            "difference": t["net_amount_diff"].fillna(t["net_amount_left"].fillna(0) - t["net_amount_right"].fillna(0)),
            "value_base": t["break_value_base"], "detail": t["detail"]})
        frames = [f for f in (positions, cash, trades) if len(f)]
        out = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=breaks_mod.BREAK_COLUMNS)
        return out[breaks_mod.BREAK_COLUMNS]

    def resolutions(self) -> pd.DataFrame:
        """Breaks of earlier days resolved today for a known reason (``breaks.RESOLUTION_COLUMNS``):
        a trade break whose matching or corrected confirmation arrived."""
        t = self.trades.resolved
        return pd.DataFrame({"recon": "trades", "break_key": t["reference"], "reason": t["resolution"]}, columns=breaks_mod.RESOLUTION_COLUMNS)

    def match_rates(self) -> pd.DataFrame:
        """Items compared and automatically matched per recon."""
        rows = []
        for recon, table in (("positions", self.positions.table), ("cash", self.cash.groups), ("trades", self.trades.table)):
            matched = int(table["status"].astype(str).eq("matched").sum())
            rows.append({"recon": recon, "items": len(table), "matched": matched, "breaks": len(table) - matched,
                         "auto_match_rate_pct": round(100.0 * matched / len(table), 1) if len(table) else 100.0})
        return pd.DataFrame(rows)


def valuation_calendar(fund, closures: pd.DataFrame | None = None):
    """The fund's business days (its valuation market's sessions): break ages count these."""
    return calendars.trading_calendar(fund.calendar, closures)


def _without_held_trades(trades: pd.DataFrame, confirms: pd.DataFrame, held: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The day's trades and confirmations without the references held-out input cannot confirm
    (none at all when a whole file is unusable)."""
    if held.empty:
        return trades, confirms
    if held["isin"].eq(WHOLE_ACCOUNT).any():
        return trades.iloc[0:0], confirms.iloc[0:0]
    refs = set(held["isin"])
    return trades[~trades["trade_id"].isin(refs)], confirms[~confirms["client_reference"].isin(refs)]


def run_recons(day: ReconDay) -> DailyRecon:
    """The three recons of one fund and business date from the day's gathered inputs."""
    fund = day.fund
    positions = day.books_positions
    held = day.held_out
    held_positions = held[held["recon"] == "positions"]
    custodian = day.custodian_positions
    if len(held_positions):  # what the custodian's feed cannot confirm today stays out of both sides
        isin_of = day.securities.set_index("security_id")["isin"]
        key = positions["account"] + "|" + positions["security_id"].map(isin_of).fillna("")
        held_keys = held_positions["account"] + "|" + held_positions["isin"]
        whole = held_positions.loc[held_positions["isin"] == WHOLE_ACCOUNT, "account"]
        positions = positions[~key.isin(held_keys) & ~positions["account"].isin(whole)]
        custodian = custodian[~(custodian["account"] + "|" + custodian["isin"]).isin(held_keys) & ~custodian["account"].isin(whole)]
    position_recon = reconcile_positions(positions, custodian, day.securities, day.settlement_status, day.trades_named,
                                         day.prices, day.fx_rates, business_date=day.business_date, base_currency=fund.base_currency,
                                         tolerances=fund.tolerances, price_hierarchy=fund.pricing.hierarchy,
                                         price_overrides=day.price_overrides, notified_events=day.notified_events)
    waiting = set(held.loc[held["recon"] == "cash", "account"])
    ledger, entries, statements = day.cash_ledger, day.statement_entries, day.statements
    carried = day.carried
    if waiting:  # the bank's statement is unreadable: the account's day waits for it (its items stay open)
        ledger = ledger[~ledger["account"].isin(waiting)]
        entries, statements = entries[~entries["account"].isin(waiting)], statements[~statements["account"].isin(waiting)]
        carried = dataclasses.replace(carried, books=carried.books[~carried.books["account"].isin(waiting)],
                                      bank=carried.bank[~carried.bank["account"].isin(waiting)])
    cash_recon = reconcile_cash(ledger, entries, statements, day.settlement_status, day.fx_rates, business_date=day.business_date,
                                base_currency=fund.base_currency, amount_tolerance=fund.tolerances.cash_amount,
                                opening_date=day.opening_date or day.business_date, carried=carried)
    trades, confirms = _without_held_trades(day.trades_today, day.broker_confirms, held[held["recon"] == "trades"])
    trade_recon = reconcile_trades(trades, confirms, day.fx_rates, business_date=day.business_date,
                                   base_currency=fund.base_currency, tolerances=fund.tolerances,
                                   carried_trades=day.carried.trades, carried_confirms=day.carried.confirms)
    return DailyRecon(fund.fund_code, day.business_date, fund.base_currency, position_recon, cash_recon, trade_recon,
                      _movements_behind(day, position_recon.breaks), day.manual_matches)


def _movements_behind(day: ReconDay, position_breaks: pd.DataFrame) -> pd.DataFrame:
    """For each position break: the settled position at the previous close and the day's settlements."""
    columns = ["account", "security_id", "source", "reference", "effective_date", "quantity"]
    keys = position_breaks[["account", "security_id"]].dropna()
    if keys.empty:
        return pd.DataFrame(columns=columns)
    start = day.settled_before.assign(source="settled at the previous close", reference="", effective_date=pd.NaT)
    trades = day.settling_trades
    moves = pd.DataFrame({"account": trades["account"], "security_id": trades["security_id"], "source": "trade settling",
                          "reference": trades["trade_id"], "effective_date": pd.to_datetime(trades["settlement_date"]),
                          "quantity": trades["quantity"].where(trades["side"].eq("BUY"), -trades["quantity"])}) if len(trades) else pd.DataFrame(columns=columns)
    both = pd.concat([start.reindex(columns=columns), moves.reindex(columns=columns)], ignore_index=True)
    return both.merge(keys, on=["account", "security_id"], how="inner")


def explorer_tables(today: DailyRecon, history: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """What the analyst explorer offers: each recon's rows, the cash entries of every group (the
    rows behind a cash break), the books movements behind position breaks, and the break history.
    Every table has ``recon``, ``account`` and ``status`` columns to filter on."""
    cash_entries = pd.concat([
        today.cash.match.left.assign(side="books"),
        today.cash.match.right.assign(side="bank")], ignore_index=True)
    cash_entries = cash_entries.rename(columns={"group_status": "status"})[
        ["group_id", "status", "side", "account", "currency", "reference", "value_date", "amount", "description"]]
    movements = today.position_movements if today.position_movements is not None else pd.DataFrame()
    return {
        "break history": history.assign(status=history["status"]),
        "positions": today.positions.table.assign(recon="positions", status=lambda t: t["status"].astype(str)),
        "position movements behind breaks": movements.assign(recon="positions", status="break"),
        "cash groups": today.cash.groups.assign(recon="cash", status=lambda t: t["status"].astype(str)),
        "cash entries (books and bank)": cash_entries.assign(recon="cash"),
        "trades": today.trades.table.assign(recon="trades", status=lambda t: t["status"].astype(str)),
    }


def open_break_summary(history: pd.DataFrame, as_of: dt.date) -> pd.DataFrame:
    """Open breaks by recon and classification: count, absolute value (base currency), new today,
    aged (older than AGED_AFTER_BUSINESS_DAYS), oldest age."""
    open_ = history[history["status"] == "open"]
    if open_.empty:
        return pd.DataFrame(columns=["recon", "classification", "breaks", "abs_value_base", "new_today", "aged", "oldest_age_days"])
    grouped = open_.assign(new=open_["first_seen"].eq(pd.Timestamp(as_of)), aged=open_["age_business_days"].gt(AGED_AFTER_BUSINESS_DAYS))
    table = grouped.groupby(["recon", "classification"], as_index=False).agg(
        breaks=("break_id", "count"), abs_value_base=("value_base", "sum"), new_today=("new", "sum"), aged=("aged", "sum"),
        oldest_age_days=("age_business_days", "max"))
    table["recon"] = pd.Categorical(table["recon"], categories=list(RECONS), ordered=True)
    return table.sort_values(["recon", "classification"]).reset_index(drop=True).assign(recon=lambda t: t["recon"].astype(str))


def ageing(history: pd.DataFrame) -> pd.DataFrame:
    """Open breaks per recon and age bucket (0-1, 2-5, 6-10, >10 business days)."""
    open_ = history[history["status"] == "open"]
    buckets = [b for b, _, _ in breaks_mod.AGE_BUCKETS]
    counts = pd.crosstab(pd.Categorical(open_["recon"], categories=list(RECONS)),
                         pd.Categorical(breaks_mod.age_bucket(open_["age_business_days"]), categories=buckets), dropna=False)
    counts.index.name, counts.columns.name = "recon", None
    return counts.reindex(index=list(RECONS), columns=buckets, fill_value=0).reset_index()


def _money(value: float, currency: str) -> str:
    return f"{currency} {value:,.2f}"


def summarise(today: DailyRecon, history: pd.DataFrame, violations: pd.DataFrame, held_out: pd.DataFrame | None = None,
              problems: list[str] | None = None) -> pd.DataFrame:
    """Exceptions first: one line per check (check, rag, count, detail), worst first. Counts and
    values are today's; ages come from the break history. ``held_out``: what unreadable input kept
    out of today's recons (named, so nothing is left unreconciled silently); ``problems``: why the
    day could not be reconciled at all (no books)."""
    ccy = today.base_currency
    open_ = history[history["status"] == "open"]
    held = held_out[held_out["delivery_date"] == pd.Timestamp(today.business_date)] if held_out is not None else pd.DataFrame()
    rows = [("Input data", RED if len(violations) else GREEN, len(violations),
             f"{len(violations)} contract violation(s) in the feeds the recons read" if len(violations) else "every feed read meets its contract")]
    if len(held):
        rows.append(("Not reconciled today", RED, len(held), "held out until the input is corrected: " + "; ".join(
            f"{r.recon} {r.account}{'' if not r.isin else ' (whole account)' if r.isin == WHOLE_ACCOUNT else ' ' + r.isin}: {r.reason}"
            for r in held.itertuples())))
    if problems:
        rows.append(("Books", RED, len(problems), "nothing reconciled: " + "; ".join(problems)))
    integrity = today.cash.integrity
    bad = integrity[integrity["integrity"] != "ok"]
    rows.append(("Bank statement integrity", RED if len(bad) else GREEN, len(bad),
                 "; ".join(f"{r.account} {r.statement_id}: {r.integrity} (difference {r.difference:+,.2f}"
                           f"{'' if pd.isna(r.chain_difference) or r.chain_difference == 0 else f', opens {r.chain_difference:+,.2f} off the previous closing'})"
                           for r in bad.itertuples())
                 or f"{len(integrity)} statement(s) balance and open at the previous closing"))
    todays = today.breaks()
    for recon in RECONS:
        mine = todays[todays["recon"] == recon]
        unexplained = mine[mine["classification"] != TIMING]
        rag = RED if len(unexplained) else AMBER if len(mine) else GREEN
        by_class = mine.groupby("classification")["value_base"].agg(["count", "sum"])
        detail = "; ".join(f"{c}: {int(r['count'])} ({_money(r['sum'], ccy)})" for c, r in by_class.iterrows())
        if recon == "positions" and len(today.positions.options_excluded):
            detail += ("; " if detail else "") + f"{len(today.positions.options_excluded)} option position(s) at the clearing broker not reconciled (no custodian feed)"
        detail = detail or "every item matched"
        if recon == "trades":
            older, resolved = int(today.trades.breaks["carried"].sum()), today.trades.resolved
            if older:
                detail += f"; {older} of them open since an earlier day, waiting for a matching confirmation"
            if len(resolved):
                detail += f"; {len(resolved)} earlier break(s) resolved today by their confirmation ({', '.join(resolved['reference'])})"
        rows.append((f"{recon.capitalize()} recon", rag, len(mine), detail))
    matched = today.manually_matched()
    if len(matched):
        rows.append(("Manually matched", GREEN, len(matched), "; ".join(f"{r.recon} {r.item}: {r.detail}" for r in matched.itertuples())))
    aged = open_[open_["age_business_days"] > AGED_AFTER_BUSINESS_DAYS]
    rows.append((f"Breaks open more than {AGED_AFTER_BUSINESS_DAYS} business days", AMBER if len(aged) else GREEN, len(aged),
                 ", ".join(f"{r.recon} {r.item} ({r.age_business_days}d)" for r in aged.sort_values(["age_business_days", "break_id"], ascending=[False, True]).itertuples())
                 or "none"))
    table = pd.DataFrame(rows, columns=["check", "rag", "count", "detail"])
    return worst_first(table)


def summary_counts(summary: pd.DataFrame) -> dict[str, int]:
    return {rag: int((summary["rag"] == rag).sum()) for rag in (RED, AMBER, GREEN)}


def key_figures(today: DailyRecon, history: pd.DataFrame) -> dict:
    open_ = history[history["status"] == "open"]
    rates = today.match_rates().set_index("recon")
    figures = {}
    for recon in RECONS:
        mine = open_[open_["recon"] == recon]
        figures[f"{recon}_open_breaks"] = len(mine)
        figures[f"{recon}_open_value_base"] = float(round_half_up(float(mine["value_base"].sum()), 2))
        figures[f"{recon}_auto_match_pct"] = float(rates.at[recon, "auto_match_rate_pct"])
    figures["new_breaks"] = int(open_["first_seen"].eq(pd.Timestamp(today.business_date)).sum())
    figures["aged_breaks"] = int(open_["age_business_days"].gt(AGED_AFTER_BUSINESS_DAYS).sum())
    figures["statements_failing_integrity"] = int(today.cash.integrity["integrity"].ne("ok").sum())
    return figures


@dataclass
class ReconReport:
    """The day's reconciliation as its report reads it: inputs, recons, break history as of the
    day, and the exceptions summary."""

    inputs: ReconDay
    today: DailyRecon
    history: pd.DataFrame
    summary: pd.DataFrame

    @property
    def counts(self) -> dict[str, int]:
        return summary_counts(self.summary)

    def key_figures(self) -> dict:
        return {"base_currency": self.today.base_currency} | key_figures(self.today, self.history)


def assess(reconciled: tuple[ReconDay, DailyRecon, pd.DataFrame]) -> ReconReport:
    """The report of a reconciled day (``bo_lib.recon.daily.reconcile_day``'s inputs, recons and history)."""
    inputs, today, history = reconciled
    return ReconReport(inputs, today, history, summarise(today, history, inputs.violations_table, inputs.held_out, inputs.problems))
