"""``bo`` in-process, for tests: exit code, stdout and stderr of one command."""

from __future__ import annotations

import contextlib
import io


def bo(*argv) -> tuple[int, str, str]:
    """Run ``bo`` with ``argv`` (paths and numbers as text); argparse's own exits (--help, a bad
    choice, a missing argument) give their code."""
    from bo_lib.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main([str(arg) for arg in argv])
        except SystemExit as exc:
            code = exc.code
    return code, out.getvalue(), err.getvalue()
