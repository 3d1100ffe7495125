"""Check-digit tests against real identifiers, plus property tests for make_*."""

from __future__ import annotations

import string

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bo_lib.data.identifiers import (
    cusip_check_digit,
    is_valid_bic,
    is_valid_cusip,
    is_valid_isin,
    is_valid_lei,
    isin_check_digit,
    lei_check_digits,
    make_cusip,
    make_isin,
    make_lei,
    valid_cusip_mask,
    valid_isin_mask,
)

# Real identifiers (public reference data).
REAL_CUSIPS = ["037833100", "594918104", "38259P508"]  # Apple, Microsoft, Google (2004 class A)
REAL_ISINS = [
    "US0378331005",  # Apple
    "US5949181045",  # Microsoft
    "DE0001102580",  # German Bund (computed below from its NSIN)
    "AU0000XVGZA3",  # letters inside the NSIN
    "GB0002634946",  # BAE Systems
]
REAL_LEIS = [
    "5493001KJTIIGC8Y1R12",  # Bloomberg Finance L.P.
    "HWUPKR0MPOU8FGXBT394",  # Apple Inc.
    "7LTWFZYICNSX8D621K86",  # Deutsche Bank AG
]


def _one_char_changes(s: str, alphabet: str) -> list[str]:
    """Every string differing from ``s`` in one position, digit for digit and
    letter for letter (the substitutions these check-digit schemes guarantee
    to detect; a digit<->letter swap changes the length of the expanded number
    and can, rarely, collide)."""
    out = []
    for i, ch in enumerate(s):
        same_class = [c for c in alphabet if c.isdigit() == ch.isdigit()]
        for repl in same_class:
            if repl != ch:
                out.append(s[:i] + repl + s[i + 1 :])
    return out


# ---------------------------------------------------------------- CUSIP
@pytest.mark.parametrize("cusip", REAL_CUSIPS)
def test_real_cusips(cusip):
    assert cusip_check_digit(cusip[:8]) == cusip[8]
    assert make_cusip(cusip[:8]) == cusip
    assert is_valid_cusip(cusip)


@pytest.mark.parametrize("cusip", REAL_CUSIPS)
def test_cusip_rejects_every_single_digit_change(cusip):
    # The double-add-double scheme detects every single-character substitution.
    for changed in _one_char_changes(cusip, string.digits):
        assert not is_valid_cusip(changed), changed


def test_cusip_special_characters_and_bad_input():
    assert is_valid_cusip(make_cusip("12345*@#"))
    for bad in ["03783310", "0378331000", "037833 00", "o37833100", None, 37833100]:
        assert not is_valid_cusip(bad)
    with pytest.raises(ValueError):
        cusip_check_digit("0378331")


# ---------------------------------------------------------------- ISIN
def test_us_isin_is_built_from_cusip():
    assert make_isin("US", "037833100") == "US0378331005"
    assert make_isin("US", "594918104") == "US5949181045"


def test_bund_isin_computed():
    # Check digit of DE000110258 by hand: letters D=13, E=14 ->
    # "1314000110258"; Luhn doubling from the right gives 0.
    assert isin_check_digit("DE000110258") == "0"
    assert make_isin("DE", "000110258") == "DE0001102580"
    # a 6-digit WKN-style NSIN is zero-padded to 9 characters
    assert make_isin("DE", "110258") == "DE0001102580"


@pytest.mark.parametrize("isin", REAL_ISINS)
def test_real_isins(isin):
    assert is_valid_isin(isin)
    assert isin_check_digit(isin[:11]) == isin[11]


@pytest.mark.parametrize("isin", REAL_ISINS)
def test_isin_rejects_one_character_change(isin):
    # Luhn catches every single-digit substitution: change each digit position.
    for changed in _one_char_changes(isin, string.digits):
        assert not is_valid_isin(changed), changed


def test_isin_bad_input():
    for bad in ["US037833100", "US03783310055", "us0378331005", "1S0378331005", "", None]:
        assert not is_valid_isin(bad)
    with pytest.raises(ValueError):
        make_isin("US", "0378331000")


# ---------------------------------------------------------------- LEI
@pytest.mark.parametrize("lei", REAL_LEIS)
def test_real_leis(lei):
    assert lei_check_digits(lei[:18]) == lei[18:]
    assert make_lei(lei[:18]) == lei
    assert is_valid_lei(lei)


@pytest.mark.parametrize("lei", REAL_LEIS)
def test_lei_rejects_every_one_character_change(lei):
    # MOD 97-10 detects all single substitutions.
    for changed in _one_char_changes(lei, string.digits + string.ascii_uppercase):
        assert not is_valid_lei(changed), changed


def test_lei_bad_input():
    for bad in ["5493001KJTIIGC8Y1R1", "5493001KJTIIGC8Y1R1X", "5493001kjtiigc8y1r12", None]:
        assert not is_valid_lei(bad)


# ---------------------------------------------------------------- BIC
@pytest.mark.parametrize("bic", ["DEUTDEFF", "DEUTDEFF500", "ABNANL2A", "ASNBNL21", "BNPAFRPPXXX"])
def test_valid_bics(bic):
    assert is_valid_bic(bic)


@pytest.mark.parametrize(
    "bic", ["DEUTDEF", "DEUTDEFF5", "DEUTDEFF5000", "deutdeff", "DEU1DEFF", "DEUTD3FF", "", None]
)
def test_invalid_bics(bic):
    assert not is_valid_bic(bic)


# ---------------------------------------------------------------- masks
def test_masks():
    isins = pd.Series(["US0378331005", "US0378331006", None, float("nan"), "DE0001102580"])
    assert valid_isin_mask(isins).tolist() == [True, False, False, False, True]
    assert valid_isin_mask(isins).dtype == bool
    cusips = pd.Series(["037833100", "037833101", pd.NA, "594918104"], dtype="object")
    assert valid_cusip_mask(cusips).tolist() == [True, False, False, True]
    assert valid_cusip_mask(pd.Series([], dtype=object)).tolist() == []


# ---------------------------------------------------------------- properties
_ALNUM = string.digits + string.ascii_uppercase


@settings(max_examples=300)
@given(st.text(alphabet=_ALNUM + "*@#", min_size=8, max_size=8))
def test_make_cusip_always_valid(body):
    assert is_valid_cusip(make_cusip(body))


@settings(max_examples=300)
@given(
    st.text(alphabet=string.ascii_uppercase, min_size=2, max_size=2),
    st.text(alphabet=_ALNUM, min_size=9, max_size=9),
)
def test_make_isin_always_valid(country, nsin):
    isin = make_isin(country, nsin)
    assert len(isin) == 12
    assert is_valid_isin(isin)


@settings(max_examples=300)
@given(st.text(alphabet=_ALNUM, min_size=18, max_size=18))
def test_make_lei_always_valid(body):
    lei = make_lei(body)
    assert len(lei) == 20
    assert is_valid_lei(lei)
