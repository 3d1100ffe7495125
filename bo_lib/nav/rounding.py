"""Rounding of NAV figures (NAV per share, units, cents): ROUND_HALF_UP, via bo_lib.money."""

from __future__ import annotations

from bo_lib.money import round_half_up_array


def half_up(values, decimals: int):
    """ROUND_HALF_UP of floats at ``decimals`` (a float for a scalar, an array or Series otherwise)."""
    result = round_half_up_array(values, decimals)
    return float(result) if getattr(result, "ndim", 1) == 0 else result
