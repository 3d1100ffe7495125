"""What the books read for one NAV date: the fund's deliveries of the day (trades, orders, cash
ledger, the administrator's NAV), the live corporate-action feed, the fund's corporate-action
messages of the look-back window, today's FX, and the prices of the last few deliveries (a carried-forward or stale price needs its history, the age of the books does
not).

``day_inputs`` reads one day; ``DeliveryWindow`` reads a run of days at once (one query per dataset
for a gap the books fill forward) and hands out each day's slice. ``price_window`` is the same
reach of prices for a control valuing holdings outside the books (the position recon, the 13F), so
a price is carried forward as far back as the NAV carries it.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from bo_lib.books.nav import DayInputs
from bo_lib.books.notified import MESSAGE_LOOKBACK_DAYS, followed_messages
from bo_lib.data.catalogue import Catalogue

#: how many deliveries of prices back the NAV reads (carry forward, unchanged-price runs)
PRICE_WINDOW_DELIVERIES = 10
_FUND_DATASETS = ("trades", "capital_activity", "cash_ledger", "admin_nav")
_SHARED_DATASETS = ("corporate_actions", "fx_rates")


def day_inputs(catalogue: Catalogue, fund: str, business_date: dt.date, price_window: int = PRICE_WINDOW_DELIVERIES) -> DayInputs:
    """The deliveries ``business_date`` brings to ``fund``'s books."""
    return DeliveryWindow(catalogue, fund, [business_date], price_window).day(business_date)


def price_window(catalogue: Catalogue, day: dt.date, deliveries: int = PRICE_WINDOW_DELIVERIES) -> pd.DataFrame:
    """Prices by source of the last ``deliveries`` price dates up to ``day``: the inbound deliveries,
    and the opening book's prices when the window reaches back to the opening (a price date too)."""
    with catalogue.session():
        opened = catalogue.opening_date()
        inbound = [d for d in catalogue.business_dates(up_to=day) if opened is None or d > opened]
        dates = ([opened] if opened is not None and opened <= day else []) + inbound
        window = dates[-deliveries:] if deliveries > 0 else []
        frames = []
        if opened is not None and opened in window:
            frames.append(catalogue.opening()["opening_prices"])
        if [d for d in window if d != opened]:
            frames.append(catalogue.rows("prices", start=min(d for d in window if d != opened), end=day))
    frames = [f for f in frames if len(f)]
    return pd.concat(frames, ignore_index=True) if frames else catalogue.rows("prices", on=day)


class DeliveryWindow:
    """The books' deliveries of a run of business dates, read in one go."""

    def __init__(self, catalogue: Catalogue, fund: str, days: list[dt.date], price_window: int = PRICE_WINDOW_DELIVERIES):
        self.fund = fund
        self.price_window = price_window
        with catalogue.session():
            first, last = min(days), max(days)
            delivered = catalogue.business_dates(up_to=last)
            earlier = [d for d in delivered if d < first][-(price_window - 1):] if price_window > 1 else []
            self.price_dates = earlier + [d for d in delivered if d >= first]
            start = self.price_dates[0] if self.price_dates else first
            self.rows = {name: catalogue.rows(name, fund=fund, start=first, end=last) for name in _FUND_DATASETS}
            self.rows.update({name: catalogue.rows(name, start=first, end=last) for name in _SHARED_DATASETS})
            self.prices = catalogue.rows("prices", start=start, end=last)
            recent = catalogue.ca_messages(fund=fund, start=first - dt.timedelta(days=MESSAGE_LOOKBACK_DAYS), end=last)
            self.messages = catalogue.ca_messages(fund=fund, end=last, corporate_references=set(recent["corporate_reference"])) if len(recent) \
                else recent  # each event followed from its first notification (``notified.followed_messages``)
            self.inventory = catalogue.deliveries(start=first, end=last, statement_accounts=[])
            overrides = catalogue.price_overrides()
        self.overrides = overrides if len(overrides) else None

    def day(self, business_date: dt.date) -> DayInputs:
        ts = pd.Timestamp(business_date)

        def on(frame: pd.DataFrame) -> pd.DataFrame:
            return frame[frame["delivery_date"].eq(ts)].reset_index(drop=True)

        window = [d for d in self.price_dates if d <= business_date][-self.price_window:]
        prices = self.prices[self.prices["delivery_date"].between(pd.Timestamp(window[0]), ts)] if window else self.prices.iloc[0:0]
        inventory = self.inventory[pd.to_datetime(self.inventory["business_date"]).eq(ts)]
        messages = followed_messages(self.messages, ts)
        return DayInputs(business_date=business_date, trades=on(self.rows["trades"]), corporate_actions=on(self.rows["corporate_actions"]),
                         capital_activity=on(self.rows["capital_activity"]), cash_ledger=on(self.rows["cash_ledger"]),
                         prices=prices.reset_index(drop=True), fx_rates=on(self.rows["fx_rates"]), admin_nav=on(self.rows["admin_nav"]),
                         price_overrides=self.overrides, ca_messages=messages.reset_index(drop=True), deliveries=[int(x) for x in inventory["delivery_id"]])
