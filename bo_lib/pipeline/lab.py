"""The analysts' Lab (``bo lab``, ``make lab``): JupyterLab on a working copy of the notebook
templates, never on the templates themselves, with a scratch copy of the production store.

- The working copy is ``lab/`` beside ``notebooks/`` (one level below the repository root, like
  the templates, so the parameters cells' ``../data`` and ``../parameters`` still resolve). It is
  ignored by git. A template is copied in when the working copy lacks it; an analyst's edited copy
  is never overwritten, except with ``refresh`` (then every copy is the template again).
- The session's store is a copy of the production store taken when the Lab starts, under
  ``lab/.scratch/<session>/``, exported to the Jupyter server as ``$BO_STORE`` so every kernel
  works on it (``bo_lib.store.resolve_store``); it is deleted when the Lab stops.
- An archived notebook (``<reports>/<date>/<run>/<fund>/<name>.ipynb``) is opened as a copy under
  ``lab/archived/<date>/<run>/<fund>/`` with mode 0444, and the server's contents manager
  (``lab_server``) serves ``archived/`` read-only (JupyterLab shows it so, and never saves it); the
  sealed archive is only read.
- The notebooks declare the project's kernel ``bo-workbench``; ``ensure_kernelspec`` installs it
  into this environment (``sys.prefix``) when it is missing.
"""

from __future__ import annotations

import datetime as dt
import filecmp
import os
import shutil
import stat
import sys
from dataclasses import dataclass, field
from pathlib import Path

from bo_lib.controls import KERNEL_DISPLAY_NAME, KERNEL_NAME
from bo_lib.store import (ACTIONS_STORE_VARIABLE, LAB_VARIABLE, SCRATCH_DIR_VARIABLE, STORE_ENVIRONMENT_VARIABLE, STORE_MODE_VARIABLE,
                          STORE_SOURCE_VARIABLE, STORE_TAKEN_VARIABLE, copy_store)

WORKING_COPY = "lab"
ARCHIVED = "archived"
SCRATCH = ".scratch"
#: the server's contents manager: ``archived/`` read-only through Jupyter too (root can write a 0444 file)
CONTENTS_MANAGER = "bo_lib.pipeline.lab_server.LabContentsManager"
READ_ONLY_MODE = stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH  # 0444


def working_copy_for(templates: Path | str) -> Path:
    """``lab/`` beside the templates folder: the same depth, so relative parameters resolve alike."""
    return Path(templates).resolve().parent / WORKING_COPY


@dataclass
class WorkingCopy:
    folder: Path
    copied: list[str] = field(default_factory=list)  # templates copied in (new)
    refreshed: list[str] = field(default_factory=list)  # copies replaced by their template (refresh)
    kept: list[str] = field(default_factory=list)  # copies left as they are (the analyst's, or the template already)
    edited: list[str] = field(default_factory=list)  # the kept copies that differ from their template

    def summary(self) -> str:
        parts = [f"{len(self.copied)} copied", f"{len(self.kept)} kept"] + ([f"{len(self.refreshed)} refreshed"] if self.refreshed else [])
        edited = f" (edited, not overwritten: {', '.join(self.edited)}; --refresh replaces them)" if self.edited else ""
        return f"working copy {self.folder}: " + ", ".join(parts) + edited


def prepare_working_copy(templates: Path | str, folder: Path | str | None = None, *, refresh: bool = False) -> WorkingCopy:
    """Copy each ``templates/*.ipynb`` into the working copy (``lab/`` by default) unless it is there
    already (an analyst's copy is not overwritten); ``refresh`` replaces every copy by its template.
    The templates are only read."""
    templates = Path(templates)
    target = Path(folder) if folder is not None else working_copy_for(templates)
    if not templates.is_dir():
        raise FileNotFoundError(f"notebook templates not found: {templates.resolve()}")
    if target.resolve() == templates.resolve():
        raise ValueError(f"the working copy {target} cannot be the templates folder itself")
    target.mkdir(parents=True, exist_ok=True)
    result = WorkingCopy(target)
    for template in sorted(templates.glob("*.ipynb")):
        copy = target / template.name
        if copy.exists() and not refresh:
            result.kept.append(template.name)
            if not filecmp.cmp(template, copy, shallow=False):
                result.edited.append(template.name)
            continue
        (result.refreshed if copy.exists() else result.copied).append(template.name)
        if copy.exists():
            os.chmod(copy, stat.S_IRUSR | stat.S_IWUSR | stat.S_IRGRP | stat.S_IROTH)
        shutil.copyfile(template, copy)  # contents only: the copy is the analyst's, writable
    return result


def copy_archived(notebook: Path | str, folder: Path | str, report_root: Path | str | None = None) -> Path:
    """A read-only (0444) copy of an archived notebook under ``<working copy>/archived/``, at its
    path below the report root (``<date>/<run>/<fund>/<name>.ipynb``; the last four parts of the
    path when it is not under the report root). The archive is only read."""
    notebook = Path(notebook)
    if not notebook.is_file():
        raise FileNotFoundError(f"archived notebook not found: {notebook}")
    if notebook.suffix != ".ipynb":
        raise ValueError(f"{notebook}: not a notebook (.ipynb)")
    resolved = notebook.resolve()
    relative: Path | None = None
    if report_root is not None:
        try:
            relative = resolved.relative_to(Path(report_root).resolve())
        except ValueError:
            relative = None
    if relative is None:
        relative = Path(*resolved.parts[-4:])
    copy = Path(folder) / ARCHIVED / relative
    copy.parent.mkdir(parents=True, exist_ok=True)
    if copy.exists():
        if filecmp.cmp(resolved, copy, shallow=False):
            os.chmod(copy, READ_ONLY_MODE)
            return copy
        os.chmod(copy, stat.S_IRUSR | stat.S_IWUSR)
        copy.unlink()
    shutil.copyfile(resolved, copy)
    os.chmod(copy, READ_ONLY_MODE)
    return copy


