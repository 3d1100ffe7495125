"""The management company's regulatory report for one business date: wires Form 13F (holdings,
documents, EDGAR rules, schema validation, the $100M test), the ownership-threshold monitor and the
filing calendar together, and summarises what needs attention red / amber / green with the key
figures the archive index shows. Pure: takes gathered inputs, returns frames and document bytes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from bo_lib.fx import rate_to_base, to_base
from bo_lib.regulatory import calendar as filing_calendar
from bo_lib.regulatory import form13f, thresholds
from bo_lib.rag import AMBER, GREEN, RED, worst, worst_first

DUE_SOON_BUSINESS_DAYS = 10


@dataclass
class Form13FReport:
    period_end: dt.date
    holdings: pd.DataFrame  # every fund position at quarter end, reportable or not (and why)
    rows: pd.DataFrame  # information-table rows (with exact_value and funds)
    summary: dict  # table_entry_total, table_value_total
    rule_breaks: pd.DataFrame  # EDGAR rule breaks, one line per holding and rule
    information_table: bytes | None  # None when a rule is broken
    cover: bytes | None
    schema_dir: Path | None
    schema_errors: list[str] = field(default_factory=list)

    @property
    def schema_status(self) -> str:
        if self.information_table is None:
            return "not written: EDGAR rule breaks"
        if self.schema_dir is None:
            return "not validated: no schema folder configured (BO_FORM13F_XSD_DIR)"
        return f"{len(self.schema_errors)} schema error(s)" if self.schema_errors else "valid against the official EDGAR schemas"

    @property
    def file_names(self) -> dict[str, str]:
        quarter = pd.Timestamp(self.period_end).to_period("Q")
        stem = f"form13f_{quarter.year}Q{quarter.quarter}"
        return {"information_table": f"{stem}_infotable.xml", "cover": f"{stem}_primary_doc.xml"}


def form13f_report(inputs, schema_dir: Path | None, signature_date: dt.date) -> Form13FReport:
    """The 13F for the quarter end before the business date, every fund together, from the books at
    the close of the quarter end and that day's prices."""
    hierarchies = {code: fund.pricing.hierarchy for code, fund in inputs.funds.items()}
    qe = inputs.at_quarter_end
    holdings = form13f.holdings_13f(qe.positions, inputs.securities, qe.prices, qe.fx_rates, hierarchies, as_of=qe.date,
                                    overrides=inputs.price_overrides)
    rows = form13f.information_table_rows(holdings)
    summary = form13f.table_summary(rows)
    breaks = form13f.edgar_rule_breaks(rows)
    info = cover = None
    errors: list[str] = []
    if breaks.empty:
        info = form13f.information_table(rows[form13f.INFO_TABLE_COLUMNS])
        cover = form13f.cover_document(inputs.company, inputs.quarter_end, summary, signature_date=signature_date)
        if schema_dir is not None:
            errors = ([f"information table: {e}" for e in form13f.schema_errors(info, schema_dir)]
                      + [f"cover: {e}" for e in form13f.schema_errors(cover, schema_dir, "cover")])
    return Form13FReport(inputs.quarter_end, holdings, rows, summary, breaks, info, cover, schema_dir, errors)


def month_end_13f_values(inputs) -> pd.DataFrame:
    """13(f) securities held at each month-end trading day of the year so far (the $100M test)."""
    hierarchies = {code: fund.pricing.hierarchy for code, fund in inputs.funds.items()}
    rows = []
    for day in sorted(inputs.month_end_valuations):
        valuation = inputs.month_end_valuations[day]
        values = form13f.holdings_13f(valuation.positions, inputs.securities, valuation.prices, valuation.fx_rates, hierarchies,
                                      as_of=valuation.date, overrides=inputs.price_overrides)
        rows.append({"valuation_date": pd.Timestamp(day), "value_usd": float(values.loc[values["reportable"], "value_usd"].sum())})
    return form13f.filing_test(pd.DataFrame(rows, columns=["valuation_date", "value_usd"]))


