"""pyflakes' checks (through ruff) hold on the package, the notebook builder and the benchmarks,
and fail on an unused import."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RUFF = Path(sys.executable).with_name("ruff")
CHECKED = ("bo_lib", "tools", "bench")


def ruff(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(RUFF), "check", "--no-cache", *CHECKED], cwd=root, capture_output=True, text=True, timeout=300)


def test_the_package_has_no_unused_imports_or_undefined_names():
    run = ruff(REPO)
    assert run.returncode == 0, run.stdout + run.stderr


def test_an_unused_import_fails_the_check(tmp_path):
    for folder in CHECKED:
        shutil.copytree(REPO / folder, tmp_path / folder, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    target = tmp_path / "bo_lib" / "pipeline" / "ledger.py"
    target.write_text(target.read_text() + "\nimport textwrap\n")
    run = ruff(tmp_path)
    assert run.returncode == 1 and "bo_lib/pipeline/ledger.py" in run.stdout and "F401" in run.stdout
