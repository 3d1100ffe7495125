"""What the management company's regulatory report reads for one business date: the books of every
fund at the close of the latest quarter end before it (the 13F period) with that day's prices and
FX, every fund's positions on each delivered date since the quarter end before it (the ownership
monitor's window: crossings of the quarter being reported still owe their filings), the month-end
trading days of the 13F period's calendar year and the business date's (the $100M test), and the
ratio corporate actions of the window (split-adjusted shares outstanding). The states are the
books' own (``bo_lib.books``): the quarter-end state is the next quarter's opening.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from bo_lib.books.inputs import price_window
from bo_lib.books.state import read_frames, state_index
from bo_lib.calendars import trading_calendar
from bo_lib.codes import RATIO_EVENTS
from bo_lib.data.catalogue import Catalogue
from bo_lib.data.errors import Violation, violations_frame
from bo_lib.parameters import FundParameters, ManagementCompany
from bo_lib.store import open_store

REGULATORY_DATASETS = ("trades", "corporate_actions", "prices", "fx_rates")


@dataclass
class Valuation:
    """Every fund's positions at the close of a date, and that date's prices and FX."""

    date: dt.date
    positions: pd.DataFrame  # fund, account, security_id, quantity
    prices: pd.DataFrame  # by source: the date's and the few deliveries before it (a price carried forward)
    fx_rates: pd.DataFrame


@dataclass
class RegulatoryInputs:
    company: ManagementCompany
    funds: dict[str, FundParameters]
    business_date: dt.date
    quarter_end: dt.date | None  # the 13F period: the latest calendar quarter end before the business date
    at_quarter_end: Valuation | None  # the books at the close of the quarter end's last business day
    class_net_assets: pd.DataFrame  # fund, share_class, currency, net_assets at the quarter end
    positions_by_date: pd.DataFrame  # date, fund, account, security_id, quantity: the previous quarter end and every date since
    corporate_actions: pd.DataFrame  # ratio events going ex in the window
    month_end_valuations: dict[dt.date, Valuation]  # month-end trading days of the 13F period's year and the business date's
    securities: pd.DataFrame
    closures: pd.DataFrame
    delivered: pd.DataFrame
    violations: list[Violation] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    price_overrides: pd.DataFrame | None = None  # manual price overrides (the one price rule's first step)

    @property
    def delivery_dates(self) -> list[dt.date]:
        return sorted(pd.to_datetime(self.positions_by_date["date"]).dt.date.unique())

    @property
    def violations_table(self) -> pd.DataFrame:
        return violations_frame(self.violations)


def quarter_end_before(day: dt.date) -> dt.date:
    """The latest calendar quarter end strictly before ``day``."""
    q = pd.Timestamp(day).to_period("Q") - 1
    return q.end_time.date()


def gather_regulatory(store: Path | str, company: ManagementCompany, funds: dict[str, FundParameters], business_date: dt.date,
                      quarter_end: dt.date | None = None) -> RegulatoryInputs:
    """Read everything the regulatory report needs (every fund of the company, whose books must
    have been rolled to the date); ``quarter_end`` overrides the 13F period (``bo form13f``)."""
    quarter_end = quarter_end or quarter_end_before(business_date)
    catalogue = Catalogue(store)
    with open_store(store, read_only=True), catalogue.session():
        reference = catalogue.reference()
        opened = catalogue.opening_date()
        dates = catalogue.business_dates(up_to=business_date)
        struck = _struck_dates(store, funds)
        booked = [d for d in ([opened] if opened else []) + dates if d in struck]
        valuation_date = max((d for d in booked if d <= quarter_end), default=None)
        problems = []
        at_qe = None
        if valuation_date is None:
            problems.append(f"no books at the quarter end {quarter_end} (the books start {min(booked) if booked else 'nowhere'})")
        else:
            at_qe = _valuation(store, catalogue, valuation_date, opened)
        # the monitor's window starts at the previous quarter end, so that filings triggered in the last
        # quarter and due after its end stay on the calendar until due
        since = max((d for d in booked if d <= quarter_end_before(quarter_end)), default=min(booked, default=None))
        window = [d for d in booked if valuation_date is not None and since is not None and since <= d <= business_date]
        positions = read_frames(store, "positions", dates=window).rename(columns={"book_fund": "fund", "book_date": "date"})
        classes = read_frames(store, "classes", dates=[valuation_date] if valuation_date else []).rename(columns={"book_fund": "fund"})
        events = catalogue.rows("corporate_actions", start=window[0], end=business_date) if window else catalogue.rows("corporate_actions", on=business_date)
        events = events[events["event_type"].isin(RATIO_EVENTS)].sort_values("delivery_date").drop_duplicates("event_id", keep="last")
        month_ends = _month_end_days(booked, {quarter_end.year, business_date.year}, business_date, reference["market_closures"])
        valuations = {d: _valuation(store, catalogue, d, opened) for d in month_ends}
        violations = catalogue.violations(on=business_date, datasets=REGULATORY_DATASETS)
        delivered = catalogue.deliveries(on=business_date, reference=True, statement_accounts=[])
        overrides = catalogue.price_overrides()
    currency = {(code, c.code): c.currency for code, f in funds.items() for c in f.share_classes}
    classes["currency"] = [currency.get((f, c), "") for f, c in zip(classes["fund"], classes["share_class"])]
    return RegulatoryInputs(company, funds, business_date, quarter_end, at_qe, classes[["fund", "share_class", "currency", "net_assets"]],
                            positions[["date", "fund", "account", "security_id", "quantity"]], events.reset_index(drop=True), valuations,
                            reference["securities"], reference["market_closures"], delivered, violations, problems,
                            overrides if len(overrides) else None)


def _struck_dates(store: Path | str, funds: dict[str, FundParameters]) -> set[dt.date]:
    """Dates on which every fund's books have a closing state."""
    sets = [set(state_index(store, code)["business_date"]) for code in funds]
    return set.intersection(*sets) if sets else set()


def _valuation(store: Path | str, catalogue: Catalogue, day: dt.date, opened: dt.date | None) -> Valuation:
    """Every fund's positions at the close of ``day``, the prices of the day and of the deliveries
    before it (``books.inputs.price_window``: a price carried forward as the NAV carries it) and
    the day's FX (the opening book's quarter-end valuation when ``day`` is the opening)."""
    positions = read_frames(store, "positions", dates=[day]).rename(columns={"book_fund": "fund"})[["fund", "account", "security_id", "quantity"]]
    if day == opened:
        opening = catalogue.opening()
        return Valuation(day, positions, opening["opening_prices"], opening["opening_fx_rates"])
    return Valuation(day, positions, price_window(catalogue, day), catalogue.rows("fx_rates", on=day))


def _month_end_days(booked: list[dt.date], years: set[int], business_date: dt.date, closures: pd.DataFrame) -> list[dt.date]:
    """The last US trading day of each month of ``years`` (the 13F period's calendar year, whose month
    ends oblige its filing, and the business date's) with books, the opening included when it is
    one (Rule 13f-1(a)(1): any month end of the year)."""
    sessions = trading_calendar("XNYS", closures)
    days = [d for d in booked if d.year in years and d <= business_date]
    return [d for d in days if sessions.add_business_days(d, 1).month != d.month]