def regulatory_facts(inputs) -> dict[str, float]:
    """Sizes that select filing rules, from the quarter-end net assets of the funds: private
    (hedge) fund AUM in USD for Form PF, AIF AUM in EUR for AIFMD Annex IV frequency."""
    classes = inputs.class_net_assets
    fx = inputs.at_quarter_end.fx_rates if inputs.at_quarter_end is not None else pd.DataFrame(columns=["from_currency", "to_currency", "rate"])
    usd = to_base(classes["net_assets"], classes["currency"], fx, "USD").groupby(classes["fund"]).sum()
    eur_per_usd = float(rate_to_base(pd.Series(["USD"]), fx, "EUR").iloc[0]) if len(fx) else float("nan")
    hedge = [c for c, f in inputs.funds.items() if f.fund_type == "hedge"]
    aifs = [c for c, f in inputs.funds.items() if "AIFMD" in f.regulatory_regimes]
    return {"private_fund_aum_usd": float(usd.reindex(hedge).sum()), "hedge_fund_aum_usd": float(usd.reindex(hedge).sum()),
            "aifm_aum_eur": float(usd.reindex(aifs).sum() * eur_per_usd)}


@dataclass
class ThresholdMonitor:
    since: dt.date
    ownership: pd.DataFrame  # beneficial ownership per security and date
    net_short: pd.DataFrame  # EU net short positions per security and date
    crossings: pd.DataFrame  # every crossing since ``since`` (the quarter end) with filing, due date, rag
    still_due: pd.DataFrame = field(default_factory=pd.DataFrame)  # crossings of the quarter before whose filing is not yet due

    def latest(self, top: int = 10) -> pd.DataFrame:
        last = self.ownership[self.ownership["date"].eq(self.ownership["date"].max())]
        return last.sort_values("ownership_pct", ascending=False).head(top).reset_index(drop=True)


def threshold_monitor(inputs, qualified_institution: bool = True) -> ThresholdMonitor:
    """Firm-wide holdings per issuer on every delivery date since the quarter end (the last
    report), their crossings and the filings they trigger; crossings of the quarter before whose
    filings fall due on or after the business date are kept apart (``still_due``): a filing does
    not vanish from the calendar because its quarter ended."""
    positions = inputs.positions_by_date
    ownership = thresholds.beneficial_ownership(positions, inputs.securities, inputs.corporate_actions)
    net_short = thresholds.eu_net_short_positions(positions, inputs.securities, inputs.corporate_actions)
    found = [thresholds.us_ownership_crossings(ownership, qualified_institution, closures=inputs.closures),
             thresholds.eu_short_crossings(net_short, inputs.closures)]
    crossings = pd.concat([f for f in found if len(f)] or found[:1], ignore_index=True)
    crossings = crossings.astype({"crossing_date": "datetime64[ns]", "due_date": "datetime64[ns]"})
    crossings = thresholds.crossings_status(crossings, inputs.business_date, inputs.closures)
    since = inputs.at_quarter_end.date if inputs.at_quarter_end is not None else inputs.quarter_end
    earlier = crossings["crossing_date"] <= pd.Timestamp(since)
    still_due = crossings[earlier & (crossings["due_date"] >= pd.Timestamp(inputs.business_date))].reset_index(drop=True)
    recent = ownership["date"] >= pd.Timestamp(since)
    return ThresholdMonitor(inputs.quarter_end, ownership[recent].reset_index(drop=True),
                            net_short[net_short["date"] >= pd.Timestamp(since)].reset_index(drop=True),
                            crossings[~earlier].reset_index(drop=True), still_due)


