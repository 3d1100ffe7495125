"""Benchmark of the daily run: wall time of `bo run` on the sample date by worker count, the time
of each job, and the fixed cost of one papermill job (fresh kernel + papermill, on a notebook that
does nothing) measured in the same run.

    .venv/bin/python bench/daily_run.py [--workers 1 2] [--repeat 3] [--funds 3]

With --funds > 3 a scaled world is generated into a temporary folder first.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import papermill

ROOT = Path(__file__).resolve().parent.parent


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


def run_once(data: Path, parameters: Path, workers: int) -> tuple[float, dict]:
    with tempfile.TemporaryDirectory() as reports:
        start = time.perf_counter()
        proc = subprocess.run([str(Path(sys.executable).parent / "bo"), "run", "--data", str(data), "--reports", reports,
                               "--parameters", str(parameters), "--notebooks", str(ROOT / "notebooks"), "--workers", str(workers)],
                              capture_output=True, text=True, cwd=ROOT)
        wall = time.perf_counter() - start
        if proc.returncode not in (0, 1):
            raise SystemExit(f"bo run failed:\n{proc.stdout}\n{proc.stderr}")
        manifest = json.loads((Path(proc.stdout.strip().splitlines()[-1]).parent / "manifest.json").read_text())
        return wall, manifest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--funds", type=int, default=3)
    args = parser.parse_args()
    data, parameters = ROOT / "data", ROOT / "parameters"
    scratch = None
    if args.funds != 3:
        from bo_lib.data.sample_world import generate_sample_world

        scratch = tempfile.TemporaryDirectory()
        data, parameters = Path(scratch.name) / "data", Path(scratch.name) / "parameters"
        generate_sample_world(data, funds=args.funds, parameters_dir=parameters)
    costs = fixed_cost(args.repeat)
    print(f"fixed cost of one papermill job (fresh kernel, trivial notebook): median {statistics.median(costs):.2f} s over {len(costs)} runs")
    for workers in args.workers:
        walls, job_times = [], []
        for _ in range(args.repeat):
            wall, manifest = run_once(data, parameters, workers)
            walls.append(wall)
            job_times += [j["duration_seconds"] for j in manifest["jobs"]]
            n_jobs = len(manifest["jobs"])
        print(f"bo run, {n_jobs} jobs, {workers} worker(s): wall median {statistics.median(walls):.2f} s "
              f"(min {min(walls):.2f}, max {max(walls):.2f}); job median {statistics.median(job_times):.2f} s; "
              f"{n_jobs / statistics.median(walls):.2f} jobs/s")
    if scratch:
        scratch.cleanup()


if __name__ == "__main__":
    main()
