"""Executing the jobs of a run: papermill in a fresh kernel per job, several jobs in parallel.

Parallelism uses a ``ProcessPoolExecutor`` with the ``spawn`` start method rather than threads:
papermill/nbclient drive each kernel through an asyncio loop and ZeroMQ sockets, and a job that
hangs, leaks memory or kills its interpreter must not take the others (or the run's bookkeeping)
with it. ``spawn`` avoids forking a parent that may already hold ZeroMQ contexts and threads. Each
worker process imports papermill/nbconvert once and then serves many jobs.

Every exception of a job is caught: the job is marked ``failed`` with a one-line reason, its
archived notebook starts with an error banner naming that reason (papermill's own banner, which
points at the failing cell, follows it), and it is rendered to HTML like any other job.

``job_timeout_seconds`` limits the whole execution of a job's notebook (kernel start to last
cell), not each cell: a watchdog in the worker kills the job's kernel when the limit is reached,
and the job fails with ``job exceeded its time limit of N s``.

Workers and kernels die with the run (``processes``): a worker is killed when ``bo run`` dies, a
kernel when its worker dies, even if ``bo run`` is killed with SIGKILL. SIGTERM or SIGINT make
``bo run`` raise :class:`RunInterrupted` (``interrupts_raise``); ``execute_jobs`` then kills every
worker and kernel before the exception goes on, so nothing writes to the run folder after it.

The run log: each job's own output (its kernel's stdout/stderr, papermill's log, warnings of the
worker while it runs the job) goes to a file of its own in a temporary folder, and the parent
appends it to ``run.log`` as the job ends, under a header naming the job, its start, end, status
and duration (``job_log_section``); known kernel noise is dropped (``kernel_output``). Each
worker writes a file saying when it started a job, from which the heartbeat (``on_heartbeat``,
every ``heartbeat_seconds``) names the jobs running and for how long.
"""

from __future__ import annotations

import datetime as dt
import contextlib
import functools
import logging
import math
import multiprocessing
import os
import re
import signal
import sys
import tempfile
import threading
import time
import traceback
import warnings
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from pathlib import Path
from typing import Callable

import nbformat

from bo_lib.hashing import sha256_file
from bo_lib.store import LAB_VARIABLE, STORE_MODE_VARIABLE
from bo_lib.pipeline.processes import child_dies_with_us, descendants, die_with_parent, kill_all

ERROR_BANNER_TAG = "bo-error-banner"
PAPERMILL_ERROR_TAG = "papermill-error-cell-tag"


class RunInterrupted(KeyboardInterrupt):
    """``bo run`` received SIGTERM or SIGINT (a KeyboardInterrupt: no ``except Exception``
    swallows it, and whatever stops on Ctrl-C stops on it)."""

    def __init__(self, signum: int):
        self.signum = signum
        super().__init__(f"interrupted by {self.signal_name}")

    @property
    def signal_name(self) -> str:
        return signal.Signals(self.signum).name


@contextlib.contextmanager
def interrupts_raise():
    """While the block runs, SIGTERM and SIGINT raise :class:`RunInterrupted` in the main thread
    (the first one only: a second signal while the run stops is ignored); the previous handlers
    are restored after. Outside the main thread the block runs unchanged."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []

    def handler(signum, frame):
        if not received:
            received.append(signum)
            raise RunInterrupted(signum)

    previous = {signum: signal.signal(signum, handler) for signum in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)


def _utc_now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def one_line(text: str, limit: int = 400) -> str:
    """Collapse a message to one line, short enough for an index row and a progress line."""
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def failure_reason(exc: BaseException) -> str:
    """``<exception name>: <message>``; for a failing cell, the cell's own ename/evalue."""
    ename = getattr(exc, "ename", None)
    if ename:
        return one_line(f"{ename}: {getattr(exc, 'evalue', '')}")
    # nbclient appends the whole cell source to a timeout message; the job id already says which
    message = str(exc).split(" Here is a preview of the cell contents", 1)[0].strip()
    return one_line(f"{type(exc).__name__}: {message}" if message else type(exc).__name__)


def _banner_cell(reason: str):
    from html import escape

    cell = nbformat.v4.new_markdown_cell(
        '<div style="border:2px solid #b91c1c; background:#fef2f2; color:#7f1d1d; padding:8px 12px;">'
        f"<strong>This job failed.</strong> {escape(reason)}</div>"
    )
    cell.metadata["tags"] = [ERROR_BANNER_TAG]
    return cell