def filings_calendar(inputs, monitor: ThresholdMonitor, fiscal_year_end_month: int = 12) -> pd.DataFrame:
    """Next periodic filing of each regime, plus the filings the threshold monitor triggered."""
    table = filing_calendar.next_filings(inputs.company.regulatory_regimes, regulatory_facts(inputs), inputs.business_date,
                                         fiscal_year_end_month, inputs.closures)
    triggered = pd.concat([f for f in (monitor.still_due, monitor.crossings) if len(f)] or [monitor.crossings], ignore_index=True)
    if len(triggered):
        events = pd.DataFrame({
            "filing": triggered["filing"] + " — " + triggered["issuer_name"], "regime": triggered["regime"],
            "description": "triggered by the " + triggered["threshold_pct"].map("{:g}%".format) + " crossing on "
                           + triggered["crossing_date"].dt.strftime("%Y-%m-%d"),
            "period_end": triggered["crossing_date"], "due_date": triggered["due_date"],
            "business_days_to_due": triggered["business_days_to_due"], "calendar": "XOFF/FED", "roll": "", "notes": triggered["rule"]})
        table = pd.concat([table, events], ignore_index=True).sort_values("due_date").reset_index(drop=True)
    return table


@dataclass
class RegulatoryResult:
    business_date: dt.date
    form13f: Form13FReport
    filing_test: pd.DataFrame
    monitor: ThresholdMonitor
    calendar: pd.DataFrame
    due_soon: pd.DataFrame
    violations: pd.DataFrame
    summary: pd.DataFrame  # check, rag, count, detail

    @property
    def counts(self) -> dict[str, int]:
        return {rag: int((self.summary["rag"] == rag).sum()) for rag in (RED, AMBER, GREEN)}

    def key_figures(self) -> dict:
        return {
            "form13f_period": self.form13f.period_end.isoformat(),
            "form13f_rows": self.form13f.summary["table_entry_total"],
            "form13f_value_usd": self.form13f.summary["table_value_total"],
            "form13f_schema": self.form13f.schema_status,
            "form13f_rule_breaks": int(len(self.form13f.rule_breaks)),
            "threshold_crossings": int(len(self.monitor.crossings)),
            "filings_due_10bd": int(len(self.due_soon)),
            "next_filing": (f"{self.calendar['filing'].iloc[0]} {self.calendar['due_date'].iloc[0]:%Y-%m-%d}" if len(self.calendar) else ""),
        }


def _usd(value: float) -> str:
    return f"${value:,.0f}"