@dataclass
class ScratchStore:
    path: Path  # the session's copy
    production: Path  # what it was copied from (not written by the session)
    taken: dt.datetime
    copied: bool  # False: no production store yet, the session starts from an empty store

    def describe(self) -> str:
        what = f"scratch copy of {self.production}" if self.copied else f"new scratch store (no production store at {self.production} yet)"
        return f"{what} taken {self.taken:%H:%M:%S} UTC at {self.path}; the production store is not written"


def take_scratch_store(production: Path | str, folder: Path | str) -> ScratchStore:
    """A copy of the production store for one Lab session, under ``<working copy>/.scratch/<session>/``
    (ignored by git, outside the data root)."""
    production = Path(production)
    taken = dt.datetime.now(dt.timezone.utc)
    session = Path(folder) / SCRATCH / f"{taken:%Y%m%dT%H%M%SZ}-{os.getpid()}"
    session.mkdir(parents=True, exist_ok=True)
    path = session / production.name
    copied = copy_store(production, path)
    return ScratchStore(path.resolve(), production.resolve(), taken, copied)


def lab_environment(scratch: ScratchStore, folder: Path | str, *, code_root: Path | str | None = None,
                    base: dict[str, str] | None = None) -> dict[str, str]:
    """The Jupyter server's environment (its kernels inherit it): ``$BO_STORE`` the scratch store,
    ``$BO_STORE_SOURCE`` / ``$BO_STORE_TAKEN`` for the notebooks' header, ``$BO_ACTIONS_STORE`` the
    production store break actions are written to (mirrored into the scratch copy), ``$BO_LAB`` (archived
    notebooks re-run here use the scratch store too), kernels' own scratch copies under the session
    folder; ``code_root`` first on ``PYTHONPATH`` (the checkout's ``bo_lib``)."""
    env = dict(os.environ if base is None else base)
    env.pop(STORE_MODE_VARIABLE, None)
    env[STORE_ENVIRONMENT_VARIABLE] = str(scratch.path)
    env[STORE_SOURCE_VARIABLE] = str(scratch.production)
    env[ACTIONS_STORE_VARIABLE] = str(scratch.production)  # break actions: the one write to the book of record
    env[STORE_TAKEN_VARIABLE] = scratch.taken.isoformat(timespec="seconds")
    env[SCRATCH_DIR_VARIABLE] = str(scratch.path.parent)
    env[LAB_VARIABLE] = str(Path(folder).resolve())
    if code_root is not None and (Path(code_root) / "bo_lib").is_dir():
        root = str(Path(code_root).resolve())
        paths = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p and p != root]
        env["PYTHONPATH"] = os.pathsep.join([root, *paths])
    return env


def read_only_environment(folder: Path | str, base: dict[str, str] | None = None, *, code_root: Path | str | None = None) -> dict[str, str]:
    """The server's environment for a Lab on the production store read-only (``BO_STORE_MODE``)."""
    env = dict(os.environ if base is None else base)
    for name in (STORE_ENVIRONMENT_VARIABLE, STORE_SOURCE_VARIABLE, STORE_TAKEN_VARIABLE, ACTIONS_STORE_VARIABLE):
        env.pop(name, None)
    env[STORE_MODE_VARIABLE] = "read-only"
    env[LAB_VARIABLE] = str(Path(folder).resolve())
    if code_root is not None and (Path(code_root) / "bo_lib").is_dir():
        env["PYTHONPATH"] = os.pathsep.join([str(Path(code_root).resolve()), *[p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]])
    return env


def ensure_kernelspec() -> Path | None:
    """Install the project's kernelspec (``bo-workbench``, this Python) into ``sys.prefix`` when no
    kernelspec of that name is found; returns the folder installed, None when it was there."""
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        KernelSpecManager().get_kernel_spec(KERNEL_NAME)
        return None
    except NoSuchKernel:
        pass
    from ipykernel.kernelspec import install

    return Path(install(kernel_name=KERNEL_NAME, display_name=KERNEL_DISPLAY_NAME, prefix=sys.prefix))


def jupyter_command(folder: Path | str, *, open_path: str | None = None, extra: list[str] | tuple[str, ...] = (),
                    allow_root: bool | None = None) -> list[str]:
    """``jupyter lab`` rooted at the working copy (``open_path``: a file below it to open first);
    ``--allow-root`` when running as root; ``extra`` appended (the arguments after ``--``)."""
    command = [sys.executable, "-m", "jupyter", "lab", f"--ServerApp.root_dir={Path(folder).resolve()}",
               f"--ServerApp.contents_manager_class={CONTENTS_MANAGER}"]
    if open_path:
        command.append(f"--LabApp.default_url=/lab/tree/{Path(open_path).as_posix()}")
    if allow_root if allow_root is not None else (hasattr(os, "geteuid") and os.geteuid() == 0):
        command.append("--allow-root")
    return command + list(extra)
