"""The one conversion to a base currency. FX fixings arrive quoted X -> USD (units of USD per unit
of X); a rate to any base currency crosses through USD: ``rate(X->USD) / rate(base->USD)``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def usd_rates(fx_rates: pd.DataFrame) -> dict[str, float]:
    """Units of USD per unit of each currency from one day's fixings (USD itself is 1)."""
    quoted = fx_rates[fx_rates["to_currency"].eq("USD")]
    rates = dict(zip(quoted["from_currency"], quoted["rate"].astype("float64")))
    rates["USD"] = 1.0
    return rates


def rate_to_base(currencies: pd.Series, fx_rates: pd.DataFrame, base_currency: str) -> pd.Series:
    """Units of ``base_currency`` per unit of each currency, from one day's fixings (NaN when a
    currency, or the base, has no fixing)."""
    to_usd = usd_rates(fx_rates)
    return currencies.map(to_usd).astype("float64") / to_usd.get(base_currency, np.nan)


def to_base(amount: pd.Series, currency: pd.Series, fx_rates: pd.DataFrame, base_currency: str) -> pd.Series:
    """Amounts in ``base_currency`` at one day's fixings."""
    return amount.astype("float64") * rate_to_base(currency, fx_rates, base_currency)


def rates_to_base_by_date(fx_history: pd.DataFrame, base_currency: str, currencies: list[str]) -> pd.DataFrame:
    """Rates from each currency to the base per fixing date (1 for the base itself).

    Columns: rate_date (datetime64[ns]), currency, rate_to_base.
    """
    usd = fx_history[fx_history["to_currency"].eq("USD")][["rate_date", "from_currency", "rate"]].rename(columns={"from_currency": "currency"})
    usd["rate_date"] = pd.to_datetime(usd["rate_date"]).astype("datetime64[ns]")
    dates = usd["rate_date"].drop_duplicates()
    usd = pd.concat([usd, pd.DataFrame({"rate_date": dates, "currency": "USD", "rate": 1.0})], ignore_index=True)
    wide = usd.pivot_table(index="rate_date", columns="currency", values="rate", aggfunc="last")
    if base_currency not in wide:
        raise ValueError(f"no FX fixing for the base currency {base_currency}")
    needed = sorted(set(currencies) | {base_currency})
    cross = wide.reindex(columns=needed).div(wide[base_currency], axis=0)
    out = cross.stack(future_stack=True).rename("rate_to_base").reset_index()
    out.columns = ["rate_date", "currency", "rate_to_base"]
    return out
