"""Benchmark of the shadow NAV on the book of record: for the largest sample fund (by net assets)
on the last date, the time to read what the NAV report needs from the store (the previous and the
day's closing states, the day's deliveries, the history window) with the day struck again from the
previous state, and the time of the report's controls; the one-off build of the store (every
fund's books from the opening) is printed too, untimed by the repeats. Optionally for a scaled world
(2,000 securities, 100 trades a day per fund; smaller if the generator cannot place them).

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

from bo_lib.books.prepare import prepare_books  # noqa: E402
from bo_lib.data.layout import latest_business_date  # noqa: E402
from bo_lib.nav.daily import nav_report  # noqa: E402
from bo_lib.nav.inputs import gather_nav  # noqa: E402
from bo_lib.parameters import load_funds  # noqa: E402


def time_fund(data_root: Path, parameters_dir: Path, fund: str | None, repeat: int) -> dict:
    funds = load_funds(parameters_dir)
    date = latest_business_date(data_root)
    with tempfile.TemporaryDirectory() as tmp:
        store = Path(tmp) / "workbench.duckdb"
        clock = time.perf_counter()
        ready = prepare_books(data_root, store, funds, sorted(funds), date, run_id="bench")
        build = time.perf_counter() - clock
        if ready.problems:
            raise SystemExit(f"books: {ready.problems}")
        if fund is None:  # the largest fund by net assets on the date
            sizes = {code: nav_report(gather_nav(store, params, date)).key_figures()["net_assets"] for code, params in funds.items()}
            fund = max(sizes, key=sizes.get)
        load, report_times = [], []
        for _ in range(repeat):
            start = time.perf_counter()
            inputs = gather_nav(store, funds[fund], date)
            load.append(time.perf_counter() - start)
            start = time.perf_counter()
            report = nav_report(inputs)
            report_times.append(time.perf_counter() - start)
    positions = report.result.valuation
    return {"fund": fund, "date": date.isoformat(), "business_days_in_books": len(ready.rolls[fund].struck),
            "positions": int(positions["nav_date"].eq(positions["nav_date"].max()).sum()), "history_nav_dates": int(inputs.history["nav_date"].nunique()),
            "one_off_build_seconds_all_funds": round(build, 2),
            "read_and_strike_seconds_median": round(statistics.median(load), 3), "report_seconds_median": round(statistics.median(report_times), 3),
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
