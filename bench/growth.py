"""Benchmark of growth: does a daily run cost the same on day 250 as on day 27?

Generates a world of 250 business days (``bo sample-data --days 250``, the committed seed) and, in
one run:

1. the one-off cost of building the book of record for the whole window from an empty store, as a
   new installation would (ingest every delivery, strike every fund's books day by day, record
   every fund's reconciliations);
2. on a second, empty store, production as it happens for one fund: the days before each measured
   day are processed (gap filled, untimed), then the fund's daily run of that day (``bo run --date D
   --fund F`` with the intake, settlement, NAV and reconciliation notebooks: the day's ingest, one
   day of books and recons, four papermill jobs) is timed, on days 27, 125 and 250.

Prints seconds per job on each day and the ratio day 250 / day 27 (target: at most 1.2).

    .venv/bin/python bench/growth.py [--days 250] [--fund USEQ] [--workers 1] [--keep DIR]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

NOTEBOOKS = ("intake", "settlement", "nav", "reconciliation")
TARGET_RATIO = 1.2


def build(data: Path, parameters: Path, store: Path, codes: list[str], up_to: dt.date) -> dict[str, float]:
    """Ingest, roll the books of ``codes`` and record their recons up to ``up_to``; seconds of each."""
    from bo_lib.books.prepare import prepare_books
    from bo_lib.data.ingest import dates_to_ingest, ingest
    from bo_lib.parameters import load_funds
    from bo_lib.recon.daily import reconcile_day

    funds = load_funds(parameters)
    clock = time.perf_counter()
    ingest(data, store, funds, dates=dates_to_ingest(data, store, up_to))
    ingested = time.perf_counter()
    ready = prepare_books(data, store, funds, codes, up_to, run_id="bench")  # ingest is current: rolls only
    if ready.problems:
        raise SystemExit(f"books: {ready.problems}")
    rolled = time.perf_counter()
    for code in codes:
        reconcile_day(store, funds[code], up_to, "bench")
    done = time.perf_counter()
    return {"ingest": ingested - clock, "books": rolled - ingested, "recons": done - rolled, "total": done - clock}


def daily_run(data: Path, parameters: Path, store: Path, day: dt.date, fund: str, workers: int, reports: Path) -> tuple[float, dict]:
    command = [str(Path(sys.executable).parent / "bo"), "run", "--date", day.isoformat(), "--fund", fund, "--data", str(data),
               "--parameters", str(parameters), "--store", str(store), "--reports", str(reports),
               "--notebooks", str(ROOT / "notebooks"), "--workers", str(workers)]
    for name in NOTEBOOKS:
        command += ["--notebook", name]
    start = time.perf_counter()
    proc = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    wall = time.perf_counter() - start
    if proc.returncode not in (0, 1):
        raise SystemExit(f"bo run failed:\n{proc.stdout}\n{proc.stderr}")
    manifest = json.loads((Path(proc.stdout.strip().splitlines()[-1]).parent / "manifest.json").read_text())
    return wall, manifest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=250)
    parser.add_argument("--fund", default="USEQ")
    parser.add_argument("--workers", type=int, default=1, help="parallel jobs of the timed run (default 1, as the issue measured)")
    parser.add_argument("--keep", help="folder for the world and stores (default: a temporary folder, removed)")
    parser.add_argument("--skip-one-off", action="store_true", help="skip the one-off build from an empty store")
    args = parser.parse_args()

    from bo_lib.data.layout import business_dates
    from bo_lib.data.sample_world import generate_sample_world

    scratch = None if args.keep else tempfile.TemporaryDirectory()
    root = Path(args.keep or scratch.name)
    data, parameters = root / "data", root / "parameters"
    if not (data / "seeded_exceptions.json").exists():
        clock = time.perf_counter()
        generate_sample_world(data, parameters_dir=parameters, days=args.days)
        print(f"world of {args.days} business days generated in {time.perf_counter() - clock:.1f} s under {root}", flush=True)
    dates = business_dates(data)
    measured = sorted({min(27, len(dates)), min(125, len(dates)), len(dates)})
    from bo_lib.parameters import load_funds

    codes = sorted(load_funds(parameters))

    if not args.skip_one_off:
        one_off = root / "one-off.duckdb"
        one_off.unlink(missing_ok=True)
        cost = build(data, parameters, one_off, codes, dates[-1])
        per_day = cost["total"] / len(dates)
        print(f"one-off build from an empty store, {len(dates)} days x {len(codes)} funds: {cost['total']:.1f} s "
              f"(ingest {cost['ingest']:.1f} s, books {cost['books']:.1f} s, recons {cost['recons']:.1f} s; "
              f"{per_day:.2f} s per business day for the company)", flush=True)

    store = root / "production.duckdb"
    store.unlink(missing_ok=True)
    reports = root / "reports"
    rows = {}
    for n in measured:
        day = dates[n - 1]
        gap = build(data, parameters, store, [args.fund], dates[n - 2]) if n > 1 else None
        wall, manifest = daily_run(data, parameters, store, day, args.fund, args.workers, reports)
        jobs = {j["notebook"]: j["duration_seconds"] for j in manifest["jobs"]}
        failed = [j["job_id"] for j in manifest["jobs"] if j["status"] != "ok"]
        rows[n] = (day, wall, jobs, failed)
        print(f"day {n} ({day}): " + ", ".join(f"{k} {jobs[k]:.1f} s" for k in NOTEBOOKS if k in jobs)
              + f"; all four {sum(jobs.values()):.1f} s; bo run wall {wall:.1f} s"
              + (f" (the days before processed first in {gap['total']:.0f} s, untimed)" if gap else "")
              + (f"; FAILED: {failed}" if failed else ""), flush=True)
    first, last = rows[measured[0]], rows[measured[-1]]
    ratio = sum(last[2].values()) / sum(first[2].values())
    wall_ratio = last[1] / first[1]
    print(f"ratio day {measured[-1]} / day {measured[0]}: jobs {ratio:.2f}, bo run wall {wall_ratio:.2f} "
          f"(target at most {TARGET_RATIO}: {'met' if ratio <= TARGET_RATIO else 'MISSED'})")
    if scratch:
        scratch.cleanup()


if __name__ == "__main__":
    main()