def ensure_error_banner(output_notebook: Path, input_notebook: Path, reason: str) -> None:
    """Put an error banner first in the archived notebook; build it from the input if papermill
    failed before writing any output, so that every failed job still has an archived notebook."""
    notebook = None
    if output_notebook.is_file():
        try:
            notebook = nbformat.read(str(output_notebook), as_version=4)
        except Exception:  # a half-written output is replaced by the input plus the banner
            notebook = None
    if notebook is None:
        notebook = nbformat.read(str(input_notebook), as_version=4)
    if not (notebook.cells and ERROR_BANNER_TAG in notebook.cells[0].get("metadata", {}).get("tags", [])):
        notebook.cells.insert(0, _banner_cell(reason))
    output_notebook.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, str(output_notebook))


def _finish_outputs(spec: dict, outcome: dict) -> dict:
    """Hash the notebook, collect recorded results, render the HTML (also for failed jobs)."""
    from bo_lib.pipeline.html import render_notebook_html
    from bo_lib.report.record import recorded_results

    run_dir = Path(spec["run_dir"])
    ipynb = run_dir / spec["output_notebook"]
    html = run_dir / spec["output_html"]
    try:
        outcome["results"] = recorded_results(nbformat.read(str(ipynb), as_version=4))
    except Exception as exc:
        outcome["results"] = {}
        if outcome["status"] == "ok":
            outcome.update(status="failed", error=f"recorded results unreadable: {failure_reason(exc)}")
    ipynb_sha = sha256_file(ipynb)
    outcome["outputs"]["ipynb"] = {"path": spec["output_notebook"], "sha256": ipynb_sha}
    try:
        render_notebook_html(ipynb, html, run_id=spec["run_id"], notebook_sha256=ipynb_sha, title=spec.get("title"),
                             assets_dir=run_dir / spec["assets_dir"] if spec.get("assets_dir") else None)
        outcome["outputs"]["html"] = {"path": spec["output_html"], "sha256": sha256_file(html)}
    except Exception as exc:
        html.unlink(missing_ok=True)
        if outcome["status"] == "ok":
            outcome.update(status="failed", error=f"HTML rendering failed: {failure_reason(exc)}")
    # files the notebook wrote into its archive folder (e.g. XML filings) are outputs too
    files_dir = run_dir / spec["output_files"]
    if files_dir.is_dir():
        for path in sorted(p for p in files_dir.rglob("*") if p.is_file()):
            relative = path.relative_to(run_dir).as_posix()
            outcome["outputs"][f"file:{path.relative_to(files_dir).as_posix()}"] = {"path": relative, "sha256": sha256_file(path)}
    return outcome


class JobDeadline:
    """A watchdog for one job: when ``seconds`` have passed it kills every process the job started
    (its kernel and the kernel's children), and goes on killing any it starts, until the job ends.

    Rule: the limit is wall-clock time for the whole execution; ``expired`` says it was reached.
    """

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.expired = False
        self._before: set[int] = set()
        self._ended = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="bo-job-deadline", daemon=True)

    @property
    def reason(self) -> str:
        return f"job exceeded its time limit of {self.seconds:g} s"

    def _watch(self) -> None:
        if self._ended.wait(self.seconds):
            return
        self.expired = True
        while True:  # a kernel still starting at the limit is killed once it appears
            kill_all([pid for pid in descendants(os.getpid()) if pid not in self._before])
            if self._ended.wait(0.5):
                return

    def __enter__(self) -> JobDeadline:
        self._before = set(descendants(os.getpid()))
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._ended.set()
        self._thread.join(timeout=5)


@functools.cache
def kernel_manager_class():
    """jupyter_client's kernel manager, launching each kernel so that it dies with the worker."""
    from jupyter_client.manager import AsyncKernelManager

    class DiesWithWorkerKernelManager(AsyncKernelManager):
        async def _async_launch_kernel(self, kernel_cmd, **kw):
            kw["preexec_fn"] = child_dies_with_us()
            return await super()._async_launch_kernel(kernel_cmd, **kw)

    return DiesWithWorkerKernelManager


def _execute_notebook(spec: dict, output_notebook: Path) -> None:
    """papermill in a fresh kernel; the per-cell timeout is the job's limit too (a fallback: the
    job's deadline comes first)."""
    import papermill

    papermill.execute_notebook(
        spec["input_notebook"],
        str(output_notebook),
        parameters=spec["parameters"],
        kernel_name=spec.get("kernel_name", "python3"),
        cwd=spec["cwd"],
        progress_bar=False,
        request_save_on_cell_execute=False,
        execution_timeout=math.ceil(spec["timeout_seconds"]),
        kernel_manager_class=kernel_manager_class(),
    )


