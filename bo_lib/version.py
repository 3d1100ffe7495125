"""The code version behind every figure: git commit (with a dirty flag) or the package version."""

from __future__ import annotations

import functools
import subprocess
from pathlib import Path

from bo_lib import __version__

REPO_ROOT = Path(__file__).resolve().parent.parent


@functools.cache
def code_version() -> str:
    """``<package version>+g<commit>[.dirty]`` from git when available, else the package version."""
    try:
        commit = subprocess.run(
            ["git", "-C", str(REPO_ROOT), "rev-parse", "--short=12", "HEAD"],
            capture_output=True, text=True, timeout=5, check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(REPO_ROOT), "status", "--porcelain", "--untracked-files=no", "--", "bo_lib", "notebooks"],
            capture_output=True, text=True, timeout=5, check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return __version__
    return f"{__version__}+g{commit}{'.dirty' if dirty else ''}"
