"""What the corporate-actions control of one fund and business date reads, in one catalogue session:
the fund's corporate-action messages of the look-back window (notifications, confirmations, the
elections sent), the books' closing state of the day (holdings, open trades, the events booked,
prices), the settled holdings at each record date that has passed (that day's closing state), the
books' own event feed of the day, and the securities master. A window of deliveries, never every
delivery since the opening.

Never raises on bad data: violations are collected (a malformed message file is held out at ingest
and named here), and the frames that could be read are returned.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from bo_lib.books.notified import MESSAGE_LOOKBACK_DAYS, followed_messages
from bo_lib.books.state import BookState, load_state
from bo_lib.data.catalogue import Catalogue
from bo_lib.data.errors import Violation, violations_frame
from bo_lib.parameters import FundParameters
from bo_lib.store import open_store

#: calendar days of messages read back (the books read as far); every message of an event seen in
#: the window is read, whenever delivered
LOOKBACK_DAYS = MESSAGE_LOOKBACK_DAYS
CA_DATASETS = ("ca_messages", "corporate_actions")


@dataclass
class CorporateActionInputs:
    fund: FundParameters
    business_date: dt.date
    delivered: pd.DataFrame  # the business date's deliveries (run header)
    securities: pd.DataFrame
    closures: pd.DataFrame
    messages: pd.DataFrame  # MT564 / MT565 / MT566 rows of the look-back window (one per option)
    state: BookState | None  # the books at the close of the business date
    record_states: dict[dt.date, BookState]  # the books at the close of each passed record date
    books_events: pd.DataFrame  # the books' own event feed of the day
    opened_on: dt.date | None  # the books' opening date (events ex before it are in the opening book)
    violations: list[Violation] = field(default_factory=list)

    @property
    def violations_table(self) -> pd.DataFrame:
        return violations_frame(self.violations)


def gather_corporate_actions(store: Path | str, fund: FundParameters, business_date: dt.date) -> CorporateActionInputs:
    """Read everything the corporate-actions control needs for ``fund`` on ``business_date``."""
    code = fund.fund_code
    catalogue = Catalogue(store)
    with open_store(store, read_only=True) as con, catalogue.session():
        reference = catalogue.reference()
        recent = catalogue.ca_messages(fund=code, start=business_date - dt.timedelta(days=LOOKBACK_DAYS), end=business_date)
        # an event with a message in the window is followed from its first notification, however old
        messages = catalogue.ca_messages(fund=code, end=business_date, corporate_references=set(recent["corporate_reference"])) if len(recent) else recent
        messages = followed_messages(messages, pd.Timestamp(business_date))
        books_events = catalogue.rows("corporate_actions", on=business_date)
        violations = catalogue.violations(fund=code, on=business_date, datasets=CA_DATASETS)
        delivered = catalogue.deliveries(on=business_date, reference=True, statement_accounts=[])
        opened_on = catalogue.opening_date()
        state = load_state(store, code, business_date, con)
        record_states = {}
        for day in sorted(_passed_record_dates(messages, business_date)):
            record_state = load_state(store, code, _on_or_before(catalogue.business_dates(up_to=day), day), con)
            if record_state is not None:
                record_states[day] = record_state
    return CorporateActionInputs(fund, business_date, delivered, reference["securities"], reference["market_closures"], messages, state,
                                 record_states, books_events, opened_on, violations)


def _passed_record_dates(messages: pd.DataFrame, business_date: dt.date) -> set[dt.date]:
    """The record dates passed, and the day before each ex-date passed (a split's holding is taken
    before the books apply it)."""
    dates = {d.date() for d in pd.to_datetime(messages["record_date"]).dropna()}
    dates |= {(d - pd.Timedelta(days=1)).date() for d in pd.to_datetime(messages["ex_date"]).dropna()}
    return {d for d in dates if d <= business_date}


def _on_or_before(dates: list[dt.date], day: dt.date) -> dt.date:
    earlier = [d for d in dates if d <= day]
    return earlier[-1] if earlier else day
