"""The layers hold (import-linter's contracts in pyproject.toml), and the check fails when a lower
layer imports a higher one or the simulated world borrows the books' code."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
LINT = Path(sys.executable).with_name("lint-imports")


def lint(root: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run([str(LINT), str(root / "pyproject.toml"), "--no-cache"], cwd=root, env=env,
                          capture_output=True, text=True, timeout=300)


def test_the_tree_keeps_its_layers():
    run = lint(REPO)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "2 kept, 0 broken" in run.stdout


@pytest.mark.parametrize("module, line, broken", [
    ("data/loaders.py", "from bo_lib.nav import daily as _daily  # noqa", "Layers"),
    ("books/state.py", "from bo_lib.recon import engine as _engine  # noqa", "Layers"),
    ("recon/engine.py", "from bo_lib.nav import daily as _daily  # noqa", "Layers"),  # domains are side by side
    ("data/sample_world/simulate.py", "from bo_lib.books import accruals as _accruals  # noqa", "Sample world"),
])
def test_a_forbidden_import_breaks_a_contract(tmp_path, module, line, broken):
    shutil.copytree(REPO / "bo_lib", tmp_path / "bo_lib", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    path = tmp_path / "bo_lib" / module
    path.write_text(path.read_text() + "\n" + line + "\n")
    run = lint(tmp_path)
    verdicts = [" ".join(line.split()) for line in run.stdout.split("Contracts:")[0].splitlines() if line.rstrip().endswith(("KEPT", "BROKEN"))]
    assert run.returncode == 1 and any(broken in v and v.endswith("BROKEN") for v in verdicts), run.stdout
    assert f"{Path(module).with_suffix('').as_posix().replace('/', '.')} -> " in run.stdout  # names the importing module
