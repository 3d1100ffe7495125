"""The sample world the mutations start from: paths, the last sample date, its inbound files, and
CSV helpers that rewrite one row and leave every other row's values as they were."""

from __future__ import annotations

import csv
import datetime as dt
import io
from functools import lru_cache
from pathlib import Path

from bo_lib.data.layout import INBOUND_FILES, business_dates

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "data"
PARAMETERS = REPO / "parameters"
NOTEBOOKS = REPO / "notebooks"

#: the last sample date: the latest folder under data/inbound
LAST = business_dates(DATA)[-1]
DATES = business_dates(DATA)


def inbound_rel(dataset: str, day: dt.date = LAST) -> str:
    """The file's path under the data root, as violations name it."""
    return f"inbound/{day.isoformat()}/{INBOUND_FILES[dataset]}"


def statement_files(day: dt.date = LAST) -> list[Path]:
    return sorted((DATA / "inbound" / day.isoformat() / "statements").iterdir())


def parse_csv(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))


def write_csv(rows: list[list[str]]) -> bytes:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    return buf.getvalue().encode("utf-8")


@lru_cache(maxsize=None)
def clean_bytes(dataset: str) -> bytes:
    return (DATA / inbound_rel(dataset)).read_bytes()


@lru_cache(maxsize=None)
def clean_rows(dataset: str) -> tuple[tuple[str, ...], ...]:
    """Header and rows of the clean file (line n is index n - 1)."""
    return tuple(tuple(r) for r in parse_csv(clean_bytes(dataset)))


@lru_cache(maxsize=None)
def funds():
    from bo_lib.parameters import load_funds

    return load_funds(PARAMETERS)


@lru_cache(maxsize=None)
def account_funds() -> dict[str, str]:
    from bo_lib.data.loaders import account_fund_map

    return account_fund_map(funds())


@lru_cache(maxsize=None)
def reference():
    from bo_lib.data.loaders import load_reference

    return load_reference(DATA)


def custodian_of(account: str) -> str | None:
    for fund in funds().values():
        for acct in fund.securities_accounts:
            if acct.account == account:
                return acct.custodian
    return None


def share_classes(fund: str) -> set[str]:
    return {c.code for c in funds()[fund].share_classes} if fund in funds() else set()


@lru_cache(maxsize=None)
def known_currencies() -> frozenset[str]:
    """Every currency the world knows: the funds', their classes' and accounts', the securities
    master's and the FX fixings'."""
    out = set(reference()["securities"]["currency"])
    for fund in funds().values():
        out |= {fund.base_currency, *(c.currency for c in fund.share_classes), *(a.currency for a in fund.cash_accounts)}
    fx = parse_csv(clean_bytes("fx_rates"))
    out |= {r[1] for r in fx[1:]} | {r[2] for r in fx[1:]}
    return frozenset(out)
