"""Benchmark of the shadow NAV: time to load a fund's books (opening + every delivery) and to strike
its NAV history with every control, for the largest sample fund (by net assets), and optionally for
a scaled world generated into /tmp (2,000 securities, 100 trades a day per fund; smaller if the generator cannot place them).

    .venv/bin/python bench/nav.py [--repeat 3] [--scaled]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bo_lib.data.layout import latest_business_date  # noqa: E402
from bo_lib.data.loaders import account_fund_map  # noqa: E402
from bo_lib.data.nav_inputs import gather_nav_books  # noqa: E402
from bo_lib.nav.daily import strike_nav  # noqa: E402
from bo_lib.parameters import load_funds  # noqa: E402


def time_fund(data_root: Path, parameters_dir: Path, fund: str | None, repeat: int) -> dict:
    funds = load_funds(parameters_dir)
    date = latest_business_date(data_root)
    accounts = account_fund_map(funds)
    if fund is None:  # the largest fund by net assets on the date
        sizes = {}
        for code, params in funds.items():
            report = strike_nav(gather_nav_books(data_root, params, date, accounts).books, date)
            sizes[code] = report.key_figures()["net_assets"]
        fund = max(sizes, key=sizes.get)
    load, strike = [], []
    for _ in range(repeat):
        start = time.perf_counter()
        inputs = gather_nav_books(data_root, funds[fund], date, accounts)
        load.append(time.perf_counter() - start)
        start = time.perf_counter()
        report = strike_nav(inputs.books, date)
        strike.append(time.perf_counter() - start)
    return {"fund": fund, "date": date.isoformat(), "nav_dates": len(report.result.valuation_dates), "trades": len(inputs.books.trades),
            "positions": int(report.result.valuation["nav_date"].eq(report.result.valuation["nav_date"].max()).sum()),
            "load_seconds_median": round(statistics.median(load), 3), "strike_seconds_median": round(statistics.median(strike), 3),
            "net_assets": report.key_figures()["net_assets"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--scaled", action="store_true", help="also a generated world with 2,000 securities and 100 trades a day")
    args = parser.parse_args()
    out = {"sample": time_fund(ROOT / "data", ROOT / "parameters", None, args.repeat)}
    if args.scaled:
        from bo_lib.data.sample_world import generate_sample_world

        # the generator cannot always place 2,000 securities (the opening cash of a fund goes negative):
        # fall back to smaller universes and say which one was timed
        for securities in (2000, 1000, 500):
            with tempfile.TemporaryDirectory(dir="/tmp") as tmp:
                data = Path(tmp) / "data"
                try:
                    generate_sample_world(data, securities=securities, trades_per_day=100, parameters_dir=Path(tmp) / "parameters")
                except RuntimeError as exc:
                    out[f"scaled_{securities}"] = f"generator failed: {exc}"
                    continue
                out[f"scaled_{securities}"] = time_fund(data, Path(tmp) / "parameters", "USEQ", args.repeat)
                break
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
