"""Where inbound and reference files live under a data root, and which business dates exist.

```
<data_root>/reference/              securities.csv, counterparties.csv, market_closures.csv, investors.csv
<data_root>/opening/<YYYY-MM-DD>/   positions.csv, cash_balances.csv, share_classes.csv, prices.csv, fx_rates.csv
                                    (the quarter-end opening book and its valuation)
<data_root>/inbound/<YYYY-MM-DD>/   one file per daily dataset, plus statements/<account>.mt940|.camt053.xml
                                    and messages/<reference>.mt564|.mt565|.mt566 (corporate actions)
<data_root>/overrides/prices.csv    manual price overrides (optional)
<data_root>/seeded_exceptions.json  ground truth of the sample world (absent for real feeds)
```
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from bo_lib.hashing import sha256_file

_DATE_DIR = re.compile(r"^\d{4}-\d{2}-\d{2}$")

#: daily inbound datasets: name -> file name under inbound/<date>/ (statements are per account)
INBOUND_FILES: dict[str, str] = {
    "trades": "trades.csv",
    "broker_confirms": "broker_confirms.csv",
    "custodian_positions": "custodian_positions.csv",
    "settlement_status": "settlement_status.csv",
    "prices": "prices.csv",
    "fx_rates": "fx_rates.csv",
    "corporate_actions": "corporate_actions.csv",
    "capital_activity": "capital_activity.csv",
    "admin_nav": "admin_nav.csv",
    "cash_ledger": "cash_ledger.csv",
}

REFERENCE_FILES: dict[str, str] = {
    "securities": "securities.csv",
    "counterparties": "counterparties.csv",
    "market_closures": "market_closures.csv",
    "investors": "investors.csv",
}

#: manual inputs the back office keeps under the data root (validated and ingested like reference data)
MANUAL_FILES: dict[str, str] = {
    "price_overrides": "overrides/prices.csv",  # price_date, security_id, price, reason, approved_by
}

OPENING_FILES: dict[str, str] = {
    "opening_positions": "positions.csv",
    "opening_cash": "cash_balances.csv",
    "opening_share_classes": "share_classes.csv",
    "opening_prices": "prices.csv",
    "opening_fx_rates": "fx_rates.csv",
}

STATEMENT_SUFFIXES = {"mt940": ".mt940", "camt053": ".camt053.xml"}
#: the custodians' ISO 15022 corporate-action messages of a day, one file per message, under
#: inbound/<date>/messages/: notifications (MT564), confirmations (MT566) and the copies of the
#: elections the funds sent (MT565)
MESSAGES_DIR = "messages"
MESSAGE_SUFFIXES = {"564": ".mt564", "565": ".mt565", "566": ".mt566"}


def inbound_dir(data_root: Path | str, business_date: dt.date) -> Path:
    return Path(data_root) / "inbound" / business_date.isoformat()


def outbound_messages_dir(data_root: Path | str, business_date: dt.date) -> Path:
    """Where ``bo elect`` writes the elections (MT565) the workbench sends on a business date, for
    the custodians' gateway to pick up: outbound/<date>/messages/. Ingest reads them like the
    inbound messages, so the books and the controls count an election from the moment it is sent."""
    return Path(data_root) / "outbound" / business_date.isoformat() / MESSAGES_DIR


def statement_path(data_root: Path | str, business_date: dt.date, account: str, statement_format: str) -> Path:
    return inbound_dir(data_root, business_date) / "statements" / f"{account}{STATEMENT_SUFFIXES[statement_format]}"


def business_dates(data_root: Path | str) -> list[dt.date]:
    """Business dates that have an inbound folder, oldest first."""
    root = Path(data_root) / "inbound"
    if not root.is_dir():
        return []
    return sorted(dt.date.fromisoformat(p.name) for p in root.iterdir() if p.is_dir() and _DATE_DIR.match(p.name))


def latest_business_date(data_root: Path | str) -> dt.date:
    dates = business_dates(data_root)
    if not dates:
        raise FileNotFoundError(f"no inbound/<YYYY-MM-DD> folders under {Path(data_root).resolve()}")
    return dates[-1]


def previous_business_date(data_root: Path | str, business_date: dt.date) -> dt.date | None:
    """The latest inbound date before ``business_date`` (the previous delivery), if any."""
    earlier = [d for d in business_dates(data_root) if d < business_date]
    return earlier[-1] if earlier else None


def opening_date(data_root: Path | str) -> dt.date:
    root = Path(data_root) / "opening"
    dates = sorted(p.name for p in root.iterdir() if p.is_dir() and _DATE_DIR.match(p.name)) if root.is_dir() else []
    if not dates:
        raise FileNotFoundError(f"no opening/<YYYY-MM-DD> folder under {Path(data_root).resolve()}")
    return dt.date.fromisoformat(dates[-1])


def resolve_business_date(data_root: Path | str, business_date: str | dt.date | None) -> dt.date:
    """``None``/empty → latest date present; a date must have its inbound folder."""
    if business_date in (None, ""):
        return latest_business_date(data_root)
    if isinstance(business_date, str):
        business_date = dt.date.fromisoformat(business_date)
    if not inbound_dir(data_root, business_date).is_dir():
        present = business_dates(data_root)
        span = f"{present[0]}..{present[-1]}" if present else "none"
        raise FileNotFoundError(f"no inbound data for {business_date} under {Path(data_root).resolve()} (dates present: {span})")
    return business_date


@dataclass(frozen=True)
class InputFile:
    dataset: str
    path: Path
    size_bytes: int
    sha256: str


def input_files(data_root: Path | str, business_date: dt.date, statement_accounts: list[str] | None = None,
                history: bool = False) -> pd.DataFrame:
    """Every input file a job for ``business_date`` may read, with size and SHA-256.

    Reference and opening files, the day's inbound files, the statements of the given cash
    accounts (all statements when ``statement_accounts`` is None) and the day's corporate-action
    messages. With ``history``, the inbound
    files of every earlier delivery too: the books, NAV history, status history and statement
    chain are read from them, so the archive must hash them all. Columns: dataset, path
    (relative to the data root), size_bytes, sha256.
    """
    if history:
        frames = [input_files(data_root, business_date, statement_accounts)]
        frames += [_inbound_only(input_files(data_root, day, statement_accounts)) for day in business_dates(data_root) if day < business_date]
        return pd.concat(frames, ignore_index=True)
    data_root = Path(data_root)
    candidates: list[tuple[str, Path]] = []
    candidates += [(name, data_root / "reference" / fn) for name, fn in REFERENCE_FILES.items()]
    try:
        opening = opening_date(data_root) if (data_root / "opening").is_dir() else None
    except FileNotFoundError:
        opening = None
    if opening is not None:
        candidates += [(name, data_root / "opening" / opening.isoformat() / fn) for name, fn in OPENING_FILES.items()]
    day = inbound_dir(data_root, business_date)
    candidates += [(name, day / fn) for name, fn in INBOUND_FILES.items()]
    statements = day / "statements"
    if statements.is_dir():
        for path in sorted(statements.iterdir()):
            account = path.name.split(".", 1)[0]
            if statement_accounts is None or account in statement_accounts:
                candidates.append((f"statement:{account}", path))
    for messages in (day / MESSAGES_DIR, outbound_messages_dir(data_root, business_date)):
        if messages.is_dir():
            candidates += [("ca_messages", path) for path in sorted(messages.iterdir())]
    rows = [
        {
            "dataset": name,
            "path": path.relative_to(data_root).as_posix(),
            "size_bytes": path.stat().st_size,
            "sha256": sha256_file(path),
        }
        for name, path in candidates
        if path.is_file()
    ]
    return pd.DataFrame(rows, columns=["dataset", "path", "size_bytes", "sha256"])


def _inbound_only(files: pd.DataFrame) -> pd.DataFrame:
    return files[files["path"].str.startswith(("inbound/", "outbound/"))]
