"""Money rounding: ROUND_HALF_UP at a stated number of decimals, exact on the decimal value shown.

Floats such as 2.675 are stored as 2.67499999...; rounding them naively gives 2.67. Here each
value is taken at its shortest repr (what the user sees), then rounded half-up as a Decimal.
Never use Python's ``round()`` for money (it rounds half to even).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pandas as pd


def round_half_up(value: float | Decimal, decimals: int = 2) -> Decimal:
    """One amount rounded half-up (away from zero on a tie) to ``decimals`` places."""
    exponent = Decimal(1).scaleb(-decimals)
    return Decimal(repr(value) if isinstance(value, float) else value).quantize(exponent, rounding=ROUND_HALF_UP)


def amount_text(value: float, decimals: int) -> str:
    """``value`` with thousands separators at ``decimals`` places, and no negative zero: a value
    that shows as zero has no sign (``-0.004`` at 2 places is ``0.00``)."""
    text = f"{value:,.{decimals}f}"
    return text[1:] if text.startswith("-") and not text.strip("-0.,") else text


def round_half_up_array(values, decimals: int = 2):
    """Vectorised half-up rounding of floats; NaN stays NaN. Returns float64 (Series if given one)."""
    arr = np.asarray(values, dtype="float64")
    scaled = np.abs(arr) * (10.0**decimals)
    # guard the representation error (x.xx5 stored as x.xx4999...) by a few units in the last place
    # of the scaled value: enough for a tie shown as .5, never enough to move any other amount
    rounded = np.floor(scaled + 0.5 + 4 * np.spacing(scaled))
    result = np.sign(arr) * rounded / (10.0**decimals)
    if isinstance(values, pd.Series):
        return pd.Series(result, index=values.index, name=values.name)
    return result


def half_up(values, decimals: int):
    """ROUND_HALF_UP of floats at ``decimals``: a float for a scalar, an array or Series otherwise
    (NAV per share, units, cents)."""
    result = round_half_up_array(values, decimals)
    return float(result) if getattr(result, "ndim", 1) == 0 else result
