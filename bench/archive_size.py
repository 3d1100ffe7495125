"""Benchmark of the archive's size: what one daily run leaves on disk, by kind of file, against the
same pages with their scripts and styles inlined in each page (as every report carried them before
the run folder shared one copy).

Runs the sample world's daily job into a scratch archive (or reads a run folder given with
``--run-dir``) and prints the bytes of every kind of file (pages, notebooks, shared assets, archived
tables, the rest), the per-page figure, and the ratio of the inlined layout to the shared one. The
inlined size is measured, not estimated: each page's ``<script src>`` / ``<link href>`` to the run's
``assets/`` is replaced by the asset's content, as the old template did.

    .venv/bin/python bench/archive_size.py [--run-dir reports/<date>/<run-id>]
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_LINK = re.compile(r'<script[^>]*\bsrc="(?P<s>[^"]+)"[^>]*></script>|<link[^>]*\bhref="(?P<h>[^"]+\.css)"[^>]*>')


def daily_run(reports: Path, store: Path) -> Path:
    """The sample world's daily run into ``reports`` with its own store; the run folder."""
    out = subprocess.run([sys.executable, "-m", "bo_lib.cli", "run", "--reports", str(reports), "--store", str(store), "--heartbeat", "0"],
                         cwd=ROOT, capture_output=True, text=True, check=False)
    if out.returncode not in (0, 1):
        sys.exit(f"bo run failed ({out.returncode}):\n{out.stderr[-3000:]}")
    return Path(out.stdout.strip().splitlines()[-1]).parent


def kind(path: Path, run_dir: Path) -> str:
    relative = path.relative_to(run_dir).parts
    if relative[0] == "assets":
        return "shared assets"
    if "tables" in relative:
        return "archived tables (CSV)"
    return {".html": "report pages", ".ipynb": "notebooks"}.get(path.suffix, "other (manifest, log, filings, index)")


def inlined_size(page: Path) -> int:
    """The page as the old template wrote it: plotly.js and the page CSS written into it (DataTables,
    which the old pages did not have, left out)."""
    text = page.read_text(encoding="utf-8")

    def content(match: re.Match) -> str:
        target = (page.parent / (match.group("s") or match.group("h"))).resolve()
        if "datatables" in target.name or not target.is_file():
            return ""
        return target.read_text(encoding="utf-8")

    return len(_LINK.sub(content, text).encode("utf-8"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run-dir", type=Path, help="measure this run folder instead of running the sample world")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        run_dir = args.run_dir or daily_run(Path(scratch) / "reports", Path(scratch) / "store.duckdb")
        files = [p for p in run_dir.rglob("*") if p.is_file()]
        sizes: Counter = Counter()
        for path in files:
            sizes[kind(path, run_dir)] += path.stat().st_size
        pages = [p for p in files if p.suffix == ".html" and p.name != "index.html"]
        shared = sum(sizes.values())
        # the old layout had no shared assets and no archived tables
        inlined = (shared - sizes["shared assets"] - sizes["archived tables (CSV)"] - sum(p.stat().st_size for p in pages)
                   + sum(inlined_size(p) for p in pages))
        print(f"run folder {run_dir} ({len(files)} files, {len(pages)} report pages)")
        for name, size in sorted(sizes.items(), key=lambda item: -item[1]):
            print(f"  {name:<40} {size:>14,} bytes")
        print(f"  {'total (shared assets)':<40} {shared:>14,} bytes")
        print(f"  {'report page, median':<40} {sorted(p.stat().st_size for p in pages)[len(pages) // 2]:>14,} bytes")
        print(f"  {'total, old layout (plotly.js, CSS per page)':<40} {inlined:>14,} bytes")
        print(f"ratio old layout / shared assets: {inlined / shared:.1f}x (target: at least 5x)")


if __name__ == "__main__":
    main()
