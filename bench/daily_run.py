"""Benchmark of the daily run: `bo run` of the sample date (13 jobs) as it runs in production, on a
store whose books were closed the business day before, by worker count; the time of each job and
of the run's preparation (the day's ingest, one day of books and recons per fund); and, measured in
the same run, the fixed cost of one papermill job (a fresh kernel on a notebook that does nothing).

Target: the run's wall time within 1.5x of the fixed cost of 13 fresh kernels on 2 workers
(1.5 x 13 x fixed / 2).

    .venv/bin/python bench/daily_run.py [--workers 1 2] [--repeat 3] [--funds 3]

With --funds other than 3 a scaled world is generated into a temporary folder first.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import papermill

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
TARGET_FACTOR = 1.5


def fixed_cost(repeat: int) -> list[float]:
    with tempfile.TemporaryDirectory() as tmp:
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1", metadata={"tags": ["parameters"]}), nbformat.v4.new_code_cell("x + 1")])
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        src = Path(tmp) / "empty.ipynb"
        nbformat.write(nb, src)
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            papermill.execute_notebook(str(src), str(Path(tmp) / "out.ipynb"), parameters={"x": 2}, kernel_name="python3", progress_bar=False, log_output=False)
            times.append(time.perf_counter() - start)
        return times


def prepared_store(data: Path, parameters: Path, scratch: Path) -> tuple[Path, Path, str]:
    """A copy of the world without its last date's deliveries, and a store with every fund's
    books and recons to the date before: the state a production store is in when the day's run starts."""
    from bo_lib.books.prepare import prepare_books
    from bo_lib.data.layout import business_dates
    from bo_lib.parameters import load_funds
    from bo_lib.recon.daily import reconcile_day

    dates = business_dates(data)
    day, before = dates[-1], dates[-2]
    world = scratch / "data"
    shutil.copytree(data, world, ignore=shutil.ignore_patterns("store", day.isoformat()))
    store = scratch / "before.duckdb"
    funds = load_funds(parameters)
    ready = prepare_books(world, store, funds, sorted(funds), before, run_id="bench")
    if ready.problems:
        raise SystemExit(f"books: {ready.problems}")
    for code in sorted(funds):
        reconcile_day(store, funds[code], before, "bench")
    shutil.copytree(data / "inbound" / day.isoformat(), world / "inbound" / day.isoformat())  # the day's deliveries arrive
    return world, store, day.isoformat()


def run_once(world: Path, parameters: Path, before: Path, day: str, workers: int, scratch: Path) -> tuple[float, dict]:
    store = scratch / "workbench.duckdb"
    shutil.copy2(before, store)
    reports = scratch / "reports"
    shutil.rmtree(reports, ignore_errors=True)
    start = time.perf_counter()
    proc = subprocess.run([str(Path(sys.executable).parent / "bo"), "run", "--date", day, "--data", str(world), "--reports", str(reports),
                           "--parameters", str(parameters), "--store", str(store), "--notebooks", str(ROOT / "notebooks"),
                           "--workers", str(workers)], capture_output=True, text=True, cwd=ROOT)
    wall = time.perf_counter() - start
    if proc.returncode not in (0, 1):
        raise SystemExit(f"bo run failed:\n{proc.stdout}\n{proc.stderr}")
    manifest = json.loads((Path(proc.stdout.strip().splitlines()[-1]).parent / "manifest.json").read_text())
    failed = [j["job_id"] for j in manifest["jobs"] if j["status"] != "ok"]
    if failed:
        raise SystemExit(f"jobs failed: {failed}")
    return wall, manifest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--funds", type=int, default=3)
    args = parser.parse_args()
    data, parameters = ROOT / "data", ROOT / "parameters"
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        if args.funds != 3:
            from bo_lib.data.sample_world import generate_sample_world

            data, parameters = scratch / "world", scratch / "parameters"
            generate_sample_world(data, funds=args.funds, parameters_dir=parameters)
        clock = time.perf_counter()
        world, before, day = prepared_store(data, parameters, scratch)
        print(f"store prepared to the day before {day} in {time.perf_counter() - clock:.1f} s (untimed)", flush=True)
        costs = fixed_cost(args.repeat)
        fixed = statistics.median(costs)
        print(f"fixed cost of one papermill job (fresh kernel, trivial notebook): median {fixed:.2f} s over {len(costs)} runs", flush=True)
        for workers in args.workers:
            walls, job_times, prepare = [], [], []
            for _ in range(args.repeat):
                wall, manifest = run_once(world, parameters, before, day, workers, scratch)
                walls.append(wall)
                job_times += [j["duration_seconds"] for j in manifest["jobs"]]
                prepare.append(manifest["books"].get("seconds", float("nan")))
            n_jobs = len(manifest["jobs"])
            wall = statistics.median(walls)
            floor = n_jobs * fixed / workers
            print(f"bo run {day}, {n_jobs} jobs, {workers} worker(s): wall median {wall:.2f} s (min {min(walls):.2f}, max {max(walls):.2f}); "
                  f"preparation (ingest, books, recons) median {statistics.median(prepare):.2f} s; job median {statistics.median(job_times):.2f} s "
                  f"(min {min(job_times):.2f}, max {max(job_times):.2f})", flush=True)
            print(f"  fixed cost of {n_jobs} fresh kernels on {workers} worker(s): {floor:.2f} s; wall / that = {wall / floor:.2f} "
                  f"(target at most {TARGET_FACTOR}, i.e. {TARGET_FACTOR * floor:.1f} s: {'met' if wall <= TARGET_FACTOR * floor else 'MISSED'})", flush=True)


if __name__ == "__main__":
    main()