@contextlib.contextmanager
def job_output(log_file: str | None):
    """While the block runs, this process's stdout and stderr (file descriptors 1 and 2, which the
    job's kernel inherits) and papermill's log go to ``log_file``; restored after. None: unchanged."""
    if not log_file:
        yield
        return
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    saved = os.dup(1), os.dup(2)
    fd = os.open(log_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s: %(message)s"))
    logger = logging.getLogger("papermill")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in saved:
            os.close(fd)


def _mark_started(path: str | None) -> None:
    """Say when this job started (for the parent's heartbeat): the epoch seconds, written atomically."""
    if path:
        from bo_lib.pipeline.files import write_atomic

        with contextlib.suppress(OSError):
            write_atomic(path, repr(time.time()))


def execute_job(spec: dict) -> dict:
    """Run one job (in a worker process): execute, archive the notebook, render HTML.

    ``spec`` holds plain values (it crosses a process boundary): job_id, run_id, run_dir,
    input_notebook, output_notebook/output_html (relative to run_dir), parameters, cwd,
    timeout_seconds; optionally log_file (the job's output goes there), started_file (written
    when the job starts), title (the HTML page's) and assets_dir (the run's shared scripts,
    relative to run_dir). Returns the job's outcome; never raises for a job failure.
    """
    _mark_started(spec.get("started_file"))
    with job_output(spec.get("log_file")):
        return _execute_job(spec)


def _execute_job(spec: dict) -> dict:
    run_dir = Path(spec["run_dir"])
    output_notebook = run_dir / spec["output_notebook"]
    output_notebook.parent.mkdir(parents=True, exist_ok=True)
    outcome = {"status": "ok", "error": None, "started": _utc_now(), "outputs": {}, "results": {}}
    clock = time.perf_counter()
    deadline = JobDeadline(spec["timeout_seconds"])
    try:
        with deadline:
            _execute_notebook(spec, output_notebook)
    except Exception as exc:  # every failure is archived, the run goes on
        outcome.update(status="failed", error=deadline.reason if deadline.expired else failure_reason(exc))
        try:
            ensure_error_banner(output_notebook, Path(spec["input_notebook"]), outcome["error"])
        except Exception as banner_exc:
            outcome["error"] += f" (and the error banner could not be written: {failure_reason(banner_exc)})"
    outcome["duration_seconds"] = round(time.perf_counter() - clock, 3)
    outcome["ended"] = _utc_now()
    if output_notebook.is_file():
        try:
            _finish_outputs(spec, outcome)
        except Exception as exc:
            outcome.update(status="failed", error=outcome["error"] or f"archiving failed: {failure_reason(exc)}")
    return outcome


def _worker_init(log_dir: str | None, parent_pid: int | None = None) -> None:
    """The worker dies with ``bo run`` (SIGKILL when its parent dies; Ctrl-C is the parent's to
    handle), and sends its stdout/stderr outside jobs to a file of its own under ``log_dir`` (the
    parent appends it to the run log), not the terminal."""
    die_with_parent(parent_pid)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    warnings.filterwarnings("ignore", message=".*is not able to be represented.*")
    # debugpy, when a kernel starts its debugger, warns on stderr about Python's frozen modules: not the job's output
    os.environ["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"
    # a scheduled job uses the store its run passes, even when `bo run` is started from a Lab
    # terminal: the Lab session's redirections (bo_lib.store) must not reach its kernels
    for name in (LAB_VARIABLE, STORE_MODE_VARIABLE):
        os.environ.pop(name, None)
    if log_dir:
        fd = os.open(os.path.join(log_dir, f"worker-{os.getpid()}.log"), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        os.close(fd)


# Lines the kernels write on every run that say nothing about the job (dropped from the run log):
KERNEL_NOISE = re.compile("|".join([
    r"Kernel is running over TCP without encryption",  # ipykernel 7 on its local loopback connection
    r"KeyboardInterrupt caught in kernel",  # the kernel being stopped after a failed cell
    r"Debugger warning: It seems that frozen modules are being used",  # debugpy on Python >= 3.11 ...
    r"make the debugger miss breakpoints",
    r"-Xfrozen_modules=off",
    r"to python to disable frozen modules",
    r"PYDEVD_DISABLE_FILE_VALIDATION",
]))


def kernel_output(text: str) -> str:
    """A job's captured output without the known kernel noise (``KERNEL_NOISE``), trailing blank lines removed."""
    return "\n".join(line for line in text.splitlines() if not KERNEL_NOISE.search(line)).strip("\n")


def job_log_section(job_id: str, outcome: dict, output: str) -> str:
    """One job's section of the run log: a header (job, status, duration, start, end, reason), its output."""
    seconds = outcome.get("duration_seconds")
    lines = [f"==== {job_id}: {outcome['status']}" + (f" in {seconds:.1f}s" if seconds is not None else "") + " ====",
             f"started {outcome.get('started') or '-'}, ended {outcome.get('ended') or '-'}"]
    if outcome.get("error"):
        lines.append(f"error: {outcome['error']}")
    output = kernel_output(output)
    lines.append(output if output else "(no output)")
    return "\n".join(lines) + "\n\n"


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def _append_log(log_path: Path | None, text: str) -> None:
    if log_path is not None:
        from bo_lib.pipeline.files import append_text

        append_text(log_path, text)


def _failed_in_parent(spec: dict, exc: BaseException) -> dict:
    """The worker itself died: archive the failure from the parent process."""
    reason = f"worker process failed: {failure_reason(exc)}"
    outcome = {"status": "failed", "error": reason, "started": None, "ended": _utc_now(),
               "duration_seconds": None, "outputs": {}, "results": {}}
    try:
        ensure_error_banner(Path(spec["run_dir"]) / spec["output_notebook"], Path(spec["input_notebook"]), reason)
        _finish_outputs(spec, outcome)
    except Exception:
        traceback.print_exc()
    return outcome


def stop_workers(pool: ProcessPoolExecutor) -> list[int]:
    """Kill every worker of ``pool`` and everything below it (kernels and their children), then
    let the pool go; returns the pids killed. Rule: once this returns, no process of the pool runs."""
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pids = [pid for process in processes for pid in (process.pid, *descendants(process.pid))]
    kill_all(pids)
    for process in processes:
        process.join(timeout=10)
    pool.shutdown(wait=False, cancel_futures=True)
    return pids


def execute_jobs(
    specs: list[dict],
    *,
    workers: int,
    log_path: Path | None = None,
    on_finished: Callable[[int, int, dict, dict], None] | None = None,
    heartbeat_seconds: float = 0,
    on_heartbeat: Callable[[int, int, list[tuple[str, float]]], None] | None = None,
) -> list[dict]:
    """Execute all jobs, ``workers`` at a time; outcomes come back in the order of ``specs``.

    ``on_finished(done_count, total, spec, outcome)`` is called in the parent as each job ends,
    after its section is appended to ``log_path`` (``job_log_section``). Every
    ``heartbeat_seconds`` (0: never) while jobs remain, ``on_heartbeat(done_count, total,
    [(job_id, seconds running), ...])``. Anything that stops the parent here (SIGTERM/SIGINT as
    :class:`RunInterrupted`, an error) first kills the workers and their kernels (``stop_workers``).
    """
    outcomes: list[dict | None] = [None] * len(specs)
    if not specs:
        return []
    with tempfile.TemporaryDirectory(prefix="bo-run-") as scratch:
        logs = Path(scratch)
        sent = [dict(spec, log_file=str(logs / f"{n}.log") if log_path else None, started_file=str(logs / f"{n}.started"))
                for n, spec in enumerate(specs)]
        pool = ProcessPoolExecutor(
            max_workers=max(1, min(workers, len(specs))),
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_worker_init,
            initargs=(scratch if log_path else None, os.getpid()),
        )
        try:
            futures = {pool.submit(execute_job, spec): position for position, spec in enumerate(sent)}
            pending, done = set(futures), 0
            beat = time.monotonic() + heartbeat_seconds
            while pending:
                timeout = max(0.0, beat - time.monotonic()) if heartbeat_seconds > 0 and on_heartbeat else None
                finished, pending = wait(pending, timeout=timeout, return_when=FIRST_COMPLETED)
                for future in sorted(finished, key=futures.get):
                    position = futures[future]
                    try:
                        outcome = future.result()
                    except Exception as exc:  # BrokenProcessPool, pickling problems, ...
                        outcome = _failed_in_parent(specs[position], exc)
                    outcomes[position] = outcome
                    done += 1
                    _append_log(log_path, job_log_section(specs[position]["job_id"], outcome, _read(logs / f"{position}.log")))
                    if on_finished is not None:
                        on_finished(done, len(specs), specs[position], outcome)
                if pending and timeout is not None and time.monotonic() >= beat:
                    on_heartbeat(done, len(specs), _running(sent, [futures[f] for f in pending]))
                    beat = time.monotonic() + heartbeat_seconds
        except BaseException:
            stop_workers(pool)
            raise
        pool.shutdown(wait=True)
        workers_output = "\n".join(filter(None, (kernel_output(_read(path)) for path in sorted(logs.glob("worker-*.log")))))
        if workers_output:
            _append_log(log_path, f"==== workers (outside jobs) ====\n{workers_output}\n")
    return outcomes  # type: ignore[return-value]


def _running(specs: list[dict], positions: list[int]) -> list[tuple[str, float]]:
    """The jobs among ``positions`` a worker has started, with the seconds since they started."""
    now, running = time.time(), []
    for position in sorted(positions):
        try:
            started = float(Path(specs[position]["started_file"]).read_text())
        except (OSError, ValueError):
            continue  # not started yet (queued)
        running.append((specs[position]["job_id"], now - started))
    return running
