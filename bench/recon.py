"""Benchmark of the reconciliation engine against datacompy on the same data, in the same run.

Generates two sides of N position rows (about 1,000 accounts x 50,000 securities; 1% breaks,
0.5% of keys missing on each side), runs ``bo_lib.recon.reconcile`` and datacompy's
``PandasCompare`` on them, checks both count the same matched / break / missing rows, and prints
wall time, rows per second and peak memory for each, and the ratios.

Each comparison runs in its own forked process (the generated data is shared, copy-on-write), so
peak memory is measured per method: the process's peak resident set minus what it had when it
started (the inputs). Usage::

    .venv/bin/python bench/recon.py --rows 1000000 10000000
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import multiprocessing as mp
import os
import resource
import time

import numpy as np
import pandas as pd

ACCOUNTS = 1_000
SECURITIES = 50_000
BREAK_SHARE = 0.01
MISSING_SHARE = 0.005
QUANTITY_TOLERANCE = 0.0001
VALUE_ABS, VALUE_REL = 0.01, 1e-6


def _rss_kib() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


def generate(rows: int, seed: int = 20260930) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, int]]:
    """Books and custodian positions sharing ``rows`` keys before the missing ones are taken out;
    returns the two sides and the counts a correct reconciliation must find."""
    rng = np.random.default_rng(seed)
    universe = ACCOUNTS * SECURITIES
    if rows > universe:
        raise ValueError(f"at most {universe:,} distinct (account, isin) keys")
    keys = np.unique(rng.integers(0, universe, int(rows * 1.25)))
    while len(keys) < rows:  # top up (only for N close to the universe)
        keys = np.unique(np.r_[keys, rng.integers(0, universe, rows)])
    keys = rng.permutation(keys)[:rows]
    account_names = np.array([f"AC{i:06d}" for i in range(ACCOUNTS)], dtype=object)
    isins = np.array([f"US{i:09d}{i % 10}" for i in range(SECURITIES)], dtype=object)
    account = pd.array(account_names[keys // SECURITIES], dtype="str")
    isin = pd.array(isins[keys % SECURITIES], dtype="str")
    quantity = rng.integers(1, 200_000, rows).astype("float64")
    price = np.round(rng.uniform(1, 500, rows), 4)
    market_value = np.round(quantity * price, 2)
    books = pd.DataFrame({"account": account, "isin": isin, "quantity": quantity, "market_value": market_value})
    custodian = books.copy()
    kind = rng.random(rows)
    only_books = kind < MISSING_SHARE
    only_custodian = (kind >= MISSING_SHARE) & (kind < 2 * MISSING_SHARE)
    broken = (kind >= 2 * MISSING_SHARE) & (kind < 2 * MISSING_SHARE + BREAK_SHARE)
    qty_break = broken & (rng.random(rows) < 0.5)
    shift = rng.integers(1, 1_000, rows).astype("float64")
    custodian.loc[qty_break, "quantity"] += shift[qty_break]
    value_break = broken & ~qty_break  # beyond the relative tolerance too, whatever the position's size
    custodian.loc[value_break, "market_value"] += shift[value_break] + 1e-4 * market_value[value_break]
    books = books[~only_custodian].reset_index(drop=True)
    # the custodian sends its own order, not the books': shuffle so nothing lines up by position
    custodian = custodian[~only_books].iloc[rng.permutation(int((~only_books).sum()))].reset_index(drop=True)
    expected = {"matched": int((~(only_books | only_custodian | broken)).sum()), "break": int(broken.sum()),
                "missing_left": int(only_custodian.sum()), "missing_right": int(only_books.sum())}
    return books, custodian, expected


def run_engine(books: pd.DataFrame, custodian: pd.DataFrame) -> dict[str, int]:
    from bo_lib.recon import Tolerance, reconcile

    result = reconcile(books, custodian, keys=["account", "isin"],
                       compare={"quantity": Tolerance(abs=QUANTITY_TOLERANCE), "market_value": Tolerance(abs=VALUE_ABS, rel=VALUE_REL)})
    return result.counts


def run_datacompy(books: pd.DataFrame, custodian: pd.DataFrame) -> dict[str, int]:
    import datacompy

    compare = datacompy.PandasCompare(books, custodian, join_columns=["account", "isin"],
                                      abs_tol={"quantity": QUANTITY_TOLERANCE, "market_value": VALUE_ABS},
                                      rel_tol={"market_value": VALUE_REL}, df1_name="books", df2_name="custodian")
    mismatched = len(compare.all_mismatch())
    both = len(compare.intersect_rows)
    return {"matched": both - mismatched, "break": mismatched, "missing_left": len(compare.df2_unq_rows),
            "missing_right": len(compare.df1_unq_rows)}


_DATA: dict = {}


def _child(method: str, queue) -> None:
    start_kib = _rss_kib()
    started = time.perf_counter()
    try:
        counts = (run_engine if method == "engine" else run_datacompy)(_DATA["books"], _DATA["custodian"])
    except BaseException as exc:  # report, never leave the parent waiting
        queue.put({"error": f"{type(exc).__name__}: {exc}"})
        raise
    elapsed = time.perf_counter() - started
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    queue.put({"counts": counts, "seconds": elapsed, "peak_mib": (peak_kib - start_kib) / 1024})


def _release_free_memory() -> None:
    """Give freed heap back to the OS before forking, so a child cannot reuse resident free pages
    unseen (which would understate its peak)."""
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except OSError:  # not glibc: the measurement is then a slight underestimate
        pass


def measure(method: str) -> dict:
    _release_free_memory()
    ctx = mp.get_context("fork")
    queue = ctx.Queue()
    process = ctx.Process(target=_child, args=(method, queue))
    process.start()
    out = queue.get()
    process.join()
    if "error" in out:
        raise RuntimeError(f"{method} failed: {out['error']}")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000], help="N rows per side (before missing keys)")
    parser.add_argument("--skip-datacompy", action="store_true", help="time only the engine")
    args = parser.parse_args(argv)
    ok = True
    for rows in args.rows:
        t = time.perf_counter()
        books, custodian, expected = generate(rows)
        _DATA.update(books=books, custodian=custodian)
        print(f"\nN = {rows:,} rows per side: books {len(books):,}, custodian {len(custodian):,} "
              f"(generated in {time.perf_counter() - t:.1f} s; {os.cpu_count()} CPU)")
        results = {"bo_lib.recon.reconcile": measure("engine")}
        if not args.skip_datacompy:
            results["datacompy.PandasCompare"] = measure("datacompy")
        for name, r in results.items():
            agree = r["counts"] == expected
            ok &= agree
            print(f"  {name:26} {r['seconds']:8.2f} s  {rows / r['seconds']:14,.0f} rows/s  peak +{r['peak_mib']:8,.0f} MiB  "
                  f"counts {r['counts']} {'= expected' if agree else '!= expected ' + str(expected)}")
        if len(results) == 2:
            ours, theirs = results.values()
            print(f"  ratio: {theirs['seconds'] / ours['seconds']:.1f}x faster, peak memory {ours['peak_mib'] / theirs['peak_mib']:.2f}x datacompy's")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
