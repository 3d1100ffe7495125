"""The analysts' Lab (``bo lab``): JupyterLab on a working copy of the notebooks with a scratch copy
of the store, so an interactive session never writes the tracked templates, the production store
or the sealed archive. The end-to-end test starts a real JupyterLab server and drives it in
headless Chromium (Playwright): run all cells of the intake notebook, change the explorer's table,
see the table change; then the production store and the templates are byte-identical."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import socket
import stat
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from bo_lib.pipeline import lab
from tests.browser import artifacts_dir, chromium, offline  # noqa: F401  (chromium: the fixture)
from tests.conftest import NOTEBOOKS, PARAMETERS, REPO

TEMPLATES = sorted(NOTEBOOKS.glob("*.ipynb"))


def _hashes(paths) -> dict[str, str]:
    return {str(p): hashlib.sha256(Path(p).read_bytes()).hexdigest() for p in paths}


# -- the working copy -------------------------------------------------------------------------------

def test_working_copy_copies_the_templates_and_keeps_an_analysts_edits(tmp_path):
    templates = tmp_path / "notebooks"
    shutil.copytree(NOTEBOOKS, templates)
    before = _hashes(templates.glob("*.ipynb"))
    folder = lab.working_copy_for(templates)
    assert folder == tmp_path / "lab"  # beside the templates: ../data and ../parameters resolve alike

    first = lab.prepare_working_copy(templates)
    assert sorted(first.copied) == [p.name for p in TEMPLATES] and not first.kept
    for template in TEMPLATES:
        assert (folder / template.name).read_bytes() == template.read_bytes()

    (folder / "intake.ipynb").write_text("{} edited by an analyst")
    again = lab.prepare_working_copy(templates)
    assert not again.copied and again.edited == ["intake.ipynb"] and "edited, not overwritten: intake.ipynb" in again.summary()
    assert (folder / "intake.ipynb").read_text() == "{} edited by an analyst"

    refreshed = lab.prepare_working_copy(templates, refresh=True)
    assert sorted(refreshed.refreshed) == [p.name for p in TEMPLATES]
    assert (folder / "intake.ipynb").read_bytes() == (templates / "intake.ipynb").read_bytes()
    assert _hashes(templates.glob("*.ipynb")) == before
    with pytest.raises(ValueError, match="cannot be the templates folder"):
        lab.prepare_working_copy(templates, templates)


def test_an_archived_notebook_opens_as_a_read_only_copy(tmp_path):
    run = tmp_path / "reports" / "2026-11-06" / "20261106T080000Z-abcd" / "USEQ"
    run.mkdir(parents=True)
    archived = run / "nav.ipynb"
    shutil.copyfile(NOTEBOOKS / "nav.ipynb", archived)
    os.chmod(archived, 0o444)  # sealed
    sealed = archived.read_bytes()

    copy = lab.copy_archived(archived, tmp_path / "lab", tmp_path / "reports")
    assert copy == tmp_path / "lab" / "archived" / "2026-11-06" / "20261106T080000Z-abcd" / "USEQ" / "nav.ipynb"
    assert copy.read_bytes() == sealed and stat.S_IMODE(copy.stat().st_mode) == 0o444
    assert lab.copy_archived(archived, tmp_path / "lab", tmp_path / "reports") == copy  # again: the same copy
    elsewhere = lab.copy_archived(archived, tmp_path / "lab2")  # not under the report root: its last four parts
    assert elsewhere.relative_to(tmp_path / "lab2").parts == ("archived", "2026-11-06", "20261106T080000Z-abcd", "USEQ", "nav.ipynb")
    assert archived.read_bytes() == sealed and stat.S_IMODE(archived.stat().st_mode) == 0o444


def test_jupyter_serves_the_archived_copies_read_only(tmp_path):
    import asyncio

    from tornado import web

    from bo_lib.pipeline.lab_server import LabContentsManager

    copy = lab.copy_archived(NOTEBOOKS / "nav.ipynb", tmp_path, None)
    shutil.copyfile(NOTEBOOKS / "intake.ipynb", tmp_path / "intake.ipynb")
    manager = LabContentsManager(root_dir=str(tmp_path))
    archived = copy.relative_to(tmp_path).as_posix()

    async def check():
        model = await manager.get(archived)
        assert model["writable"] is False and model["type"] == "notebook"
        with pytest.raises(web.HTTPError, match="403"):
            await manager.save(model, archived)
        with pytest.raises(web.HTTPError, match="403"):
            await manager.delete_file(archived)
        with pytest.raises(web.HTTPError, match="403"):
            await manager.rename_file(archived, "stolen.ipynb")
        listing = await manager.get(str(Path(archived).parent))
        assert [c["writable"] for c in listing["content"]] == [False]
        working = await manager.get("intake.ipynb")  # the analyst's copies stay writable
        assert working["writable"] is True
        await manager.save(working, "intake.ipynb")

    sealed = copy.read_bytes()
    asyncio.run(check())
    assert copy.read_bytes() == sealed


def test_the_lab_environment_points_every_kernel_at_the_scratch_store(tmp_path):
    production = tmp_path / "data" / "store" / "workbench.duckdb"
    production.parent.mkdir(parents=True)
    import duckdb

    duckdb.connect(str(production)).close()
    before = production.read_bytes()
    scratch = lab.take_scratch_store(production, tmp_path / "lab")
    assert scratch.copied and scratch.path.is_relative_to(tmp_path / "lab" / ".scratch") and scratch.path != production
    env = lab.lab_environment(scratch, tmp_path / "lab", code_root=REPO, base={"BO_STORE_MODE": "read-only", "PYTHONPATH": "/x"})
    assert env["BO_STORE"] == str(scratch.path) and env["BO_STORE_SOURCE"] == str(production.resolve())
    assert "BO_STORE_MODE" not in env and env["BO_LAB"] == str((tmp_path / "lab").resolve())
    assert env["PYTHONPATH"].split(os.pathsep) == [str(REPO), "/x"]
    assert "the production store is not written" in scratch.describe()
    assert production.read_bytes() == before

    command = lab.jupyter_command(tmp_path / "lab", open_path="archived/2026-11-06/r/USEQ/nav.ipynb", extra=["--port=1"], allow_root=True)
    assert "--ServerApp.contents_manager_class=bo_lib.pipeline.lab_server.LabContentsManager" in command
    assert command[1:4] == ["-m", "jupyter", "lab"] and f"--ServerApp.root_dir={(tmp_path / 'lab').resolve()}" in command
    assert "--LabApp.default_url=/lab/tree/archived/2026-11-06/r/USEQ/nav.ipynb" in command
    assert command[-2:] == ["--allow-root", "--port=1"]


def test_bo_lab_passes_what_follows_the_double_dash_to_jupyter(tmp_path, monkeypatch):
    """``bo lab -- ARGS``: the working copy and scratch store made, then ``jupyter lab`` started with ARGS."""
    from bo_lib import cli

    root = tmp_path / "repo"
    shutil.copytree(NOTEBOOKS, root / "notebooks")
    shutil.copytree(PARAMETERS, root / "parameters")
    (root / "data").mkdir()
    monkeypatch.chdir(root)
    started = {}

    class FakeServer:
        def __init__(self, command, env, cwd):
            started.update(command=command, env=env, cwd=cwd, scratch=Path(env["BO_STORE"]))

        def wait(self):
            assert started["scratch"].parent.is_dir()  # the scratch folder lives while the server runs
            return 0

        def terminate(self):
            pass

    monkeypatch.setattr(subprocess, "Popen", FakeServer)
    monkeypatch.setattr(lab, "ensure_kernelspec", lambda: None)
    assert cli.main(["lab", "--", "--port=8899", "--no-browser"]) == 0
    assert started["command"][-2:] == ["--port=8899", "--no-browser"] and started["cwd"] == (root / "lab").resolve()
    assert any(a.startswith("--ServerApp.root_dir=") and a.endswith("/lab") for a in started["command"])
    assert not started["scratch"].parent.exists()  # removed when the Lab stopped
    assert sorted(p.name for p in (root / "lab").glob("*.ipynb")) == [p.name for p in TEMPLATES]


def test_ensure_kernelspec_finds_the_project_kernel_installed_by_make():
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        KernelSpecManager().get_kernel_spec(lab.KERNEL_NAME)
    except NoSuchKernel:
        pytest.skip("the bo-workbench kernelspec is not installed here (make installs it); not installing it from a test")
    assert lab.ensure_kernelspec() is None


# -- end to end: JupyterLab in a real browser -------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _api(port: int, token: str, path: str):
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers={"Authorization": f"token {token}"})
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read())


def _wait(predicate, timeout: float, what: str, interval: float = 0.5, page=None):
    """Poll ``predicate`` until it is true; with a ``page``, wait through Playwright (its event loop
    keeps running: the route handlers answer the page's requests meanwhile)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = predicate()
        except Exception:  # the server not up yet, a page still loading
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        if page is not None:
            page.wait_for_timeout(interval * 1000)
        else:
            time.sleep(interval)


@pytest.fixture
def lab_world(tmp_path, data_copy, sample_store):
    """A repository-like folder: data (with the production store), parameters, and the working copy
    made from the tracked templates by the ``bo lab`` machinery."""
    production = data_copy / "store" / "workbench.duckdb"
    production.parent.mkdir()
    shutil.copy2(sample_store, production)
    shutil.copytree(PARAMETERS, tmp_path / "parameters")
    folder = tmp_path / "lab"
    lab.prepare_working_copy(NOTEBOOKS, folder)
    return folder, production


def _project_kernel(notebook: Path) -> str:
    """The kernel the notebook is to run on: the project's (``bo-workbench``, as the regenerated
    templates declare) when ``make`` installed it, the copy's kernelspec set so; else what it declares."""
    import nbformat
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    nb = nbformat.read(notebook, as_version=4)
    try:
        KernelSpecManager().get_kernel_spec(lab.KERNEL_NAME)
    except NoSuchKernel:
        return nb.metadata["kernelspec"]["name"]
    if nb.metadata["kernelspec"]["name"] != lab.KERNEL_NAME:
        nb.metadata["kernelspec"] = {"name": lab.KERNEL_NAME, "display_name": lab.KERNEL_DISPLAY_NAME, "language": "python"}
        nbformat.write(nb, notebook)
    return lab.KERNEL_NAME


@pytest.mark.slow
def test_lab_session_runs_the_intake_notebook_and_its_explorer_without_writing_production(tmp_path, lab_world, chromium):  # noqa: F811
    started = time.monotonic()
    folder, production = lab_world
    watched = [production, *TEMPLATES, *sorted((REPO / "tools" / "notebooks").glob("*.py"))]
    before = _hashes(watched)
    kernel_name = _project_kernel(folder / "intake.ipynb")
    scratch = lab.take_scratch_store(production, folder)
    env = lab.lab_environment(scratch, folder, code_root=REPO)
    # the server's own settings, workspaces and runtime files stay in the test's folder
    for name, sub in (("JUPYTER_CONFIG_DIR", "jupyter-config"), ("JUPYTER_RUNTIME_DIR", "jupyter-runtime"), ("IPYTHONDIR", "ipython")):
        env[name] = str(tmp_path / sub)
    port, token = _free_port(), "bo-lab-test-token"
    command = lab.jupyter_command(folder, extra=[
        "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
        "--ServerApp.open_browser=False", "--LabApp.news_url=", "--ServerApp.log_level=INFO"])
    log = (tmp_path / "jupyter.log").open("w")
    server = subprocess.Popen(command, env=env, cwd=folder, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    shots = artifacts_dir()
    try:
        _wait(lambda: _api(port, token, "/api/status"), 90, "the Jupyter server to answer")
        context = chromium.new_context(viewport={"width": 1500, "height": 1000})
        blocked = offline(context, allowed=lambda url: url.startswith((f"http://127.0.0.1:{port}/", f"ws://127.0.0.1:{port}/", "data:", "blob:")))
        page = context.new_page()
        page.set_default_timeout(60_000)
        try:
            page.goto(f"http://127.0.0.1:{port}/lab/tree/intake.ipynb?token={token}")
            page.wait_for_selector(".jp-NotebookPanel .jp-Notebook .jp-Cell", timeout=120_000)
            # the kernel the notebook declares started, idle
            kernel = _wait(lambda: [s["kernel"] for s in _api(port, token, "/api/sessions")
                                    if s["path"].endswith("intake.ipynb") and s["kernel"]["execution_state"] == "idle"], 120,
                           "the notebook's kernel to be idle", page=page)[0]
            assert kernel["name"] == kernel_name
            page.locator("#jp-MainMenu .lm-MenuBar-item", has_text=re.compile(r"^Run$")).click()
            page.locator(".lm-Menu-item:visible .lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()
            explorer = page.locator(".bo-explorer")
            explorer.wait_for(state="visible", timeout=240_000)
            _wait(lambda: _api(port, token, f"/api/kernels/{kernel['id']}")["execution_state"] == "idle", 120, "the kernel to finish",
                  page=page)
            assert "Traceback" not in page.inner_text(".jp-Notebook")
            caption = explorer.locator(".bo-caption").first
            assert caption.inner_text().startswith("files: ")
            shown_before = explorer.locator(".jp-OutputArea, .widget-output").first.inner_text()
            # every label of the explorer shown whole (not cut at ipywidgets' default 80px)
            for label in explorer.locator(".widget-label").all():
                if label.is_visible():
                    assert label.evaluate("e => e.scrollWidth <= e.clientWidth + 1"), label.inner_text()
            explorer.scroll_into_view_if_needed()
            page.screenshot(path=str(shots / "lab-intake-explorer-files.png"))

            explorer.locator(".widget-dropdown select").first.select_option(label="violations")
            page.wait_for_function("() => { const c = document.querySelector('.bo-explorer .bo-caption');"
                                   " return c && c.textContent.startsWith('violations: '); }", timeout=60_000)
            shown_after = explorer.locator(".jp-OutputArea, .widget-output").first.inner_text()
            assert shown_after != shown_before and "violations: " in shown_after
            page.screenshot(path=str(shots / "lab-intake-explorer-violations.png"))
        except Exception:
            page.screenshot(path=str(shots / "lab-failure.png"))
            raise
        finally:
            context.close()
        assert not [url for url in blocked if "127.0.0.1" in url]
    finally:
        os.killpg(server.pid, 15)
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, 9)
            server.wait(10)
        log.close()
    assert _hashes(watched) == before, "the production store or a tracked template changed during the Lab session"
    assert scratch.path.exists()
    print(f"Lab end-to-end ({kernel_name} kernel): {time.monotonic() - started:.1f}s", file=sys.stderr)
