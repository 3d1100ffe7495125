"""Check digits and format checks for real-world security and entity identifiers.

This module owns the arithmetic behind the identifiers that reference data,
trade files and regulatory reports carry:

* CUSIP (9 characters, modulus-10 "double-add-double" check digit),
* ISIN (ISO 6166: 2-letter country + 9-character NSIN + Luhn check digit
  over the letters-to-numbers expansion; a US ISIN's NSIN is the CUSIP),
* LEI (ISO 17442: 18-character body + 2 check digits, ISO 7064 MOD 97-10),
* BIC (ISO 9362: 8 or 11 characters, format only -- there is no check digit).

Identifiers are always strings (leading zeros matter).  The scalar functions
raise ``ValueError`` for a body they cannot compute a check digit for and
return ``False`` from the ``is_valid_*`` predicates for anything malformed
(including non-strings).  ``valid_isin_mask`` / ``valid_cusip_mask`` apply the
predicates to a pandas Series of reference data.
"""

from __future__ import annotations

import re
import string

import pandas as pd

__all__ = [
    "cusip_check_digit",
    "make_cusip",
    "is_valid_cusip",
    "isin_check_digit",
    "make_isin",
    "is_valid_isin",
    "lei_check_digits",
    "make_lei",
    "is_valid_lei",
    "is_valid_bic",
    "valid_isin_mask",
    "valid_cusip_mask",
]

_DIGITS = string.digits
_UPPER = string.ascii_uppercase

# Value of every character allowed in a CUSIP body: 0-9 -> 0-9, A-Z -> 10-35,
# and the three special characters used for private placements / PPNs.
_CUSIP_VALUES = {c: i for i, c in enumerate(_DIGITS + _UPPER)}
_CUSIP_VALUES.update({"*": 36, "@": 37, "#": 38})

_CUSIP_BODY_RE = re.compile(r"[0-9A-Z*@#]{8}")
_ISIN_RE = re.compile(r"[A-Z]{2}[0-9A-Z]{9}[0-9]")
_ISIN_BODY_RE = re.compile(r"[A-Z]{2}[0-9A-Z]{9}")
_LEI_RE = re.compile(r"[0-9A-Z]{18}[0-9]{2}")
_LEI_BODY_RE = re.compile(r"[0-9A-Z]{18}")
# 4 letters institution, 2 letters country, 2 alnum location, optional 3 alnum branch.
_BIC_RE = re.compile(r"[A-Z]{4}[A-Z]{2}[A-Z0-9]{2}(?:[A-Z0-9]{3})?")


def _require_str(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{what} must be a string, got {type(value).__name__}")
    return value


# --------------------------------------------------------------------------- CUSIP
def cusip_check_digit(body8: str) -> str:
    """Check digit of an 8-character CUSIP body (issuer 6 + issue 2)."""
    body = _require_str(body8, "CUSIP body")
    if not _CUSIP_BODY_RE.fullmatch(body):
        raise ValueError(f"CUSIP body must be 8 characters of 0-9, A-Z, *, @, #: {body8!r}")
    total = 0
    for position, char in enumerate(body, start=1):
        value = _CUSIP_VALUES[char]
        if position % 2 == 0:  # every second character is doubled
            value *= 2
        total += value // 10 + value % 10  # add the digits of the product
    return str((10 - total % 10) % 10)


def make_cusip(body8: str) -> str:
    """The 9-character CUSIP for an 8-character body."""
    return body8 + cusip_check_digit(body8)


def is_valid_cusip(s: object) -> bool:
    """True if ``s`` is a 9-character CUSIP with a correct check digit."""
    if not isinstance(s, str) or len(s) != 9 or not _CUSIP_BODY_RE.fullmatch(s[:8]):
        return False
    return s[8] == cusip_check_digit(s[:8])


# --------------------------------------------------------------------------- ISIN
def _luhn_check_digit(digits: str) -> str:
    """Luhn check digit for a string of decimal digits (check digit appended right)."""
    total = 0
    # Walking from the right, the digit next to the (future) check digit is doubled.
    for i, char in enumerate(reversed(digits)):
        value = int(char)
        if i % 2 == 0:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return str((10 - total % 10) % 10)


def _letters_to_digits(s: str) -> str:
    """ISIN / LEI expansion: 0-9 stay, A=10 ... Z=35."""
    return "".join(str(int(c, 36)) for c in s)


def isin_check_digit(body11: str) -> str:
    """Check digit of an 11-character ISIN body (country code + NSIN)."""
    body = _require_str(body11, "ISIN body")
    if not _ISIN_BODY_RE.fullmatch(body):
        raise ValueError(
            f"ISIN body must be 2 letters + 9 characters of 0-9/A-Z: {body11!r}"
        )
    return _luhn_check_digit(_letters_to_digits(body))


def make_isin(country2: str, nsin9: str) -> str:
    """The 12-character ISIN for a country code and a national security id.

    A shorter NSIN is left-padded with zeros to 9 characters (the usual rule,
    e.g. a 6-digit German WKN); for US/CA securities pass the 9-character CUSIP.
    """
    country = _require_str(country2, "country code")
    nsin = _require_str(nsin9, "NSIN")
    if len(nsin) > 9:
        raise ValueError(f"NSIN longer than 9 characters: {nsin9!r}")
    body = country + nsin.rjust(9, "0")
    return body + isin_check_digit(body)


def is_valid_isin(s: object) -> bool:
    """True if ``s`` is a 12-character ISIN with a correct check digit."""
    if not isinstance(s, str) or not _ISIN_RE.fullmatch(s):
        return False
    return s[11] == isin_check_digit(s[:11])


# --------------------------------------------------------------------------- LEI
def lei_check_digits(body18: str) -> str:
    """The two ISO 7064 MOD 97-10 check digits of an 18-character LEI body."""
    body = _require_str(body18, "LEI body")
    if not _LEI_BODY_RE.fullmatch(body):
        raise ValueError(f"LEI body must be 18 characters of 0-9/A-Z: {body18!r}")
    remainder = int(_letters_to_digits(body + "00")) % 97
    return f"{98 - remainder:02d}"


def make_lei(body18: str) -> str:
    """The 20-character LEI for an 18-character body."""
    return body18 + lei_check_digits(body18)


def is_valid_lei(s: object) -> bool:
    """True if ``s`` is a 20-character LEI whose MOD 97-10 remainder is 1."""
    if not isinstance(s, str) or not _LEI_RE.fullmatch(s):
        return False
    return int(_letters_to_digits(s)) % 97 == 1


# --------------------------------------------------------------------------- BIC
def is_valid_bic(s: object) -> bool:
    """True if ``s`` has the ISO 9362 shape (8 or 11 characters, upper case).

    Format only: a BIC has no check digit and validity of the institution is a
    directory look-up, not something computable.
    """
    return isinstance(s, str) and _BIC_RE.fullmatch(s) is not None


# --------------------------------------------------------------------------- vectorised
def _mask(series: pd.Series, predicate) -> pd.Series:
    # Missing values (None/NaN/NA) are not valid identifiers; non-strings neither.
    result = series.map(lambda v: bool(predicate(v)) if isinstance(v, str) else False)
    return result.astype(bool)


def valid_isin_mask(series: pd.Series) -> pd.Series:
    """Boolean Series, True where the value is a valid ISIN (NaN/non-str -> False)."""
    return _mask(series, is_valid_isin)


def valid_cusip_mask(series: pd.Series) -> pd.Series:
    """Boolean Series, True where the value is a valid CUSIP (NaN/non-str -> False)."""
    return _mask(series, is_valid_cusip)
