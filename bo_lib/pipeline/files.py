"""Writing the archive's own files: all or nothing, and a failure that says which file.

``write_atomic`` is the one way the run writes ``manifest.json``, ``manifest.sha256``, the index
pages and the incomplete-run marker (``append_text`` adds each job's section to ``run.log``): the content goes to a temporary file in the same folder, is
flushed to disk, and replaces the target with ``os.replace`` (atomic within a file system). A full
or read-only disk leaves the previous file, or none, never a truncated one, and no temporary file.

Every failure to write raises :class:`CannotWrite` (an ``OSError`` naming the path), which the
``bo`` command reports as one line with its own exit code.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import os
import tempfile
from pathlib import Path

# errors only a write raises: an OSError with one of these is a failed write even if untagged
_WRITE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EFBIG}


class CannotWrite(OSError):
    """Writing ``filename`` failed (errno and strerror from the operating system)."""


def utc_iso(moment: dt.datetime) -> str:
    """A moment as the archive writes it: UTC to the second, ``2026-11-06T21:30:00Z``."""
    return moment.astimezone(dt.timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def describe_os_error(exc: OSError) -> str:
    """``cannot write <path>: <reason>`` (``cannot access`` when nothing says it was a write)."""
    verb = "write" if isinstance(exc, CannotWrite) or exc.errno in _WRITE_ERRNOS else "access"
    where = f" {exc.filename}" if exc.filename else ""
    return f"cannot {verb}{where}: {exc.strerror or exc}"


@contextlib.contextmanager
def writing(path: Path | str):
    """Re-raise any ``OSError`` of the block as :class:`CannotWrite` naming ``path`` (or the file the
    system named, when it names one)."""
    try:
        yield
    except CannotWrite:
        raise
    except OSError as exc:
        raise CannotWrite(exc.errno, exc.strerror or str(exc), exc.filename or str(path)) from exc


def _file_mode() -> int:
    """The mode ``open`` would give a new file (0o666 less the umask)."""
    umask = os.umask(0o022)
    os.umask(umask)
    return 0o666 & ~umask


def write_atomic(path: Path | str, content: str | bytes, *, encoding: str = "utf-8", mode: int | None = None) -> Path:
    """Write ``content`` to ``path`` through a temporary file in the same folder and ``os.replace``.

    Rule: after this returns, ``path`` holds all of ``content``; after it raises (``CannotWrite``),
    ``path`` is as it was and the temporary file is gone. ``mode``: the file's permissions (default:
    what ``open`` would give, 0o666 less the umask).
    """
    path = Path(path)
    data = content.encode(encoding) if isinstance(content, str) else content
    with writing(path):
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(temporary, _file_mode() if mode is None else mode)
            os.replace(temporary, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise
    return path


def append_text(path: Path | str, text: str, *, encoding: str = "utf-8") -> Path:
    """Append ``text`` to ``path`` (created if missing): how the run log grows, one job's section at
    a time. A failure raises :class:`CannotWrite`; what the file held before stays."""
    path = Path(path)
    with writing(path), open(path, "a", encoding=encoding) as handle:
        handle.write(text)
    return path
