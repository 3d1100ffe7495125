"""The processes of a run: workers and their kernels never outlive the process that started them.

On Linux a process can ask the kernel to send it a signal when its parent dies
(``prctl(PR_SET_PDEATHSIG)``). The run uses it twice: each worker asks for SIGKILL when the
``bo run`` process dies, and each kernel a worker starts asks for SIGKILL when its worker dies
(the request is made in the forked child before it executes the kernel, and survives ``exec``).
So killing ``bo run`` even with SIGKILL takes the workers and, through them, the kernels.

Killing a process tree on purpose (a job over its time limit, ``bo run`` interrupted) first
lists every descendant (``/proc``, or psutil elsewhere) and then kills them: once a parent is
dead its children are re-parented and can no longer be found from it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from pathlib import Path

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>

_prctl = None


def _libc_prctl():
    """libc's ``prctl``, resolved once (never after a fork: the child only calls it)."""
    global _prctl
    if _prctl is None and sys.platform.startswith("linux"):
        import ctypes

        _prctl = ctypes.CDLL(None, use_errno=True).prctl
    return _prctl


def die_with_parent(parent_pid: int | None = None, signum: int = signal.SIGKILL) -> bool:
    """Rule: this process gets ``signum`` when its parent dies. If the parent is already gone (it
    died before the request), the process kills itself now. Returns False where unsupported."""
    prctl = _libc_prctl()
    if prctl is None:
        return False
    prctl(PR_SET_PDEATHSIG, int(signum), 0, 0, 0)
    if parent_pid is not None and os.getppid() != parent_pid:
        os.kill(os.getpid(), signum)
    return True


def child_dies_with_us():
    """A ``preexec_fn`` for ``subprocess.Popen``: the child is killed when this process dies."""
    prctl = _libc_prctl()
    parent = os.getpid()

    def preexec() -> None:  # runs in the forked child, before exec
        if prctl is not None:
            prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
            if os.getppid() != parent:
                os.kill(os.getpid(), signal.SIGKILL)

    return preexec


def _children_map() -> dict[int, list[int]]:
    """parent pid -> child pids, from ``/proc/<pid>/stat``."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # the process ended meanwhile
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])  # the name (in brackets) may hold spaces
        children.setdefault(ppid, []).append(int(entry.name))
    return children


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (children, their children, ...), parents before children."""
    if not Path("/proc/self/stat").exists():
        try:
            import psutil
        except ImportError:
            return []
        with contextlib.suppress(psutil.Error):
            return [child.pid for child in psutil.Process(pid).children(recursive=True)]
        return []
    children, found, queue = _children_map(), [], [pid]
    while queue:
        for child in children.get(queue.pop(0), []):
            found.append(child)
            queue.append(child)
    return found


def kill_all(pids: list[int], signum: int = signal.SIGKILL) -> None:
    """Send ``signum`` to each pid, deepest first; processes already gone are skipped."""
    for pid in reversed(pids):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signum)


def kill_tree(pid: int, signum: int = signal.SIGKILL) -> list[int]:
    """Kill ``pid`` and everything below it (listed before anything dies); returns the pids."""
    pids = [pid, *descendants(pid)]
    kill_all(pids, signum)
    return pids