def summarise(report: Form13FReport, filing_test: pd.DataFrame, monitor: ThresholdMonitor, due_soon: pd.DataFrame,
              violations: pd.DataFrame) -> pd.DataFrame:
    """Exceptions first: one line per check, worst first (deterministic text: nbval checks it)."""
    crossings = monitor.crossings
    us = crossings[crossings["regime"].str.startswith("US")]
    eu = crossings[crossings["regime"].str.startswith("EU")]

    def crossing_text(frame: pd.DataFrame) -> str:
        return "; ".join(f"{r.issuer_name} {r.direction} through {r.threshold_pct:g}% on {r.crossing_date:%Y-%m-%d} "
                         f"({r.before_pct:.2f}% -> {r.after_pct:.2f}%): {r.filing} due {r.due_date:%Y-%m-%d}" for r in frame.itertuples())


    met = filing_test[filing_test["meets_threshold"]]
    held = report.holdings
    carried = held[held["reportable"] & held["price_carried_forward"] & held["price"].notna()] if "price_carried_forward" in held else held.iloc[0:0]
    rows = [
        ("Ownership thresholds (13D/13G)", worst(us["rag"]), len(us),
         crossing_text(us) or f"no crossing of 5% or 10% since {monitor.since}"),
        ("Filings still due from the quarter before", worst(monitor.still_due["rag"]) if len(monitor.still_due) else GREEN,
         len(monitor.still_due),
         "; ".join(f"{r.filing} for {r.issuer_name} ({r.direction} through {r.threshold_pct:g}% on {r.crossing_date:%Y-%m-%d}) "
                   f"due {r.due_date:%Y-%m-%d} ({r.business_days_to_due:.0f} business days)" for r in monitor.still_due.itertuples())
         or f"no crossing before {monitor.since} owes a filing"),
        ("EU net short positions", worst(eu["rag"]), len(eu),
         crossing_text(eu) or f"no net short position at or above 0.1% since {monitor.since}"),
        (f"Filings due in the next {DUE_SOON_BUSINESS_DAYS} business days", worst(due_soon["rag"]), len(due_soon),
         "; ".join(f"{r.filing} for {r.period_end:%Y-%m-%d} due {r.due_date:%Y-%m-%d} ({r.business_days_to_due:.0f} business days)"
                   for r in due_soon.itertuples()) or "none"),
        (f"13F information table ({report.period_end})", RED if len(report.rule_breaks) or report.schema_errors else AMBER if len(carried) else GREEN,
         int(report.rule_breaks["row"].nunique()) + len(report.schema_errors) if len(report.rule_breaks) else len(report.schema_errors),
         ((f"{report.rule_breaks['row'].nunique()} holding(s) break EDGAR's rules: "
           + "; ".join(f"{r.cusip or '(no CUSIP)'} {r.name_of_issuer}: {r.rule}" for r in report.rule_breaks.head(5).itertuples()))
          if len(report.rule_breaks) else
          (f"{len(report.schema_errors)} schema error(s): {report.schema_errors[0]}" if report.schema_errors else
           f"{report.summary['table_entry_total']} rows, value total {_usd(report.summary['table_value_total'])}; EDGAR's rules met"))
         + ("; " + ", ".join(sorted(f"{r.cusip} {r.name_of_issuer} ({r.fund})" for r in carried.itertuples()))
            + ": no ranked source priced them at the period end, valued at the last price carried forward" if len(carried) else "")),
        ("13F filing requirement ($100M test)", GREEN, int(len(met)),
         (f"13(f) securities ${met['value_usd'].iloc[0]:,.2f} (exact, before row rounding) on {met['valuation_date'].iloc[0]:%Y-%m-%d}: {met['filings_required'].iloc[0]}")
         if len(met) else f"below $100M on every month-end trading day delivered ({len(filing_test)})"),
        ("Input data", RED if len(violations) else GREEN, len(violations),
         f"{len(violations)} violation(s) in {violations['file'].nunique()} file(s)" if len(violations) else "every file read meets its contract"),
    ]
    table = pd.DataFrame(rows, columns=["check", "rag", "count", "detail"])
    return worst_first(table)


def assess(inputs, schema_dir: Path | None = None, qualified_institution: bool = True, fiscal_year_end_month: int = 12) -> RegulatoryResult:
    """Run the regulatory report on gathered ``bo_lib.regulatory.inputs.RegulatoryInputs``."""
    if inputs.at_quarter_end is None:
        raise FileNotFoundError("; ".join(inputs.problems) or "no books at the quarter end: the 13F and the ownership monitor start from "
                                "the quarter-end positions; see the funds' intake reports")
    report = form13f_report(inputs, schema_dir, inputs.business_date)
    test = month_end_13f_values(inputs)
    monitor = threshold_monitor(inputs, qualified_institution)
    table = filings_calendar(inputs, monitor, fiscal_year_end_month)
    soon = filing_calendar.due_soon(table[~table["regime"].str.contains("beneficial|net short", regex=True)], DUE_SOON_BUSINESS_DAYS)
    violations = inputs.violations_table
    return RegulatoryResult(inputs.business_date, report, test, monitor, table, soon, violations,
                            summarise(report, test, monitor, soon, violations))


def assess_with_schemas(inputs) -> RegulatoryResult:
    """:func:`assess` with the 13F validated against EDGAR's schemas (when they are found)."""
    return assess(inputs, schema_dir=form13f.schema_directory())
